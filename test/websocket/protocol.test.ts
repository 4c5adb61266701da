import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { AudioFrame } from '../../core/audio/frame.js';
import type { CallLeg, HangupReason } from '../../core/plugins/telephony.js';
import type { WebSocketAudioStream } from '../../plugins/websocket/index.js';
import type { WorkerLeg } from '../../plugins/websocket/worker.js';
import { TOKEN, l16Frame, rawClient, startMsg, startWorker, until, type RawClient } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function worker(opts: Parameters<typeof startWorker>[0] = {}): Promise<{ plugin: WebSocketAudioStream; url: string; legs: CallLeg[] }> {
  const w = await startWorker(opts);
  cleanups.push(() => w.plugin.stop());
  return w;
}

async function client(url: string, headers?: Record<string, string>): Promise<RawClient> {
  const c = await rawClient(url, headers);
  cleanups.push(() => c.ws.terminate());
  return c;
}

/** A started stream: the raw client, its worker leg, and what the leg received. */
async function started(url: string, legs: CallLeg[], callId: string): Promise<{ c: RawClient; leg: WorkerLeg; got: number[]; digits: string[]; ended: HangupReason[] }> {
  const c = await client(url);
  c.send(startMsg(callId));
  const s = await c.next((m) => m.type === 'started', 'started');
  expect(s).toMatchObject({ type: 'started', version: 1, callId, format: { codec: 'l16', sampleRate: 16000 }, frameMs: 20, resumed: false });
  const leg = (await until(() => legs.find((l) => l.info.id === callId), 'the leg')) as WorkerLeg;
  const got: number[] = [];
  const digits: string[] = [];
  const ended: HangupReason[] = [];
  leg.media.setReceiver((f: AudioFrame) => got.push(f.samples[0]));
  leg.onDtmf((d) => digits.push(d));
  leg.onEnded((r) => ended.push(r));
  return { c, leg, got, digits, ended };
}

function httpStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url.replace(/^ws/, 'http'), { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('websocket audio-stream protocol (raw ws client against a worker)', () => {
  it('refuses a missing or wrong token with 401 before the upgrade; accepts Bearer and ?token=', async () => {
    const { url, legs } = await worker();
    const missing = await rawClient(url, {}).catch((e) => e);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatch(/^VB_ERR_WS_AUTH /);
    const wrong = await rawClient(url, { authorization: `Bearer ${TOKEN}x` }).catch((e) => e);
    expect(wrong.status).toBe(401);
    const wrongQuery = await rawClient(`${url}?token=nope`, {}).catch((e) => e);
    expect(wrongQuery.status).toBe(401);
    expect(await rawClient(`${url.replace('/calls', '/other')}`).catch((e) => e.status)).toBe(404);
    expect(await httpStatus(url)).toBe(426);
    expect(legs).toHaveLength(0);

    const byQuery = await client(`${url}?token=${TOKEN}`, {});
    byQuery.send(startMsg('q1'));
    await byQuery.next((m) => m.type === 'started');
    expect(legs.map((l) => l.info.id)).toEqual(['q1']);
  });

  it('carries audio, DTMF, marks, clear, requests and stop between a raw edge and the worker leg', async () => {
    const { url, legs } = await worker();
    const { c, leg, got, digits, ended } = await started(url, legs, 'call-1');
    expect(leg.info).toMatchObject({ id: 'call-1', from: '+15550001111', to: '+15550123' });
    expect([leg.media.inputRate, leg.media.outputRate, leg.media.frameMs]).toEqual([16000, 16000, 20]);

    for (let i = 1; i <= 3; i++) c.ws.send(l16Frame(i * 10));
    c.send({ type: 'dtmf', digit: '5' });
    await until(() => got.length === 3 && digits.length === 1, 'caller audio and dtmf');
    expect(got).toEqual([10, 20, 30]);
    expect(digits).toEqual(['5']);

    // Bot audio: 10 frames, then a mark with the position; echoing it tells the worker what was played.
    for (let i = 1; i <= 10; i++) leg.media.write({ samples: new Int16Array(320).fill(-i), sampleRate: 16000, timestampMs: i * 20 });
    const mark = await c.next((m) => m.type === 'mark', 'mark');
    expect(c.binary.map((b) => b.readInt16LE(0))).toEqual([-1, -2, -3, -4, -5, -6, -7, -8, -9, -10]);
    expect(mark.ms).toBe(200);
    expect(leg.pendingMs).toBe(200);
    c.send({ type: 'mark', name: mark.name, ms: mark.ms });
    await until(() => leg.playedMs === 200, 'mark ack');

    leg.media.clear();
    await c.next((m) => m.type === 'clear', 'clear');

    // Requests from the worker: DTMF toward the caller, transfer; answered with `result`.
    const dtmfDone = leg.sendDtmf('12#');
    const d = await c.next((m) => m.type === 'dtmf', 'dtmf request');
    expect(d.digits).toBe('12#');
    c.send({ type: 'result', id: d.id, ok: true });
    await dtmfDone;
    const tr = leg.transfer('+15559990000').catch((e) => e);
    const t = await c.next((m) => m.type === 'transfer', 'transfer request');
    expect(t.to).toBe('+15559990000');
    c.send({ type: 'result', id: t.id, ok: false, error: { code: 'VB_ERR_TRANSFER_FAILED', message: 'busy' } });
    expect((await tr).code).toBe('VB_ERR_TRANSFER_FAILED');

    // The edge ends the call: the leg reports it once.
    c.send({ type: 'stop', reason: 'caller-hangup' });
    await until(() => ended.length === 1, 'ended');
    expect(ended).toEqual(['caller-hangup']);
    expect((await c.closed).code).toBe(1000);
  });

  it('answers malformed JSON and unknown messages with a coded error; other calls are unaffected', async () => {
    const { url, legs } = await worker();
    const a = await started(url, legs, 'a');
    const b = await started(url, legs, 'b');

    b.c.send({ type: 'frobnicate' });
    const unknown = await b.c.next((m) => m.type === 'error', 'error for unknown type');
    expect(unknown.code).toBe('VB_ERR_WS_PROTOCOL');
    expect(unknown.message).toContain('frobnicate');

    b.c.send('{not json');
    const garbage = await b.c.next((m) => m.type === 'error' && m !== unknown, 'error for garbage');
    expect(garbage.code).toBe('VB_ERR_WS_PROTOCOL');
    expect(garbage.message).toMatch(/not valid JSON.*plugins\/websocket\/README\.md/);
    expect((await b.c.closed).code).toBe(4400);

    // A wrong-sized frame is dropped and reported once, not delivered.
    a.c.ws.send(Buffer.alloc(7));
    const odd = await a.c.next((m) => m.type === 'error', 'error for an odd frame');
    expect(odd.message).toContain('7 bytes');

    // Call a is untouched: audio both ways, DTMF.
    a.c.ws.send(l16Frame(42));
    a.c.send({ type: 'dtmf', digit: '#' });
    a.leg.media.write({ samples: new Int16Array(320).fill(7), sampleRate: 16000, timestampMs: 0 });
    await until(() => a.got.length === 1 && a.digits.length === 1 && a.c.binary.length === 1, 'call a still flowing');
    expect(a.got).toEqual([42]);
    expect(a.c.binary[0].readInt16LE(0)).toBe(7);
    expect(a.ended).toEqual([]);
  });

  it('refuses a start with no usable format, an unknown resume session, and anything before start', async () => {
    const { url, legs } = await worker({ codecs: ['l16'] });
    const f = await client(url);
    f.send(startMsg('f', { offer: [{ codec: 'pcmu', sampleRate: 8000 }, { codec: 'opus', sampleRate: 48000 }] }));
    const fe = await f.next((m) => m.type === 'error');
    expect(fe.code).toBe('VB_ERR_WS_FORMAT');
    expect(fe.message).toContain('pcmu/8000');
    expect((await f.closed).code).toBe(4415);

    const r = await client(url);
    r.send(startMsg('r', { resume: 'no-such-session' }));
    expect((await r.next((m) => m.type === 'error')).code).toBe('VB_ERR_WS_RESUME');
    expect((await r.closed).code).toBe(4404);

    const early = await client(url);
    early.send({ type: 'dtmf', digit: '1' });
    expect((await early.next((m) => m.type === 'error')).code).toBe('VB_ERR_WS_PROTOCOL');
    expect((await early.closed).code).toBe(4400);
    expect(legs).toHaveLength(0);
  });

  it('negotiates G.711: the worker answers with the first offered format it accepts', async () => {
    const { url, legs } = await worker({ codecs: ['pcmu'] });
    const c = await client(url);
    c.send(startMsg('g', { offer: [{ codec: 'l16', sampleRate: 8000 }, { codec: 'pcmu', sampleRate: 8000 }] }));
    const s = await c.next((m) => m.type === 'started');
    expect(s.format).toEqual({ codec: 'pcmu', sampleRate: 8000 });
    const leg = await until(() => legs[0], 'leg');
    expect(leg.media.inputRate).toBe(8000);
    leg.media.write({ samples: new Int16Array(160).fill(1000), sampleRate: 8000, timestampMs: 0 });
    await until(() => c.binary.length === 1, 'a pcmu frame');
    expect(c.binary[0].length).toBe(160);
  });

  it('resumes a dropped stream into the same leg within the grace window, and ends the call when none comes', async () => {
    const { url, legs } = await worker({ reconnectGraceMs: 60_000 });
    const first = await started(url, legs, 'r1');
    const s1 = first.c.json.find((m) => m.type === 'started')!;
    first.c.ws.terminate();
    await first.c.closed;
    // The worker keeps the call: nothing ended, writes are dropped meanwhile.
    first.leg.media.write({ samples: new Int16Array(320), sampleRate: 16000, timestampMs: 0 });
    expect(first.ended).toEqual([]);

    const again = await client(url);
    again.send(startMsg('r1', { resume: s1.session }));
    const s2 = await again.next((m) => m.type === 'started');
    expect(s2).toMatchObject({ resumed: true, session: s1.session, format: s1.format });
    again.ws.send(l16Frame(99));
    first.leg.media.write({ samples: new Int16Array(320).fill(5), sampleRate: 16000, timestampMs: 0 });
    await until(() => first.got.includes(99) && again.binary.length === 1, 'audio after resume');
    expect(legs).toHaveLength(1);
    expect(first.ended).toEqual([]);

    // No resume within a (short) grace: the call ends with reason error.
    const short = await worker({ reconnectGraceMs: 50 });
    const gone = await started(short.url, short.legs, 'g1');
    gone.c.ws.terminate();
    await until(() => gone.ended.length === 1, 'grace expiry');
    expect(gone.ended).toEqual(['error']);
  });

  it('bounds the send buffer: a stalled edge makes the worker drop the oldest audio, not grow without limit', async () => {
    const { url, legs } = await worker({ maxBufferedMs: 200 });
    const { c, leg } = await started(url, legs, 'slow');
    // The edge stops reading: the kernel buffers fill, then ws.bufferedAmount would grow.
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const frame = { samples: new Int16Array(320).fill(3), sampleRate: 16000, timestampMs: 0 };
    let maxBuffered = 0;
    for (let i = 0; i < 200_000 && leg.stats().droppedFrames < 50; i++) {
      leg.media.write(frame);
      maxBuffered = Math.max(maxBuffered, leg.stats().bufferedBytes);
      // Let the socket flush now and then, as the real-time pacer would.
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    const st = leg.stats();
    expect(st.droppedFrames).toBeGreaterThanOrEqual(50);
    expect(st.limitBytes).toBe(6400); // 200 ms of 16 kHz l16
    expect(maxBuffered).toBeLessThanOrEqual(st.limitBytes);
    expect(st.queuedFrames).toBeLessThanOrEqual(5);
    // The edge reads again: the stream is still alive and delivers new audio.
    (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const before = c.binary.length;
    leg.media.write({ samples: new Int16Array(320).fill(777), sampleRate: 16000, timestampMs: 0 });
    await until(() => c.binary.length > before && c.binary[c.binary.length - 1].readInt16LE(0) === 777, 'fresh audio after the stall', 60_000);
  }, 90_000);
});
