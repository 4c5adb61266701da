/**
 * A fleet on 127.0.0.1, all real processes: a private redis-server, three
 * `voicebot run --role worker` registering there, two `--role edge` placing
 * calls from the stdin line fixture. More concurrent calls than one worker
 * takes spread within capacity; kill -9 one worker mid-call → its calls go on
 * on the others with their saved variables; SIGTERM another → it drains and
 * exits 0; a worker that comes back is used again; /metrics and /readyz are
 * scraped.
 *
 * Every wait is on what the processes print (their JSON events and stderr
 * lines) or on the registry in Redis, never on a fixed time: placement is the
 * edges' (least loaded, ties at random, from a view of the registry they
 * refresh every REFRESH_MS), so where a call must land the test places calls
 * until one does.
 *
 * Needs the build (`npx tsc -p .`) and redis-server (Debian package
 * redis-server; .ci/run installs it) — skipped with that reason without it.
 */
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { REFRESH_MS } from '../../core/fleet/node.js';
import { listWorkers, type WorkerEntry } from '../../core/fleet/registry.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  LINE,
  when,
  REDIS_SERVER,
  get,
  placeCall,
  runVoicebot,
  sample,
  stopProc,
  tmpDir,
  urlOf,
  writeFile,
  type LineCall,
  type Proc,
} from './procs.js';

// More calls than one worker takes; the two left after the kill take them all.
const CAPACITY = 10;
const CALLS = 16;
const tmp = tmpDir('voicebot-fleet-');
const procs: Proc[] = [];
let redis: { url: string; stop: () => Promise<void> } | undefined;

const FLOW = [
  '  stt: { provider: mock }',
  '  tts: { provider: mock }',
  'flows:',
  '  main:',
  '    steps:',
  '      greet: { say: "Hi." }',
  '      first:',
  '        listen: { input: [speech] }',
  '        save: first',
  '        else: second',
  '      second:',
  '        listen: { input: [speech] }',
  '        save: second',
  '        else: done',
  '      done: { hangup: "{{first}} {{second}}." }',
];

