import { createServer } from 'node:net';
import { describe, it, type TestContext } from 'vitest';
import { WebSocket } from 'ws';
import type { VoicebotApp } from '../../core/app/app.js';
import type { CallEvent } from '../../core/engine/events.js';
import { VoicebotError } from '../../core/errors/index.js';
import { LocalTelephony, SoftphoneClient, type ServerMessage } from '../../plugins/local/index.js';
import { until } from '../websocket/helpers.js';
import { startShippedApp } from './helpers.js';

type Of<T extends CallEvent['type']> = Extract<CallEvent, { type: T }>;
const is =
  <T extends CallEvent['type']>(type: T, pred: (e: Of<T>) => boolean = () => true) =>
  (e: CallEvent): e is Of<T> =>
    e.type === type && pred(e as Of<T>);

/**
 * The tests are independent (each its own app or line on a free port, its own clients) and mostly wait on real-time
 * audio, so each describe runs its tests at once. What a test starts is stopped when that test ends
 * (onTestFinished runs in reverse order: clients close before their app stops).
 */
type Cleanup = Pick<TestContext, 'onTestFinished'>;

/** Hang guard for each wait on a loaded machine (not a measure of anything). */
const WAIT = 60_000;

async function shipped(t: Cleanup): Promise<{ app: VoicebotApp; line: LocalTelephony; events: CallEvent[] }> {
  const r = await startShippedApp();
  t.onTestFinished(() => r.app.stop());
  return r;
}

function dial(t: Cleanup, line: LocalTelephony, opts: ConstructorParameters<typeof SoftphoneClient>[1] = {}): SoftphoneClient {
  const c = new SoftphoneClient(line.wsUrl!, opts);
  t.onTestFinished(async () => {
    c.close();
    await c.closed;
  });
  return c;
}

/** Upgrade attempt with raw headers: resolves 'open' or the HTTP status that refused it. */
function tryUpgrade(url: string, headers: Record<string, string>): Promise<'open' | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('error', () => {});
  });
}

// Generous timeouts: a hang guard for a loaded machine (these calls take ≈ 10 s of real-time audio each).
describe.concurrent('local softphone line with the shipped voicebot.yaml (Node client, page protocol)', { timeout: 180_000 }, () => {
  it('greets with Flite, routes a key press and simulates the transfer on the line', async (t) => {
    const { expect } = t;
    const { line, events } = await shipped(t);
    const c = dial(t, line, { from: 'tester' });
    const callId = await c.ringing;
    await c.answered;
    const greeting = await c.waitForEvent(is('bot.said', (e) => e.text === 'Thanks for calling Acme.'), WAIT);
    expect(greeting.callId).toBe(callId);
    // Real speech reached the caller before the greeting was reported as said.
    expect(c.rxVoicedFrames).toBeGreaterThan(25); // > 0.5 s of non-silent audio
    await c.waitForEvent(is('bot.listening'), WAIT);
    c.pressDtmf('1');
    expect(await c.ended).toBe('transferred');
    expect(c.transfers).toEqual(['+15550100']);
    await c.closed; // the line closes the socket after call.ended
    const mine = events.filter((e) => e.callId === callId);
    expect(mine.map((e) => e.type)).toContain('dtmf');
    expect(mine.find(is('dtmf'))!.digits).toBe('1');
    expect(mine.filter(is('flow.step')).map((e) => e.step)).toEqual(expect.arrayContaining(['greet', 'menu', 'sales', 'to_desk']));
    expect(mine.find(is('call.ended'))!.reason).toBe('transferred');
    // The page saw the same events (live view): the app forwards them to the line.
    expect(c.events.map((e) => e.type)).toEqual(mine.map((e) => e.type));
  });

  it('typed text reaches the mock STT as speech; caller hang-up ends the call', async (t) => {
    const { expect } = t;
    const { line } = await shipped(t);
    const c = dial(t, line);
    await c.answered;
    await c.waitForEvent(is('bot.listening'), WAIT);
    c.say('support');
    const heard = await c.waitForEvent(is('caller.said', (e) => e.final), WAIT);
    expect(heard.text).toBe('support');
    expect(c.messages).toContainEqual(expect.objectContaining({ type: 'saying', text: 'support' }));
    await c.waitForEvent(is('bot.said', (e) => e.text === 'Support here. How can I help?'), WAIT);
    await c.waitForEvent(is('turn.metrics'), WAIT);
    c.hangup();
    expect(await c.ended).toBe('caller-hangup');
    const ended = await c.waitForEvent(is('call.ended'), WAIT);
    expect(ended.reason).toBe('caller-hangup');
  });

  it('two clients are two independent concurrent calls', async (t) => {
    const { expect } = t;
    const { app, line } = await shipped(t);
    const a = dial(t, line, { from: 'a' });
    const b = dial(t, line, { from: 'b', sampleRate: 8000 });
    const [ia, ib] = await Promise.all([a.ringing, b.ringing]);
    expect(ia).not.toBe(ib);
    await Promise.all([a.waitForEvent(is('bot.listening'), WAIT), b.waitForEvent(is('bot.listening'), WAIT)]);
    expect(app.activeCalls).toBe(2);
    a.pressDtmf('1');
    expect(await a.ended).toBe('transferred');
    // b's call is untouched and still listening.
    expect(b.events.some((e) => e.type === 'call.ended')).toBe(false);
    expect(b.events.every((e) => e.callId === ib)).toBe(true);
    expect(b.rxVoicedFrames).toBeGreaterThan(0);
    b.hangup();
    expect(await b.ended).toBe('caller-hangup');
  });

  it('stopping the bot ends active calls with reason shutdown and frees the port', async (t) => {
    const { expect } = t;
    const { app, line } = await shipped(t);
    const url = line.url!;
    const c = dial(t, line);
    await c.answered;
    await app.stop();
    expect(await c.ended).toBe('shutdown');
    await c.closed;
    expect(await fetch(url).then(() => 'up', () => 'down')).toBe('down');
  });
});

