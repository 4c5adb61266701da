/**
 * Hostile or broken softphone clients (issue #12 items 1 and 5): every bad
 * message gets a coded answer and/or a closed socket, and another call on the
 * same line keeps its audio. Real `ws` clients against the real line server.
 */
import { describe, it, type ExpectStatic, type TestContext } from 'vitest';
import { SoftphoneClient } from '../../plugins/local/index.js';
import type { LocalCall, LocalTelephony } from '../../plugins/local/index.js';
import { LocalTelephony as Line } from '../../plugins/local/index.js';
import { manualClock, rawClient, until, type RawClient } from '../websocket/helpers.js';
import { startToneLine } from './helpers.js';

/**
 * Every test has its own line on a free port and its own clients, so the tests of each describe run at once
 * (they mostly wait for frames). What a test starts is stopped when it ends (onTestFinished, in reverse order).
 */
type T = Pick<TestContext, 'expect' | 'onTestFinished'>;

/** Hang guard for each wait on a loaded machine (not a measure of anything). */
const WAIT = 60_000;

async function line(t: T, opts: Parameters<typeof startToneLine>[0] = {}): Promise<LocalTelephony> {
  const l = await startToneLine(opts);
  t.onTestFinished(l.stop);
  return l.line;
}

/** A well-behaved call that is answered and receiving bot audio. */
async function goodCall(t: T, l: LocalTelephony): Promise<SoftphoneClient> {
  const c = new SoftphoneClient(l.wsUrl!);
  t.onTestFinished(async () => {
    c.close();
    await c.closed;
  });
  await c.answered;
  await until(() => c.rxFrames > 5, 'bot audio on the good call', WAIT);
  return c;
}

/** The good call still gets audio: `n` more frames arrive (a count, not a time). */
async function stillStreaming(expect: ExpectStatic, c: SoftphoneClient, n = 25): Promise<void> {
  const from = c.rxFrames;
  await until(() => c.rxFrames >= from + n, `${n} more frames on the good call`, WAIT);
  expect(c.messages.some((m) => m.type === 'ended')).toBe(false);
}

async function raw(t: T, l: LocalTelephony): Promise<RawClient> {
  const r = await rawClient(l.wsUrl!, {});
  t.onTestFinished(() => r.ws.terminate());
  return r;
}

const HELLO = { type: 'hello', version: 1, sampleRate: 16000 };

async function inCall(t: T, l: LocalTelephony): Promise<RawClient> {
  const r = await raw(t, l);
  r.send(HELLO);
  await r.next((m) => m.type === 'answered', 'answered');
  return r;
}

/** The socket got a coded protocol error and was closed. */
async function refusedWithCode(expect: ExpectStatic, r: RawClient, code = 'VB_ERR_LOCAL_PROTOCOL'): Promise<void> {
  const err = await r.next((m) => m.type === 'error', 'a coded error');
  expect(err.code).toBe(code);
  expect(err.message).toMatch(/plugins\/local\/README\.md/);
  await r.closed;
}

describe.concurrent('softphone socket: hostile text frames', { timeout: 120_000 }, () => {
  const NOT_OBJECTS = ['null', '1', '"hello"', 'true', '[]', '[{"type":"hello"}]', '{}', '{"type":5}', '{"type":null}'];

  it.for(NOT_OBJECTS)('%s before hello: coded error, socket closed, other calls unaffected', async (text, t) => {
    const { expect } = t;
    const l = await line(t);
    const good = await goodCall(t, l);
    const r = await raw(t, l);
    r.send(text);
    await refusedWithCode(expect, r);
    await stillStreaming(expect, good);
  });

  it.for(NOT_OBJECTS)('%s during a call: coded error, that call ends, other calls unaffected', async (text, t) => {
    const { expect } = t;
    const l = await line(t);
    const good = await goodCall(t, l);
    const r = await inCall(t, l);
    r.send(text);
    await refusedWithCode(expect, r);
    expect(r.json.find((m) => m.type === 'ended')?.reason).toBe('error');
    await stillStreaming(expect, good);
    await until(() => l.calls.size === 1, 'the broken call forgotten', WAIT);
  });

  const WRONG_TYPES: unknown[] = [
    { ...HELLO, sampleRate: '16000' },
    { ...HELLO, version: '1' },
    { ...HELLO, from: { x: 1 } },
    { ...HELLO, to: ['a'] },
  ];
  it.for(WRONG_TYPES.map((m) => [JSON.stringify(m), m]))('hello %s: coded error, closed, no call offered', async ([, msg], t) => {
    const { expect } = t;
    const l = await line(t);
    const r = await raw(t, l);
    r.send(msg);
    await refusedWithCode(expect, r);
    expect(r.json.some((m) => m.type === 'ringing')).toBe(false);
    expect(l.calls.size).toBe(0);
  });

  const WRONG_IN_CALL: unknown[] = [
    { type: 'dtmf', digits: 5 },
    { type: 'dtmf', digits: 'x' },
    { type: 'dtmf', digits: '1'.repeat(1000) },
    { type: 'say', text: { a: 1 } },
    { type: 'say', text: null },
    { type: 'say', text: 'x'.repeat(501) },
    { type: 'ack', id: 'one' },
    { type: 'ack' },
    { type: 'hello', version: 1, sampleRate: 16000 },
    { type: 'nope' },
  ];
  it.for(WRONG_IN_CALL.map((m) => [JSON.stringify(m).slice(0, 60), m]))('%s during a call: coded error, that call ends', async ([, msg], t) => {
    const { expect } = t;
    const l = await line(t);
    const good = await goodCall(t, l);
    const r = await inCall(t, l);
    r.send(msg);
    await refusedWithCode(expect, r);
    await stillStreaming(expect, good);
  });

  it('a text frame over the text limit is refused before parsing', async (t) => {
    const { expect } = t;
    const l = await line(t);
    const r = await inCall(t, l);
    r.send(JSON.stringify({ type: 'say', text: 'a' }) + ' '.repeat(20_000));
    const err = await r.next((m) => m.type === 'error', 'a coded error');
    expect(err.message).toMatch(/bytes/);
    await r.closed;
  });
});