// A TTL and a dispatch budget with room for a starved machine: a late heartbeat must not drop a live worker
// from the registry, and a slow connect must not use up a placement (expiry and budgets are dispatch.test.ts's).
function settings(extra: string): string[] {
  return [
    'settings:',
    '  timeouts: { endOfSpeech: 300ms, noInput: 60s }',
    '  ops: { port: 0 }',
    `  fleet: { redis: "${redis!.url}", heartbeat: 300ms, ttl: 5s, ${extra} }`,
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
    ...settings('dispatchBudget: 10s'),
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

/** Every call placed and not yet seen ending: hung up after each test, so a failed test leaves no call behind to hold up a drain. */
const live = new Set<LineCall>();

async function place(edge: Proc): Promise<LineCall> {
  const c = await placeCall(edge);
  live.add(c);
  void c.ended(3_600_000).then(
    () => live.delete(c),
    () => {},
  );
  return c;
}

/** Where a call streams: the edge's stream.started for it. */
async function streamedTo(edge: Proc, c: LineCall): Promise<string> {
  return (await edge.next((e) => e.type === 'stream.started' && e.callId === c.callId, `stream.started for ${c.tag}`)).url as string;
}

/**
 * Places calls (alternating edges) until one streams to `url`, and returns
 * them all. The edges pick the least loaded worker they know of, ties at
 * random, from a view that may be a refresh behind: calls that land
 * elsewhere beyond `keepElsewhere` are hung up at once, so no worker fills up
 * while the edges catch up. The bound is a hang guard.
 */
async function placeUntilOn(edges: Proc[], url: string, keepElsewhere: number): Promise<{ on: LineCall; kept: LineCall[] }> {
  const kept: LineCall[] = [];
  for (let n = 0; n < 60; n++) {
    const edge = edges[n % edges.length];
    const c = await place(edge);
    const to = await streamedTo(edge, c);
    if (to === url) return { on: c, kept };
    if (kept.length < keepElsewhere) kept.push(c);
    else {
      c.hangup();
      await c.ended();
    }
  }
  throw new Error(`60 calls placed and none streamed to ${url}`);
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

afterEach(async () => {
  const left = [...live];
  live.clear();
  for (const c of left) c.hangup();
  await Promise.all(left.map((c) => c.ended().catch(() => {})));
}, 600_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => stopProc(p, 'SIGKILL')));
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!REDIS_SERVER)(`a fleet: 2 edges, 3 workers, Redis registry${REDIS_SERVER ? '' : ' (skipped: redis-server not installed — apt-get install redis-server)'}`, () => {
  const workers: Worker[] = [];
  const edges: { proc: Proc; ops: string }[] = [];
  const edgeProcs = (): Proc[] => edges.map((e) => e.proc);
  const edgeEvents = (): Record<string, any>[] => edges.flatMap((e) => e.proc.events);

  beforeAll(async () => {
    const { startRedis } = await import('./procs.js');
    redis = await startRedis();
    workers.push(...(await Promise.all([startWorker(), startWorker(), startWorker()])));
    // A worker prints its addresses after its first registry write: each /readyz says registered.
    expect(await Promise.all(workers.map(readyz))).toEqual([200, 200, 200]);
    edges.push(...(await Promise.all([startEdge('edge1'), startEdge('edge2')])));
  }, 600_000);

  it('the edge startup check reports a reachable worker with the token accepted', () => {
    for (const e of edges) {
      const check = e.proc.events.find((ev) => ev.type === 'fleet.check')!;
      expect(check.ok).toBe(true);
      expect(check.detail).toMatch(/reachable, token accepted \(3 of 3 registered worker\(s\) ready\)/);
    }
  });

  it(`${CALLS} concurrent calls spread within capacity; kill -9 of one worker: its calls go on elsewhere with their variables; none lost`, async () => {
    const calls = await Promise.all(
      Array.from({ length: CALLS }, async (_, i) => {
        const edge = edges[i % 2].proc;
        const c = await place(edge);
        return { c, edge, i };
      }),
    );
    await Promise.all(calls.map(({ c }) => c.heard('Hi.')));
    const where = placement(edgeProcs());
    const perWorker = workers.map((w) => [...where.values()].filter((u) => u === w.url).length);
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(CALLS);
    for (const n of perWorker) {
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(CAPACITY);
    }
    expect(await Promise.all(workers.map(activeCalls))).toEqual(perWorker);

    // Every caller answers the first question; the flow saves it and waits in step `second`.
    for (const { c, i } of calls) c.say(`a${i}`);
    // Each edge prints the worker's flow.step event once its state (sent just before) has arrived.
    const inSecond = (): number => edgeEvents().filter((e) => e.type === 'flow.step' && e.step === 'second').length;
    await when(edgeProcs(), () => inSecond() === CALLS, 'every call in step second (seen on the edges)');

    // kill -9 the busiest worker mid-call.
    const victim = workers[perWorker.indexOf(Math.max(...perWorker))];
    const lostIds = [...where].filter(([, u]) => u === victim.url).map(([id]) => id);
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    const movedOf = (): Record<string, any>[] => edgeEvents().filter((ev) => ev.type === 'stream.redispatched' && lostIds.includes(ev.callId));
    await when(edgeProcs(), () => movedOf().length === lostIds.length, 'every lost call re-dispatched');
    const moved = edgeEvents().filter((ev) => ev.type === 'stream.redispatched');
    expect(moved).toHaveLength(lostIds.length);
    for (const ev of moved) {
      expect(ev.url).not.toBe(victim.url);
      expect(ev.step).toBe('main.second');
      expect(ev.code).toBe('VB_WARN_FLEET_WORKER_LOST');
    }
    // The flow goes on: the second answer, and the first one carried over from the lost worker.
    for (const { c, i } of calls) c.say(`b${i}`);
    await Promise.all(calls.map(({ c, i }) => c.heard(`a${i} b${i}.`)));
    const ends = await Promise.all(calls.map(({ c }) => c.ended()));
    expect(ends.map((e) => e.reason)).toEqual(Array(CALLS).fill('bot-hangup'));

    // Split mode: the workers' call events reached the edges (transcript and steps).
    for (const e of edges) {
      expect(e.proc.events.some((ev) => ev.type === 'caller.said' && /^b\d+$/.test(ev.text))).toBe(true);
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
  }, 600_000);

  it('SIGTERM on a worker: /readyz flips, no new call reaches it, its calls finish, it exits 0; a new worker is used', async () => {
    const [draining, other] = workers;
    // The registry shows the last calls gone (within a heartbeat), so the edges' next refresh sees both idle.
    await registryShows((list) => workers.every((w) => list.find((e) => e.url === w.url)?.load === 0), 'both workers idle in the registry');
    // Live calls on the worker to drain (and up to 3 on the other).
    const { on, kept } = await placeUntilOn(edgeProcs(), draining.url, 3);
    const first = [on, ...kept];
    await Promise.all(first.map((c) => c.heard('Hi.')));

    draining.proc.child.kill('SIGTERM');
    // The process prints this right after it marked itself draining.
    await when([draining.proc], () => /draining: \d+ live call/.test(draining.proc.output().stderr), 'the worker to start draining');
    const r = await get(`${draining.ops}/readyz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text).reasons).toContain('draining');
    // The registry says draining; edges see it within a refresh; new calls go to the other worker only
    // (one placed on a stale view is refused by the draining worker and placed again).
    await registryShows((list) => list.find((w) => w.url === draining.url)?.draining === true, 'the worker marked draining');
    await new Promise((res) => setTimeout(res, 2 * REFRESH_MS + 200));
    const late = await Promise.all(Array.from({ length: 4 }, (_, i) => place(edges[i % 2].proc)));
    const lateUrls = await Promise.all(late.map((c, i) => streamedTo(edges[i % 2].proc, c)));
    expect(lateUrls).toEqual(Array(4).fill(other.url));
    await Promise.all(late.map((c) => c.heard('Hi.')));

    // The draining worker's calls (and the others) finish normally.
    for (const c of [...first, ...late]) c.say('one');
    for (const c of [...first, ...late]) c.say('two');
    const ends = await Promise.all([...first, ...late].map((c) => c.ended()));
    expect(ends.every((e) => e.reason === 'bot-hangup')).toBe(true);
    expect(await draining.proc.exited).toBe(0);
    expect(draining.proc.output().stderr).toMatch(/drain done: every call finished/);

    // A worker that (re)joins is used again: it is the least loaded.
    const back = await startWorker();
    expect(await readyz(back)).toBe(200);
    const { on: onBack, kept: elsewhere } = await placeUntilOn(edgeProcs(), back.url, 1);
    await onBack.heard('Hi.');
    for (const c of [onBack, ...elsewhere]) c.hangup();
    await Promise.all([onBack, ...elsewhere].map((c) => c.ended()));
    const m = (await get(`${back.ops}/metrics`)).text;
    expect(sample(m, 'voicebot_registered')).toBe(1);
    expect(sample(m, 'voicebot_worker_capacity')).toBe(CAPACITY);
    expect(sample(m, 'voicebot_calls_total', { outcome: 'caller-hangup' })).toBe(1);
  }, 600_000);

  it('SIGTERM on an edge: /readyz flips, new calls are not answered, the live call finishes, exit 0', async () => {
    const edge = edges[1];
    const c = await place(edge.proc);
    await c.heard('Hi.');
    edge.proc.child.kill('SIGTERM');
    await when([edge.proc], () => /draining: \d+ live call/.test(edge.proc.output().stderr), 'the edge to start draining');
    expect((await get(`${edge.ops}/readyz`)).status).toBe(503);
    edge.proc.send({ cmd: 'call', tag: 'refused', to: '+15550123' });
    const refused = await edge.proc.next((e) => e.ev === 'ended' && e.tag === 'refused', 'the call during drain refused');
    expect(refused.reason).toBe('rejected');
    expect(edge.proc.events.some((e) => e.ev === 'answered' && e.tag === 'refused')).toBe(false);
    c.say('red');
    c.say('blue');
    await c.heard('red blue.');
    expect((await c.ended()).reason).toBe('bot-hangup');
    expect(await edge.proc.exited).toBe(0);
  }, 600_000);
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
