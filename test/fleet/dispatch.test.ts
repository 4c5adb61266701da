/**
 * Dispatch pieces against real servers: the Dispatcher over a private
 * redis-server (least loaded, ties spread, draining / incompatible / full /
 * expired workers skipped), and the edge's placement over real WebSockets to
 * real worker ends (a full worker refuses with VB_ERR_FLEET_CAPACITY and the
 * edge tries the next; an unreachable one too; no worker at all → the call
 * is not answered).
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import type { StreamEvent, WorkerPicker, WorkerTarget } from '../../core/app/roles.js';
import { loadConfigText } from '../../core/config/load.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { Dispatcher } from '../../core/fleet/dispatcher.js';
import { FLEET_PROTOCOL, WorkerRegistration, keys, listWorkers, type WorkerEntry } from '../../core/fleet/registry.js';
import { silentLogger } from '../../core/logging.js';
import type { IncomingCall } from '../../core/plugins/telephony.js';
import { realClock } from '../../core/time/clock.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { WebSocketAudioStream } from '../../plugins/websocket/index.js';
import { REDIS_SERVER, TOKEN, freePort, startRedis, until } from './procs.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function entry(id: string, over: Partial<WorkerEntry> = {}): Omit<WorkerEntry, 'updatedAt'> {
  return { id, url: `ws://127.0.0.1:1/${id}`, capacity: 10, load: 0, version: 'test', protocol: FLEET_PROTOCOL, draining: false, host: 'h', pid: 1, ...over };
}

describe.skipIf(!REDIS_SERVER)(`Dispatcher over a real Redis${REDIS_SERVER ? '' : ' (skipped: redis-server not installed)'}`, () => {
  let redis: { url: string; stop: () => Promise<void> };
  let client: Redis;
  let prefix = 0;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  }, 120_000);
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  async function register(p: string, e: Omit<WorkerEntry, 'updatedAt'>, ttlMs = 5000): Promise<WorkerRegistration> {
    const r = new WorkerRegistration(new Redis(redis.url, { lazyConnect: true }), p, () => e, 60_000, ttlMs, realClock, silentLogger());
    await r.start();
    cleanups.push(() => r.stop());
    return r;
  }

  async function dispatcher(p: string, random?: () => number): Promise<Dispatcher> {
    const d = new Dispatcher(new Redis(redis.url, { lazyConnect: true }), p, 3000, 60_000, realClock, silentLogger(), random);
    await d.start();
    cleanups.push(() => d.stop());
    return d;
  }

  it('picks the least loaded of the ready, compatible workers with room', async () => {
    const p = `t${++prefix}`;
    await register(p, entry('busy', { load: 8 }));
    await register(p, entry('light', { load: 2 }));
    await register(p, entry('draining', { draining: true }));
    await register(p, entry('newer-protocol', { protocol: FLEET_PROTOCOL + 1 }));
    await register(p, entry('full', { load: 10 }));
    await register(p, entry('small', { load: 1, capacity: 2 })); // 50% loaded: worse than light's 20%
    const d = await dispatcher(p);
    expect(d.known.map((w) => w.id).sort()).toEqual(['busy', 'draining', 'full', 'light', 'newer-protocol', 'small']);
    expect(d.eligible().map((w) => w.id).sort()).toEqual(['busy', 'light', 'small']);
    expect(d.pick(new Set())?.id).toBe('light');
    expect(d.pick(new Set(['light']))?.id).toBe('small');
    // Calls this edge placed count before the registry shows them: 4 more on light → 60% > small's 50%.
    for (let i = 0; i < 4; i++) d.placed({ id: 'light', url: '' });
    expect(d.pick(new Set())?.id).toBe('small');
    // A worker that refused goes on cooldown.
    const retries: string[] = [];
    d.onRetry = (c) => retries.push(c);
    d.failed({ id: 'small', url: '' }, 'VB_ERR_FLEET_CAPACITY');
    expect(d.pick(new Set())?.id).toBe('light');
    expect(retries).toEqual(['VB_ERR_FLEET_CAPACITY']);
  });

  it('spreads ties', async () => {
    const p = `t${++prefix}`;
    await register(p, entry('a'));
    await register(p, entry('b'));
    const d = await dispatcher(p);
    const seen = new Set<string>();
    for (let i = 0; i < 64 && seen.size < 2; i++) seen.add(d.pick(new Set())!.id);
    expect([...seen].sort()).toEqual(['a', 'b']);
    const first = await dispatcher(p, () => 0);
    const last = await dispatcher(p, () => 0.999);
    expect(first.pick(new Set())!.id).not.toBe(last.pick(new Set())!.id);
  });

  it('a worker that stops renewing its entry disappears within its TTL and is pruned from the set', async () => {
    const p = `t${++prefix}`;
    await register(p, entry('stays'));
    // A crashed worker: its last write, then nothing (no heartbeat, no deregistration).
    await client.multi().set(keys(p).entry('crashed'), JSON.stringify({ ...entry('crashed'), updatedAt: Date.now() }), 'PX', 300).sadd(keys(p).set, 'crashed').exec();
    expect((await listWorkers(client, p)).map((w) => w.id).sort()).toEqual(['crashed', 'stays']);
    await new Promise((r) => setTimeout(r, 450));
    expect((await listWorkers(client, p)).map((w) => w.id)).toEqual(['stays']);
    expect(await client.smembers(keys(p).set)).toEqual(['stays']);
  });

  it('a stopped registration deregisters at once', async () => {
    const p = `t${++prefix}`;
    const r = await register(p, entry('leaving'));
    expect(r.registered).toBe(true);
    await r.stop();
    expect(await listWorkers(client, p)).toEqual([]);
  });
});

/** A picker over fixed targets, in order; records what the edge reported. */
function listPicker(targets: WorkerTarget[]): WorkerPicker & { failures: [string, string][]; placements: string[] } {
  const failures: [string, string][] = [];
  const placements: string[] = [];
  return {
    budgetMs: 5000,
    failures,
    placements,
    pick: (exclude) => targets.find((t) => !exclude.has(t.id)),
    failed: (t, code) => void failures.push([t.id, code]),
    placed: (t) => void placements.push(t.id),
  };
}

