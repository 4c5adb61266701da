/**
 * A fleet on 127.0.0.1, all real processes: a private redis-server, three
 * `voicebot run --role worker` registering there, two `--role edge` placing
 * calls from the stdin line fixture. 30 concurrent calls spread within
 * capacity; kill -9 one worker mid-call → its calls go on on the others with
 * their saved variables; SIGTERM another → it drains and exits 0; a worker
 * that comes back is used again; /metrics and /readyz are scraped.
 *
 * Needs the build (`npx tsc -p .`) and redis-server (Debian package
 * redis-server; .ci/run installs it) — skipped with that reason without it.
 */
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { REFRESH_MS } from '../../core/fleet/node.js';
import { listWorkers, type WorkerEntry } from '../../core/fleet/registry.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LINE,
  REDIS_SERVER,
  get,
  placeCall,
  runVoicebot,
  sample,
  stopProc,
  tmpDir,
  until,
  urlOf,
  writeFile,
  type LineCall,
  type Proc,
} from './procs.js';

const CAPACITY = 16;
const CALLS = 30;
const tmp = tmpDir('voicebot-fleet-');
const procs: Proc[] = [];
let redis: { url: string; stop: () => Promise<void> } | undefined;

const FLOW = [
  '  stt: { provider: mock }',
  '  tts: { provider: mock }',
  'flows:',
  '  main:',
  '    steps:',
  '      greet: { say: "Hello." }',
  '      first:',
  '        listen: { input: [speech] }',
  '        save: first',
  '        else: second',
  '      second:',
  '        listen: { input: [speech] }',
  '        save: second',
  '        else: done',
  '      done: { hangup: "Got {{first}} and {{second}}." }',
];

function settings(extra: string): string[] {
  return [
    'settings:',
    '  timeouts: { endOfSpeech: 300ms, noInput: 60s }',
    '  ops: { port: 0 }',
    `  fleet: { redis: "${redis!.url}", heartbeat: 300ms, ttl: 1500ms, ${extra} }`,
  ];
}

interface Worker {
  proc: Proc;
  url: string;
  ops: string;
}

let wseq = 0;
async function startWorker(): Promise<Worker> {
  const name = `worker${++wseq}`;
  const file = writeFile(tmp, `${name}.yaml`, [
    'version: 1',
    ...settings(`capacity: ${CAPACITY}, drainTimeout: 30s`),
    'plugins:',
    '  audioStream: { provider: websocket, token: "${VOICEBOT_STREAM_TOKEN}", listen: { host: 127.0.0.1, port: 0 } }',
    ...FLOW,
  ]);
  const proc = runVoicebot(name, ['--role', 'worker', '--json', '-c', file]);
  procs.push(proc);
  const [url, ops] = await Promise.all([urlOf(proc, 'stream.listening'), urlOf(proc, 'ops.listening')]);
  return { proc, url, ops };
}

async function startEdge(name: string): Promise<{ proc: Proc; ops: string }> {
  const file = writeFile(tmp, `${name}.yaml`, [
    'version: 1',
    ...settings('dispatchBudget: 3s'),
    'plugins:',
    `  telephony: { provider: ${JSON.stringify(LINE)} }`,
    '  audioStream: { provider: websocket, token: "${VOICEBOT_STREAM_TOKEN}", reconnectGraceMs: 800, connectTimeoutMs: 2000 }',
    ...FLOW,
  ]);
  const proc = runVoicebot(name, ['--role', 'edge', '--json', '-c', file]);
  procs.push(proc);
  await proc.next((e) => e.ev === 'line.ready', 'the line fixture');
  const ops = await urlOf(proc, 'ops.listening');
  await proc.next((e) => e.type === 'fleet.check', 'the edge startup check');
  return { proc, ops };
}

async function readyz(w: { ops: string }): Promise<number> {
  return (await get(`${w.ops}/readyz`)).status;
}

/** Where each of an edge's calls is streamed now (stream.started, then stream.redispatched), by callId. */
function placement(edges: Proc[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of edges) for (const ev of e.events) if (ev.type === 'stream.started' || ev.type === 'stream.redispatched') m.set(ev.callId, ev.url);
  return m;
}

async function activeCalls(w: Worker): Promise<number> {
  return sample((await get(`${w.ops}/metrics`)).text, 'voicebot_active_calls') ?? -1;
}

