import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { VoicebotError, WorkerPool, type WorkerPoolOptions } from '../../core/plugin-api.js';

/** A worker that answers {id, value: n * 2} after `ms`, fails n = 0, crashes on n < 0, and may refuse to start. */
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
if (workerData.startup === 'fail') parentPort.postMessage({ type: 'failed', error: 'no model' });
else if (workerData.startup === 'ready') parentPort.postMessage({ type: 'ready' });
parentPort.on('message', (m) => {
  if (m.n < 0) process.exit(3);
  if (m.n === 0) return parentPort.postMessage({ id: m.id, error: 'zero' });
  setTimeout(() => parentPort.postMessage({ id: m.id, value: m.n * 2 }), m.ms ?? 0);
});
`;

interface Job {
  n: number;
  /** How long the worker takes (ms): a busy thread, so that later jobs wait in the queue. */
  ms?: number;
}

const pools: WorkerPool<Job, number>[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
});

function pool(over: Partial<Omit<WorkerPoolOptions<Job, number>, 'startup'>> & { startup?: 'ready' | 'fail' } = {}): WorkerPool<Job, number> {
  const { startup, ...rest } = over;
  const p = new WorkerPool<Job, number>({
    what: 'Test work',
    threads: 1,
    maxQueue: 4,
    create: () => new Worker(SOURCE, { eval: true, workerData: { startup: startup ?? 'none' } }),
    startup: startup
      ? (m) => {
          const msg = m as { type?: string; error?: string };
          if (msg.type === 'ready') return true;
          if (msg.type === 'failed') return new VoicebotError('VB_ERR_PROVIDER', { provider: 'test', slot: 'stt', detail: msg.error ?? '' });
          return undefined;
        }
      : undefined,
    send: (w, id, job) => w.postMessage({ id, n: job.n, ms: job.ms }),
    result: (m: { id: number; value?: number; error?: string }) => {
      if (m.error) throw new VoicebotError('VB_ERR_PROVIDER', { provider: 'test', slot: 'stt', detail: m.error });
      return m.value!;
    },
    crashed: (why) => new VoicebotError('VB_ERR_PROVIDER_UNAVAILABLE', { provider: 'test', slot: 'stt', detail: why }),
    ...rest,
  });
  pools.push(p);
  return p;
}

const codeOf = (e: unknown): string | undefined => (e as { code?: string }).code;

describe('WorkerPool', () => {
  it('runs jobs on its threads, starting them as needed up to `threads`', async () => {
    const p = pool({ threads: 2 });
    expect(p.threads).toBe(0);
    expect(await Promise.all([p.run({ n: 1 }), p.run({ n: 2 }), p.run({ n: 3 })])).toEqual([2, 4, 6]);
    expect(p.threads).toBe(2);
  });

  it('a full queue rejects at once with the coded, retryable VB_ERR_WORKER_QUEUE_FULL', async () => {
    const p = pool({ threads: 1, maxQueue: 1 });
    const running = p.run({ n: 1, ms: 300 });
    const queued = p.run({ n: 2 });
    const refused = await p.run({ n: 3 }).catch((e: unknown) => e);
    expect(codeOf(refused)).toBe('VB_ERR_WORKER_QUEUE_FULL');
    expect((refused as VoicebotError).retryable).toBe(true);
    expect((refused as VoicebotError).message).toContain('Test work');
    expect(await Promise.all([running, queued])).toEqual([2, 4]);
  });

  it('a plugin may name its own queue-full error', async () => {
    const p = pool({ maxQueue: 0, queueFull: (n) => new VoicebotError('VB_ERR_PROVIDER_UNAVAILABLE', { provider: 'test', slot: 'stt', detail: `${n} waiting` }) });
    await p.start(); // an idle thread takes a job without queueing it
    const running = p.run({ n: 1, ms: 300 });
    const outcome = running.then(String, codeOf);
    expect(codeOf(await p.run({ n: 2 }).catch((e: unknown) => e))).toBe('VB_ERR_PROVIDER_UNAVAILABLE');
    await p.stop();
    expect(await outcome).toBe('VB_ERR_CANCELLED');
  });

  it('an aborted job leaves the queue at once; the worker error of a job is its rejection', async () => {
    const p = pool();
    const running = p.run({ n: 1, ms: 300 });
    const ac = new AbortController();
    const waiting = p.run({ n: 2 }, ac.signal);
    ac.abort();
    expect(codeOf(await waiting.catch((e: unknown) => e))).toBe('VB_ERR_CANCELLED');
    expect(p.waiting).toBe(0);
    expect(codeOf(await p.run({ n: 0 }).catch((e: unknown) => e))).toBe('VB_ERR_PROVIDER');
    expect(await running).toBe(2);
  });

  it('a crashed thread fails its job (retryable) and the next job gets a new thread', async () => {
    const p = pool();
    const e = await p.run({ n: -1 }).catch((x: unknown) => x);
    expect(codeOf(e)).toBe('VB_ERR_PROVIDER_UNAVAILABLE');
    expect((e as VoicebotError).retryable).toBe(true);
    expect(await p.run({ n: 5 })).toBe(10);
    expect(p.threads).toBe(1);
  });

  it('stop() cancels running and waiting jobs and ends every thread; run() afterwards starts anew', async () => {
    const p = pool();
    const running = p.run({ n: 1, ms: 300 });
    const waiting = p.run({ n: 2 });
    const outcomes = Promise.all([running.then(String, codeOf), waiting.then(String, codeOf)]);
    await p.stop();
    expect(await outcomes).toEqual(['VB_ERR_CANCELLED', 'VB_ERR_CANCELLED']);
    expect(p.threads).toBe(0);
    expect(await p.run({ n: 4 })).toBe(8);
  });

  it('with a startup handshake: start() waits for every thread; a thread that cannot start fails the waiting jobs', async () => {
    const ok = pool({ threads: 2, startup: 'ready' });
    await ok.start();
    expect(ok.threads).toBe(2);
    expect(await ok.run({ n: 7 })).toBe(14);
    const bad = pool({ threads: 2, startup: 'fail' });
    expect(codeOf(await bad.run({ n: 1 }).catch((e: unknown) => e))).toBe('VB_ERR_PROVIDER');
    expect(codeOf(await bad.start().catch((e: unknown) => e))).toBe('VB_ERR_PROVIDER');
    expect(bad.threads).toBe(0);
  });
});