async function workerEnd(capacity: number): Promise<{ url: string; plugin: WebSocketAudioStream; legs: number }> {
  const plugin = new WebSocketAudioStream({ token: TOKEN, listen: { port: 0 } }, { logger: silentLogger() }, 'websocket', { capacity, registry: true });
  const w = { url: '', plugin, legs: 0 };
  plugin.setRole('worker', () => void w.legs++);
  await plugin.start();
  w.url = plugin.listenUrl!;
  cleanups.push(() => plugin.stop());
  return w;
}

async function edgeEnd(): Promise<{ call: (pick: WorkerPicker) => Promise<{ events: StreamEvent[]; done: Promise<unknown> }> }> {
  const edge = new WebSocketAudioStream({ token: TOKEN, connectTimeoutMs: 2000 }, { logger: silentLogger() }, 'websocket', { capacity: 0, registry: true });
  edge.setRole('edge', undefined);
  await edge.start();
  const tel = new MockTelephony({ codec: 'l16', sampleRate: 16000 });
  const offered: IncomingCall[] = [];
  await tel.listen({ onIncomingCall: (c) => offered.push(c) });
  cleanups.push(async () => {
    await tel.stop();
    await edge.stop();
  });
  return {
    call: async (pick) => {
      tel.placeCall({ sampleRate: 16000 });
      const leg = await offered.shift()!.answer();
      const events: StreamEvent[] = [];
      return { events, done: edge.forward(leg, { flow: 'main', onEvent: (e) => events.push(e), pick }) };
    },
  };
}

