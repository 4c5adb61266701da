import { describe, expect, it, type TestContext } from 'vitest';
import WebSocket from 'ws';
import { startCallsApi, type OutboundCallView } from '../../core/api/index.js';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { LocalTelephony, parseClientMessage } from '../../plugins/local/index.js';
import { MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import { outboundConfig, TOKEN } from '../outbound/api.test-config.js';
import { SHORT_REMINDER } from './helpers.js';

/**
 * Each test has its own app, API and line on free ports, so the tests run at once (they mostly wait for the call's
 * audio). What a test starts is stopped when it ends (onTestFinished runs in reverse: sockets, then API, then app).
 */
type T = Pick<TestContext, 'expect' | 'onTestFinished'>;

async function start(t: T, extra = '') {
  const text = outboundConfig().replace('telephony: { provider: mock }', 'telephony: { provider: local, port: 0 }').replace('outbound: { maxConcurrent: 2, perMinute: 3 }', `outbound: { maxConcurrent: 2, perMinute: 10${extra} }`);
  const { config, diagnostics } = await loadConfigText(text, '/tmp/local-out.yaml', { env: {}, registry: createDefaultRegistry() });
  t.expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const app = await VoicebotApp.create({ config: config!, logger: silentLogger() });
  t.onTestFinished(() => app.stop());
  await app.start();
  const api = (await startCallsApi(app))!;
  t.onTestFinished(() => api.close());
  const line = app.plugins.telephony as LocalTelephony;
  return { line, url: api.url };
}

async function post(url: string, body: unknown): Promise<{ status: number; json: OutboundCallView }> {
  const r = await fetch(url + '/v1/calls', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as OutboundCallView };
}

async function finalView(url: string, id: string): Promise<OutboundCallView> {
  const t0 = Date.now();
  for (;;) {
    const r = await fetch(`${url}/v1/calls/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const v = (await r.json()) as OutboundCallView;
    if (v.state === 'ended' || v.state === 'failed') return v;
    if (Date.now() - t0 > 45_000) throw new Error(`call ${id} stuck in ${JSON.stringify(v)}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

type Msg = { type: string; [k: string]: unknown };

/** A softphone page waiting for calls: the real socket, the page protocol, what it heard. */
async function standbyPage(t: T, wsUrl: string, answer: (incoming: Msg) => 'accept' | 'decline' | 'ignore') {
  const ws = new WebSocket(wsUrl);
  t.onTestFinished(() => ws.terminate());
  const messages: Msg[] = [];
  const decoder = new MockSpeechDecoder(16000);
  const words: string[] = [];
  let audioFrames = 0;
  let registered!: () => void;
  const standby = new Promise<void>((r) => (registered = r));
  const ended = new Promise<Msg>((resolve) => {
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const b = data as Buffer;
        const pcm = new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
        audioFrames++;
        decoder.push(pcm);
        words.push(...decoder.take());
        return;
      }
      const m = JSON.parse(String(data)) as Msg;
      if (m.type === 'standby') return registered();
      messages.push(m);
      if (m.type === 'incoming') {
        const a = answer(m);
        if (a !== 'ignore') ws.send(JSON.stringify({ type: a, callId: m.callId }));
      }
      if (m.type === 'ended') resolve(m);
    });
  });
  await new Promise<void>((r) => ws.once('open', () => r()));
  ws.send(JSON.stringify({ type: 'hello', version: 1, sampleRate: 16000, standby: true }));
  await standby;
  return { ws, messages, words, ended, frames: () => audioFrames };
}

describe.concurrent('local softphone: the bot calls the open page (dial)', () => {
  it('accept: the outbound flow runs, its greeting arrives as audio frames, the call ends normally', async (t) => {
    const { expect } = t;
    const { line, url } = await start(t);
    const page = await standbyPage(t, line.wsUrl!, () => 'accept');
    const r = await post(url, { to: '+15550100', vars: { name: 'Ann' } });
    expect(r.status).toBe(201);
    const end = await page.ended;
    const v = await finalView(url, r.json.id);
    expect(v.state).toBe('ended');
    expect(v.error).toBeUndefined();
    expect(end).toMatchObject({ type: 'ended', reason: 'bot-hangup' });
    const types = page.messages.map((m) => m.type);
    expect(types.slice(0, 3)).toEqual(['incoming', 'ringing', 'answered']);
    expect(page.messages[0]).toMatchObject({ to: '+15550100', from: 'voicebot', sampleRate: 16000, frameMs: 20 });
    expect(page.frames()).toBeGreaterThan(20);
    expect(page.words.join(' ')).toContain(SHORT_REMINDER);
    expect(page.words.join(' ')).toContain('Bye.');
  }, 60_000);

  it('decline: VB_ERR_OUTBOUND_DECLINED, and the flow never runs', async (t) => {
    const { expect } = t;
    const { line, url } = await start(t);
    const page = await standbyPage(t, line.wsUrl!, () => 'decline');
    const r = await post(url, { to: '+15550100' });
    const v = await finalView(url, r.json.id);
    expect(v.state).toBe('failed');
    expect(v.error).toMatchObject({ code: 'VB_ERR_OUTBOUND_DECLINED' });
    expect(page.messages.map((m) => m.type)).toEqual(['incoming']);
    expect(page.frames()).toBe(0);
  }, 60_000);

  it('no page waiting: VB_ERR_OUTBOUND_FAILED at once', async (t) => {
    const { expect } = t;
    const { url } = await start(t);
    const r = await post(url, { to: '+15550100' });
    const v = await finalView(url, r.json.id);
    expect(v.state).toBe('failed');
    expect(v.error).toMatchObject({ code: 'VB_ERR_OUTBOUND_FAILED' });
    expect(String((v.error as { message: string }).message)).toMatch(/no softphone page is waiting/);
  }, 60_000);

  it('ring timeout: the page is told the call was missed, VB_ERR_OUTBOUND_NO_ANSWER', async (t) => {
    const { expect } = t;
    const { line, url } = await start(t, ', ringTimeout: 300ms');
    const page = await standbyPage(t, line.wsUrl!, () => 'ignore');
    const r = await post(url, { to: '+15550100' });
    const v = await finalView(url, r.json.id);
    expect(v.state).toBe('failed');
    expect(v.error).toMatchObject({ code: 'VB_ERR_OUTBOUND_NO_ANSWER' });
    expect(page.messages.map((m) => m.type)).toEqual(['incoming', 'missed']);
    // The page stays on standby: the next call rings it again.
    page.messages.length = 0;
    const again = await post(url, { to: '+15550101' });
    await finalView(url, again.json.id);
    expect(page.messages.map((m) => m.type)).toEqual(['incoming', 'missed']);
  }, 60_000);
});

describe('page protocol: accept/decline parsing', () => {
  it('accepts a callId, refuses anything else with a reason', () => {
    expect(parseClientMessage('{"type":"accept","callId":"local-out-1"}')).toEqual({ ok: true, msg: { type: 'accept', callId: 'local-out-1' } });
    expect(parseClientMessage('{"type":"decline","callId":"x"}')).toEqual({ ok: true, msg: { type: 'decline', callId: 'x' } });
    expect(parseClientMessage('{"type":"accept"}')).toMatchObject({ ok: false, detail: expect.stringMatching(/accept.callId/) });
    expect(parseClientMessage('{"type":"decline","callId":7}')).toMatchObject({ ok: false });
    expect(parseClientMessage('{"type":"hello","version":1,"sampleRate":16000,"standby":"yes"}')).toMatchObject({ ok: false, detail: expect.stringMatching(/standby/) });
    expect(parseClientMessage('{"type":"hello","version":1,"sampleRate":16000,"standby":true}')).toEqual({ ok: true, msg: { type: 'hello', version: 1, sampleRate: 16000, standby: true } });
  });
});