afterAll(async () => {
  await Promise.all(procs.map((p) => stopProc(p, 'SIGKILL')));
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!REDIS_SERVER)(`a fleet: 2 edges, 3 workers, Redis registry${REDIS_SERVER ? '' : ' (skipped: redis-server not installed — apt-get install redis-server)'}`, () => {
  const workers: Worker[] = [];
  const edges: { proc: Proc; ops: string }[] = [];

  beforeAll(async () => {
    const { startRedis } = await import('./procs.js');
    redis = await startRedis();
    workers.push(...(await Promise.all([startWorker(), startWorker(), startWorker()])));
    // Registered: each worker's /readyz says so.
    await Promise.all(workers.map((w) => pollStatus(w, 200)));
    edges.push(...(await Promise.all([startEdge('edge1'), startEdge('edge2')])));
  }, 90_000);

  it('the edge startup check reports a reachable worker with the token accepted', () => {
    for (const e of edges) {
      const check = e.proc.events.find((ev) => ev.type === 'fleet.check')!;
      expect(check.ok).toBe(true);
      expect(check.detail).toMatch(/reachable, token accepted \(3 of 3 registered worker\(s\) ready\)/);
    }
  });

  it('30 concurrent calls spread within capacity; kill -9 of one worker: its calls go on elsewhere with their variables; none lost', async () => {
    const calls: { c: LineCall; edge: Proc; i: number }[] = [];
    const placed = await Promise.all(
      Array.from({ length: CALLS }, async (_, i) => {
        const edge = edges[i % 2].proc;
        const c = await placeCall(edge);
        return { c, edge, i };
      }),
    );
    calls.push(...placed);
    await Promise.all(calls.map(({ c }) => c.heard('Hello.', 60_000)));
    const where = placement(edges.map((e) => e.proc));
    const perWorker = workers.map((w) => [...where.values()].filter((u) => u === w.url).length);
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(CALLS);
    for (const n of perWorker) {
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(CAPACITY);
    }
    expect(await Promise.all(workers.map(activeCalls))).toEqual(perWorker);

    // Every caller answers the first question; the flow saves it and waits in step `second`.
    for (const { c, i } of calls) c.say(`alpha ${i}`);
    // Each edge prints the worker's flow.step event once its state (sent just before) has arrived.
    const inSecond = (): number => edges.flatMap((e) => e.proc.events).filter((e) => e.type === 'flow.step' && e.step === 'second').length;
    await until(() => inSecond() === CALLS, 'every call in step second (seen on the edges)', 60_000);

    // kill -9 the busiest worker mid-call.
    const victim = workers[perWorker.indexOf(Math.max(...perWorker))];
    const lostIds = [...where].filter(([, u]) => u === victim.url).map(([id]) => id);
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    await until(() => edges.flatMap((e) => e.proc.events).filter((ev) => ev.type === 'stream.redispatched' && lostIds.includes(ev.callId)).length === lostIds.length, 'every lost call re-dispatched', 30_000);
    const moved = edges.flatMap((e) => e.proc.events).filter((ev) => ev.type === 'stream.redispatched');
    for (const ev of moved) {
      expect(ev.url).not.toBe(victim.url);
      expect(ev.step).toBe('main.second');
      expect(ev.code).toBe('VB_WARN_FLEET_WORKER_LOST');
    }
    // The flow goes on: the second answer, and the first one carried over from the lost worker.
    for (const { c, i } of calls) c.say(`beta ${i}`);
    await Promise.all(calls.map(({ c, i }) => c.heard(`Got alpha ${i} and beta ${i}.`, 60_000)));
    const ends = await Promise.all(calls.map(({ c }) => c.ended(30_000)));
    expect(ends.map((e) => e.reason)).toEqual(Array(CALLS).fill('bot-hangup'));

    // Split mode: the workers' call events reached the edges (transcript and steps).
    for (const e of edges) {
      expect(e.proc.events.some((ev) => ev.type === 'caller.said' && /^beta \d+$/.test(ev.text))).toBe(true);
      expect(e.proc.events.some((ev) => ev.type === 'flow.step' && ev.step === 'done')).toBe(true);
    }
    const edgeMetrics = await Promise.all(edges.map(async (e) => (await get(`${e.ops}/metrics`)).text));
    const redispatched = edgeMetrics.map((t) => sample(t, 'voicebot_redispatches_total') ?? 0).reduce((a, b) => a + b, 0);
    expect(redispatched).toBe(lostIds.length);
    expect(edgeMetrics.map((t) => sample(t, 'voicebot_calls_total', { outcome: 'bot-hangup' }) ?? 0).reduce((a, b) => a + b, 0)).toBe(CALLS);
    workers.splice(workers.indexOf(victim), 1);
    // Every call, the moved ones included, ended on a surviving worker; their turns were measured there.
    const workerMetrics = await Promise.all(workers.map(async (w) => (await get(`${w.ops}/metrics`)).text));
    expect(workerMetrics.map((t) => sample(t, 'voicebot_calls_total', { outcome: 'bot-hangup' }) ?? 0).reduce((a, b) => a + b, 0)).toBe(CALLS);
    for (const t of workerMetrics) {
      expect(sample(t, 'voicebot_active_calls')).toBe(0);
      expect(sample(t, 'voicebot_registered')).toBe(1);
      expect(sample(t, 'nodejs_eventloop_lag_p99_seconds')).toBeLessThan(5);
    }
  }, 240_000);

  it('SIGTERM on a worker: /readyz flips, no new call reaches it, its calls finish, it exits 0; a new worker is used', async () => {
    const [draining, other] = workers;
    // The registry shows the last calls gone (within a heartbeat), and the edges have read it.
    await registryShows((list) => workers.every((w) => list.find((e) => e.url === w.url)?.load === 0), 'both workers idle in the registry');
    await new Promise((r) => setTimeout(r, 2 * REFRESH_MS + 200));
    const before = placement(edges.map((e) => e.proc));
    const first = await Promise.all(Array.from({ length: 6 }, (_, i) => placeCall(edges[i % 2].proc)));
    await Promise.all(first.map((c) => c.heard('Hello.', 30_000)));
    const now = placement(edges.map((e) => e.proc));
    const onDraining = [...now].filter(([id, u]) => !before.has(id) && u === draining.url).map(([id]) => id);
    expect(onDraining.length).toBeGreaterThan(0);

    draining.proc.child.kill('SIGTERM');
    await pollStatus(draining, 503);
    expect(JSON.parse((await get(`${draining.ops}/readyz`)).text).reasons).toContain('draining');
    // The registry says draining; edges see it within a refresh (500 ms); new calls go to the other worker only.
    await registryShows((list) => list.find((w) => w.url === draining.url)?.draining === true, 'the worker marked draining');
    await new Promise((r) => setTimeout(r, 2 * REFRESH_MS + 200));
    const seen = placement(edges.map((e) => e.proc));
    const late = await Promise.all(Array.from({ length: 4 }, (_, i) => placeCall(edges[i % 2].proc)));
    await Promise.all(late.map((c) => c.heard('Hello.', 30_000)));
    const after = placement(edges.map((e) => e.proc));
    const lateUrls = [...after].filter(([id]) => !seen.has(id)).map(([, u]) => u);
    expect(lateUrls).toEqual(Array(4).fill(other.url));

    // The draining worker's calls finish normally.
    for (const c of [...first, ...late]) c.say('one');
    for (const c of [...first, ...late]) c.say('two');
    const ends = await Promise.all([...first, ...late].map((c) => c.ended(60_000)));
    expect(ends.every((e) => e.reason === 'bot-hangup')).toBe(true);
    expect(await draining.proc.exited).toBe(0);
    expect(draining.proc.output().stderr).toMatch(/drain done: every call finished/);

    // A worker that (re)joins is used again: it is the least loaded.
    const back = await startWorker();
    await pollStatus(back, 200);
    await new Promise((r) => setTimeout(r, 800));
    const hold = await placeCall(edges[0].proc);
    await hold.heard('Hello.', 30_000);
    const fresh = await Promise.all(Array.from({ length: 2 }, (_, i) => placeCall(edges[i % 2].proc)));
    await Promise.all(fresh.map((c) => c.heard('Hello.', 30_000)));
    const last = placement(edges.map((e) => e.proc));
    expect([...last.values()].filter((u) => u === back.url).length).toBeGreaterThan(0);
    for (const c of [hold, ...fresh]) c.hangup();
    await Promise.all([hold, ...fresh].map((c) => c.ended(30_000)));
    const m = (await get(`${back.ops}/metrics`)).text;
    expect(sample(m, 'voicebot_registered')).toBe(1);
    expect(sample(m, 'voicebot_worker_capacity')).toBe(CAPACITY);
  }, 180_000);

  it('SIGTERM on an edge: /readyz flips, new calls are not answered, the live call finishes, exit 0', async () => {
    const edge = edges[1];
    const live = await placeCall(edge.proc);
    await live.heard('Hello.', 30_000);
    edge.proc.child.kill('SIGTERM');
    await pollStatus(edge, 503);
    edge.proc.send({ cmd: 'call', tag: 'refused', to: '+15550123' });
    const refused = await edge.proc.next((e) => e.ev === 'ended' && e.tag === 'refused', 'the call during drain refused');
    expect(refused.reason).toBe('rejected');
    expect(edge.proc.events.some((e) => e.ev === 'answered' && e.tag === 'refused')).toBe(false);
    live.say('red');
    live.say('blue');
    await live.heard('Got red and blue.', 30_000);
    expect((await live.ended()).reason).toBe('bot-hangup');
    expect(await edge.proc.exited).toBe(0);
  }, 60_000);
});

/** Polls the registry in Redis (as an edge reads it) until `pred` holds. */
async function registryShows(pred: (list: WorkerEntry[]) => boolean, what: string): Promise<void> {
  const client = new Redis(redis!.url);
  try {
    for (let i = 0; i < 400; i++) {
      if (pred(await listWorkers(client, 'voicebot'))) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`the registry never showed ${what}`);
  } finally {
    client.disconnect();
  }
}

async function pollStatus(w: { ops: string }, status: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await readyz(w).catch(() => 0)) === status) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${w.ops}/readyz never answered ${status}`);
}