describe('edge placement over real WebSockets', () => {
  it('a full worker refuses (VB_ERR_FLEET_CAPACITY) and an unreachable one fails; the edge places the call on the next', async () => {
    const full = await workerEnd(1);
    const free = await workerEnd(0);
    const { call } = await edgeEnd();
    const first = await call(listPicker([{ id: 'full', url: full.url }]));
    await until(() => first.events.some((e) => e.type === 'stream.started'), 'first call streamed');
    expect(full.legs).toBe(1);
    const dead = `ws://127.0.0.1:${await freePort()}/calls`;
    const pick = listPicker([
      { id: 'full', url: full.url },
      { id: 'dead', url: dead },
      { id: 'free', url: free.url },
    ]);
    const second = await call(pick);
    const started = await until(() => second.events.find((e) => e.type === 'stream.started'), 'second call streamed');
    expect(started).toMatchObject({ url: free.url });
    expect(pick.failures).toEqual([
      ['full', 'VB_ERR_FLEET_CAPACITY'],
      ['dead', 'VB_ERR_WS_CONNECT'],
    ]);
    expect(pick.placements).toEqual(['free']);
    expect([full.legs, free.legs]).toEqual([1, 1]);
  });

  it('a draining worker refuses new calls (VB_ERR_FLEET_DRAINING); with no other worker the call ends VB_ERR_FLEET_NO_WORKER', async () => {
    const w = await workerEnd(0);
    w.plugin.setDraining(true);
    const { call } = await edgeEnd();
    const pick = listPicker([{ id: 'w', url: w.url }]);
    const c = await call(pick);
    const r = (await c.done) as { reason: string; error?: { code: string; message: string } };
    expect(r.reason).toBe('error');
    expect(r.error?.code).toBe('VB_ERR_FLEET_NO_WORKER');
    expect(r.error?.message).toMatch(/draining/);
    expect(pick.failures).toEqual([['w', 'VB_ERR_FLEET_DRAINING']]);
    expect(w.legs).toBe(0);
  });

  it('an edge app does not answer a call no worker can take, and reports why', async () => {
    const yaml = [
      'version: 1',
      'plugins:',
      '  telephony: { provider: mock }',
      '  tts: { provider: mock }',
      `  audioStream: { provider: websocket, token: ${TOKEN} }`,
      'settings:',
      '  fleet: { redis: "redis://127.0.0.1:1" }',
      'flows:',
      '  main: { steps: { hi: { say: "Hi." } } }',
    ].join('\n');
    const { config, diagnostics } = await loadConfigText(yaml, '/tmp/edge.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics).toEqual([]);
    if (!config) throw new Error('config did not load');
    const app = await VoicebotApp.create({ config, role: 'edge', logger: silentLogger() });
    app.dispatcher = listPicker([]);
    const events: StreamEvent[] = [];
    app.onStreamEvent((e) => events.push(e));
    await app.start();
    cleanups.push(() => app.stop());
    const tel = app.plugins.telephony as MockTelephony;
    const caller = tel.placeCall({ sampleRate: 16000 });
    let answered = false;
    void caller.answered.then(() => (answered = true));
    expect(await caller.ended).toBe('rejected');
    expect(answered).toBe(false);
    expect(events).toEqual([expect.objectContaining({ type: 'stream.ended', reason: 'rejected', code: 'VB_ERR_FLEET_NO_WORKER' })]);
  });
});

describe('edge startup check (probeWorker) against a real worker end', () => {
  it('says whether the worker is reachable and the token accepted', async () => {
    const { probeWorker } = await import('../../core/fleet/probe.js');
    const w = await workerEnd(0);
    expect(await probeWorker(w.url, TOKEN)).toEqual({ ok: true });
    expect(await probeWorker(w.url, 'wrong-token-0123456789')).toEqual({ ok: false, why: expect.stringMatching(/refused the token \(HTTP 401\)/) });
    const dead = `ws://127.0.0.1:${await freePort()}/calls`;
    expect(await probeWorker(dead, TOKEN)).toEqual({ ok: false, why: expect.stringMatching(/^unreachable \(.*ECONNREFUSED/) });
    expect(w.legs).toBe(0);
  });
});