describe.concurrent('softphone socket: binary frames', { timeout: 120_000 }, () => {
  it('audio before hello is a protocol error', async (t) => {
    const { expect } = t;
    const l = await line(t);
    const r = await raw(t, l);
    r.ws.send(Buffer.alloc(640));
    await refusedWithCode(expect, r);
  });

  it('an oversized binary frame closes that socket (1009) and nothing else', async (t) => {
    const { expect } = t;
    const l = await line(t);
    const good = await goodCall(t, l);
    const r = await inCall(t, l);
    r.ws.send(Buffer.alloc(300 * 1024));
    expect((await r.closed).code).toBe(1009);
    await stillStreaming(expect, good);
  });

  it('odd-length and tiny audio chunks are fine', async (t) => {
    const { expect } = t;
    const l = await line(t);
    const r = await inCall(t, l);
    for (const n of [1, 3, 641, 7]) r.ws.send(Buffer.alloc(n, 1));
    r.send({ type: 'hangup' });
    expect((await r.next((m) => m.type === 'ended', 'ended')).reason).toBe('caller-hangup');
    expect(r.json.some((m) => m.type === 'error')).toBe(false);
  });
});

describe.concurrent('softphone socket: audio flood', { timeout: 120_000 }, () => {
  it('caller audio far faster than real time is cut at real time + 10 s; the other call keeps its audio', async (t) => {
    const { expect } = t;
    const started = await startToneLine();
    t.onTestFinished(started.stop);
    const l = started.line;
    const good = await goodCall(t, l);
    const r = await inCall(t, l);
    const leg = await until(() => started.legs.find((x) => x.info.id === r.json.find((m) => m.type === 'answered')?.callId), 'the leg', WAIT);
    let frames = 0;
    leg.media.setReceiver(() => frames++);
    const t0 = performance.now();
    // 60 s of caller audio in one burst (16 kHz: 32 000 bytes per second).
    for (let i = 0; i < 15; i++) r.ws.send(Buffer.alloc(128_000, 1));
    r.send({ type: 'hangup' });
    await r.next((m) => m.type === 'ended', 'ended');
    const elapsedMs = performance.now() - t0;
    // At most what real time since answering allows, plus the 10 s slack (500 frames), not 3000 frames.
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThanOrEqual(Math.ceil((elapsedMs + 1000) / 20) + 500 + 50);
    expect((leg as LocalCall).droppedCallerChunks).toBeGreaterThan(0);
    await stillStreaming(expect, good);
  });
});

describe.concurrent('softphone socket: say flood (issue #12 item 5)', { timeout: 120_000 }, () => {
  it('2,000 say messages: refused past the queue bound, memory bounded, the other call keeps its audio', async (t) => {
    const { expect } = t;
    const l = await line(t);
    const good = await goodCall(t, l);
    const r = await raw(t, l);
    r.send({ ...HELLO, sampleRate: 48000 });
    const callId = (await r.next((m) => m.type === 'answered', 'answered')).callId as string;
    const text = 'x'.repeat(500);
    for (let i = 0; i < 2000; i++) r.send({ type: 'say', text });
    const errors = (): Record<string, any>[] => r.json.filter((m) => m.type === 'error');
    const saying = (): number => r.json.filter((m) => m.type === 'saying').length;
    // Every say is answered: accepted (`saying`) or refused with a coded error.
    await until(() => saying() + errors().length >= 2000, 'an answer to every say', WAIT);
    const call = l.calls.get(callId) as LocalCall;
    expect(errors()[0].code).toBe('VB_ERR_LOCAL_LIMIT');
    expect(errors()[0].message).toMatch(/maxQueuedSays/);
    expect(saying()).toBeLessThanOrEqual(call.limits.maxQueuedSays + 1);
    expect(call.queuedSays).toBeLessThanOrEqual(call.limits.maxQueuedSays);
    // The flooding call itself is still up (a refused say is not fatal) …
    expect(r.json.some((m) => m.type === 'ended')).toBe(false);
    // … and the other caller's 20 ms audio kept flowing.
    await stillStreaming(expect, good, 50);
  });
});

describe.concurrent('softphone socket: hello deadline (injected clock)', { timeout: 120_000 }, () => {
  it('a socket that sends nothing is closed at helloTimeoutMs, not before', async (t) => {
    const { expect } = t;
    const clock = manualClock();
    const l = new Line({ port: 0, helloTimeoutMs: 1000 }, { clock });
    await l.listen({ onIncomingCall: () => {} });
    t.onTestFinished(() => l.stop());
    const r = await raw(t, l);
    await until(() => clock.pending() >= 1, 'the hello deadline armed', WAIT);
    clock.advance(999);
    // A ping round trip: had the deadline fired, its error and close would come before the pong.
    await new Promise<void>((res) => {
      r.ws.once('pong', () => res());
      r.ws.ping();
    });
    expect(r.json).toEqual([]);
    clock.advance(1);
    const err = await r.next((m) => m.type === 'error', 'the deadline error');
    expect(err.message).toMatch(/no hello within 1000 ms/);
    expect((await r.closed).code).toBe(1008);
  });
});
