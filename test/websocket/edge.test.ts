import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../../core/app/roles.js';
import { silentLogger } from '../../core/logging.js';
import type { CallerSide, CallLeg, IncomingCall } from '../../core/plugins/telephony.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { WebSocketAudioStream } from '../../plugins/websocket/index.js';
import { TOKEN, startWorker, until } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A TCP relay between edge and worker that the test can cut (a network drop). */
async function relay(target: string): Promise<{ url: string; cut: () => void; close: () => Promise<void>; retarget: (t: string) => void }> {
  let u = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((down) => {
    const up = connect(Number(u.port), u.hostname);
    const pair: [Socket, Socket] = [down, up];
    pairs.add(pair);
    down.pipe(up);
    up.pipe(down);
    const end = (): void => {
      down.destroy();
      up.destroy();
      pairs.delete(pair);
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const cut = (): void => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  const close = async (): Promise<void> => {
    cut();
    await new Promise<void>((r) => server.close(() => r()));
  };
  let closed = false;
  cleanups.push(() => (closed ? undefined : close()));
  return { url: `ws://127.0.0.1:${port}${u.pathname}`, cut, close: () => ((closed = true), close()), retarget: (t) => (u = new URL(t)) };
}

async function edgeFor(url: string, opts: { token?: string; reconnectGraceMs?: number } = {}) {
  const edge = new WebSocketAudioStream({ url, token: opts.token ?? TOKEN, reconnectGraceMs: opts.reconnectGraceMs ?? 30_000 }, { logger: silentLogger() });
  edge.setRole('edge', undefined);
  await edge.start();
  const tel = new MockTelephony({ codec: 'l16', sampleRate: 16000 });
  const offered: IncomingCall[] = [];
  await tel.listen({ onIncomingCall: (c) => offered.push(c) });
  cleanups.push(async () => {
    await tel.stop();
    await edge.stop();
  });
  /** Places a call, answers it and streams it like `voicebot run --role edge` does. */
  const call = async () => {
    const caller = tel.placeCall({ sampleRate: 16000 });
    const leg = await offered.shift()!.answer();
    const events: StreamEvent[] = [];
    const done = edge.forward(leg, { flow: 'main', onEvent: (e) => events.push(e) });
    return { caller, leg, done, events };
  };
  return { edge, tel, call };
}

function ears(caller: CallerSide): number[] {
  const got: number[] = [];
  caller.setReceiver((f) => got.push(f.samples[0]));
  return got;
}

function mouth(leg: CallLeg): number[] {
  const got: number[] = [];
  leg.media.setReceiver((f) => got.push(f.samples[0]));
  return got;
}

const frame = (v: number, rate = 16000) => ({ samples: new Int16Array(rate / 50).fill(v), sampleRate: rate, timestampMs: 0 });

describe('websocket audio-stream, edge end (in process)', () => {
  it('streams a call, carries DTMF and a transfer, and reports how it ended', async () => {
    const w = await startWorker();
    cleanups.push(() => w.plugin.stop());
    const { call } = await edgeFor(w.url);
    const { caller, done, events } = await call();
    await until(() => events.some((e) => e.type === 'stream.started'), 'stream started');
    const wleg = await until(() => w.legs[0], 'worker leg');
    const toBot = mouth(wleg);
    const toCaller = ears(caller);
    const digits: string[] = [];
    wleg.onDtmf((d) => digits.push(d));
    caller.write(frame(11));
    caller.pressDtmf('3');
    wleg.media.write(frame(-11));
    await until(() => toBot.length === 1 && toCaller.length === 1 && digits.length === 1, 'audio and dtmf');
    expect([toBot, toCaller, digits]).toEqual([[11], [-11], ['3']]);
    await wleg.transfer('+15557770000');
    expect(await caller.ended).toBe('transferred');
    expect(caller.transfers).toEqual(['+15557770000']);
    expect(await done).toEqual({ reason: 'transferred' });
  });

  it('resumes a dropped connection into the same worker call', async () => {
    const w = await startWorker({ reconnectGraceMs: 60_000 });
    cleanups.push(() => w.plugin.stop());
    const r = await relay(w.url);
    const { call } = await edgeFor(r.url);
    const { caller, done, events } = await call();
    await until(() => events.some((e) => e.type === 'stream.started'), 'stream started');
    const wleg = await until(() => w.legs[0], 'worker leg');
    const toBot = mouth(wleg);
    const toCaller = ears(caller);
    const ended: string[] = [];
    wleg.onEnded((x) => ended.push(x));

    r.cut();
    await until(() => events.some((e) => e.type === 'stream.resumed'), 'resume');
    expect(events.map((e) => e.type)).toEqual(['stream.started', 'stream.reconnecting', 'stream.resumed']);
    expect(w.legs).toHaveLength(1);
    expect(ended).toEqual([]);

    caller.write(frame(21));
    wleg.media.write(frame(-21));
    await until(() => toBot.includes(21) && toCaller.includes(-21), 'audio after resume');
    await wleg.hangup();
    expect(await caller.ended).toBe('bot-hangup');
    expect((await done).reason).toBe('bot-hangup');
  });

  it('ends the call with VB_ERR_WS_STREAM_LOST when the worker does not come back, and with VB_ERR_WS_AUTH on a wrong token', async () => {
    const w = await startWorker();
    cleanups.push(() => w.plugin.stop());
    const r = await relay(w.url);
    const { call } = await edgeFor(r.url, { reconnectGraceMs: 300 });
    const { caller, done, events } = await call();
    await until(() => events.some((e) => e.type === 'stream.started'), 'stream started');
    await r.close(); // the worker is unreachable from now on
    const res = await done;
    expect(res.reason).toBe('error');
    expect(res.error?.code).toBe('VB_ERR_WS_STREAM_LOST');
    expect(res.error?.message).toContain('300 ms');
    expect(await caller.ended).toBe('error');

    const bad = await edgeFor(w.url, { token: 'not-the-right-token-at-all' });
    const b = await bad.call();
    const br = await b.done;
    expect(br.error?.code).toBe('VB_ERR_WS_AUTH');
    expect(await b.caller.ended).toBe('error');
    expect(w.legs).toHaveLength(1);
  });

  it('ends the call at once with VB_ERR_WS_STREAM_LOST when the worker it reconnects to does not know the call', async () => {
    const w1 = await startWorker();
    cleanups.push(() => w1.plugin.stop());
    const w2 = await startWorker();
    cleanups.push(() => w2.plugin.stop());
    const r = await relay(w1.url);
    const { call } = await edgeFor(r.url, { reconnectGraceMs: 60_000 });
    const { caller, done, events } = await call();
    await until(() => events.some((e) => e.type === 'stream.started'), 'stream started');
    // Like a worker killed and restarted: the connection drops with no `stop`, and what answers next has no session.
    r.retarget(w2.url);
    r.cut();
    const res = await done;
    expect(res.reason).toBe('error');
    expect(res.error?.code).toBe('VB_ERR_WS_STREAM_LOST');
    expect(res.error?.message).toMatch(/no such session/);
    expect(await caller.ended).toBe('error');
    expect(w2.legs).toHaveLength(0);
  });

  it('a worker shutting down ends its calls with reason shutdown; the next call reaches the restarted worker', async () => {
    const w = await startWorker();
    const port = Number(new URL(w.url).port);
    const { call } = await edgeFor(w.url, { reconnectGraceMs: 60_000 });
    const { caller, done, events } = await call();
    await until(() => events.some((e) => e.type === 'stream.started'), 'stream started');
    // Restart the worker on the same port: no session survives.
    await w.plugin.stop();
    const w2 = await startWorker({ listen: { port } });
    cleanups.push(() => w2.plugin.stop());
    const res = await done;
    // A stopping worker says `stop: shutdown`; the edge ends the call with that reason.
    expect(res.reason).toBe('shutdown');
    expect(await caller.ended).toBe('shutdown');

    // The next call goes to the new worker.
    const next = await call();
    await until(() => w2.legs[0], 'leg on the restarted worker');
    await w2.legs[0].hangup();
    expect((await next.done).reason).toBe('bot-hangup');
  });
});