describe.concurrent('local softphone line: server', { timeout: 120_000 }, () => {
  async function line(t: Cleanup, opts: ConstructorParameters<typeof LocalTelephony>[0] = {}): Promise<{ tel: LocalTelephony; offered: string[] }> {
    const tel = new LocalTelephony({ host: '127.0.0.1', port: 0, ...opts });
    const offered: string[] = [];
    await tel.listen({ onIncomingCall: (c) => (offered.push(c.info.id), void c.answer()) });
    t.onTestFinished(() => tel.stop());
    return { tel, offered };
  }

  it('serves the page, its script and worklet, and nothing else', async (t) => {
    const { expect } = t;
    const { tel } = await line(t);
    const page = await fetch(tel.url!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('softphone.js');
    for (const p of ['softphone.js', 'worklet.js', 'softphone.css']) expect((await fetch(tel.url + p)).status).toBe(200);
    expect((await fetch(tel.url + 'worklet.js').then((r) => r.text()))).toContain("registerProcessor('softphone'");
    for (const p of ['package.json', '..%2Fpackage.json', 'static/index.html', 'ws']) expect((await fetch(tel.url + p)).status).toBe(404);
    expect((await fetch(tel.url!, { method: 'POST' })).status).toBe(405);
  });

  it('accepts its own page and origin-less clients; refuses other sites and foreign Host names', async (t) => {
    const { expect } = t;
    const { tel } = await line(t);
    const ws = tel.wsUrl!;
    const self = new URL(tel.url!).origin;
    const host = new URL(tel.url!).host;
    expect(await tryUpgrade(ws, {})).toBe('open');
    expect(await tryUpgrade(ws, { Origin: self })).toBe('open');
    expect(await tryUpgrade(ws, { Origin: 'http://evil.example' })).toBe(403);
    expect(await tryUpgrade(ws, { Origin: `http://localhost:${new URL(tel.url!).port}` })).toBe(403); // another origin than the page's
    expect(await tryUpgrade(ws, { Host: 'rebind.example:80' })).toBe(403);
    expect(await tryUpgrade(ws.replace('/ws', '/other'), {})).toBe(403);
    expect(host).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('allowedOrigins admits a named extra origin', async (t) => {
    const { expect } = t;
    const { tel } = await line(t, { allowedOrigins: ['http://dev.localhost:5173'] });
    expect(await tryUpgrade(tel.wsUrl!, { Origin: 'http://dev.localhost:5173' })).toBe('open');
    expect(await tryUpgrade(tel.wsUrl!, { Origin: 'http://dev.localhost:5174' })).toBe(403);
  });

  it('negotiates the rate in hello: an unsupported rate is a coded protocol error', async (t) => {
    const { expect } = t;
    const { tel, offered } = await line(t);
    const c = dial(t, tel, { sampleRate: 44100 });
    await c.closed;
    const err = c.messages.find((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error');
    expect(err?.code).toBe('VB_ERR_LOCAL_PROTOCOL');
    expect(err?.message).toContain('44100');
    expect(offered).toEqual([]);
    const ok = dial(t, tel, { sampleRate: 24000 });
    await ok.answered;
    expect(ok.messages[0]).toMatchObject({ type: 'ringing', sampleRate: 24000, frameMs: 20 });
    expect(tel.calls.get(ok.callId)!.inputRate).toBe(24000);
  });

  it('a message before hello, or bad DTMF, is refused with VB_ERR_LOCAL_PROTOCOL', async (t) => {
    const { expect } = t;
    const { tel } = await line(t);
    const raw = new WebSocket(tel.wsUrl!);
    t.onTestFinished(() => raw.terminate());
    const got: string[] = [];
    raw.on('message', (d) => got.push(String(d)));
    await new Promise((r) => raw.once('open', r));
    raw.send(JSON.stringify({ type: 'dtmf', digits: '1' }));
    await new Promise((r) => raw.once('close', r));
    expect(JSON.parse(got[0])).toMatchObject({ type: 'error', code: 'VB_ERR_LOCAL_PROTOCOL' });

    const c = dial(t, tel);
    await c.answered;
    const ws = (c as unknown as { ws: WebSocket }).ws;
    ws.send(JSON.stringify({ type: 'dtmf', digits: '1; rm -rf' }));
    expect(await c.ended).toBe('error');
  });

  it('typed text is paced as 20 ms caller frames that decode to the text', async (t) => {
    const { expect } = t;
    const { tel } = await line(t);
    const c = dial(t, tel);
    await c.answered;
    const leg = tel.calls.get(c.callId)!;
    const { MockSpeechDecoder } = await import('../../plugins/mock/mock-speech.js');
    const d = new MockSpeechDecoder(16000);
    // Every caller frame the line delivers goes to the decoder as it arrives; done once it decodes an utterance.
    const sizes = new Set<number>();
    const heard = new Promise<string[]>((resolve) =>
      leg.media.setReceiver((f) => {
        sizes.add(f.samples.length);
        d.push(f.samples.slice());
        const done = d.take();
        if (done.length) resolve(done);
      }),
    );
    c.say('hi there');
    expect(await heard).toEqual(['hi there']);
    expect([...sizes]).toEqual([320]); // every frame 20 ms at 16 kHz
    const saying = await until(() => c.messages.find((x): x is Extract<ServerMessage, { type: 'saying' }> => x.type === 'saying'), 'the saying message', WAIT);
    expect(saying.ms).toBeGreaterThan(1000);
    await leg.hangup();
    expect(await c.ended).toBe('bot-hangup');
  });

  it('a port in use is VB_ERR_LOCAL_LISTEN', async (t) => {
    const { expect } = t;
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    t.onTestFinished(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    const tel = new LocalTelephony({ host: '127.0.0.1', port });
    const err = await tel.listen({ onIncomingCall: () => {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VoicebotError);
    expect((err as VoicebotError).code).toBe('VB_ERR_LOCAL_LISTEN');
    expect((err as VoicebotError).message).toContain(String(port));
    await tel.stop();
  });

  it('placeCall() dials its own line over the WebSocket', async (t) => {
    const { expect } = t;
    const { tel, offered } = await line(t);
    const side = tel.placeCall({ from: 'self' });
    await side.answered;
    expect(offered).toEqual([side.callId]);
    expect(tel.calls.get(side.callId)!.info.from).toBe('self');
    side.hangup();
    expect(await side.ended).toBe('caller-hangup');
  });
});
