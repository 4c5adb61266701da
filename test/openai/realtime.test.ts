/**
 * openai-realtime over a real WebSocket to the local fake: what goes on the
 * wire, and every fault ending as one coded error (never a hang or a crash).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { VoicebotError } from '../../core/errors/index.js';
import { realClock, type Clock } from '../../core/time/clock.js';
import { ProviderError } from '../../core/plugins/errors.js';
import type { SttStream, Transcript } from '../../core/plugins/stt.js';
import { encodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { OpenAiRealtimeStt, openaiRealtimeSttPlugin, realtimeUrl, type OpenAiRealtimeSttOptions } from '../../plugins/openai/realtime-stt.js';
import { FakeRealtime, startFakeRealtime } from '../fakes/openai/realtime.js';

let fake: FakeRealtime;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  fake = await startFakeRealtime();
});
afterAll(async () => {
  await fake.close();
  process.off('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  await until(() => fake.open === 0, 2000);
  expect(fake.open).toBe(0);
  fake.reset();
  expect(unhandled).toEqual([]);
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

function open(opts: OpenAiRealtimeSttOptions = {}, rate = 24000, clock?: Clock) {
  const stt = new OpenAiRealtimeStt({ apiKey: fake.apiKey, baseURL: fake.baseURL, ...opts }, clock ? { clock } : {});
  const got: Transcript[] = [];
  const errors: ProviderError[] = [];
  const s: SttStream = stt.stream({ sampleRate: rate, language: 'en-US', onTranscript: (t) => got.push(t), onError: (e) => errors.push(e as ProviderError) });
  const say = (text: string): void => {
    const audio = encodeMockSpeech(text, rate);
    const f = rate / 50;
    for (let i = 0; i + f <= audio.length; i += f) s.push({ samples: audio.subarray(i, i + f), sampleRate: rate, timestampMs: 0 });
  };
  return { s, got, errors, say, stt };
}

describe('openai-realtime: the wire', () => {
  it('opens ?intent=transcription with the key, sends one GA session.update (pcm 24 kHz, no server turn detection), appends in 100 ms pieces, commits per utterance', async () => {
    const { s, got, errors, say, stt } = open({ model: 'gpt-4o-transcribe', prompt: 'Acme' });
    const metrics: string[] = [];
    stt.setMetricSink((m) => metrics.push(m.name));
    say('book a table');
    s.endUtterance();
    await until(() => got.some((t) => t.final));
    s.close();
    expect(errors).toEqual([]);
    expect(metrics).toEqual(['firstPartial', 'final']);
    const [sess] = fake.sessions;
    expect(sess.url).toBe('/v1/realtime?intent=transcription');
    expect(sess.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(sess.dialect).toBe('ga');
    expect(sess.events[0].raw).toEqual({
      type: 'session.update',
      session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, transcription: { model: 'gpt-4o-transcribe', language: 'en', prompt: 'Acme' }, turn_detection: null } } },
    });
    const appends = sess.events.filter((e) => e.type === 'input_audio_buffer.append');
    // 100 ms of 24 kHz PCM16 is 4800 bytes; the last piece is the rest.
    expect(appends.slice(0, -1).every((e) => e.bytes === 4800)).toBe(true);
    expect(sess.events.at(-1)!.type).toBe('input_audio_buffer.commit');
    expect(sess.heard).toEqual(['book a table']);
    // Interim text grows word by word before the final.
    expect(got.map((t) => [t.text, t.final])).toEqual([
      ['book', false],
      ['book a', false],
      ['book a table', false],
      ['book a table', true],
    ]);
  });

  it('sends μ-law at 8 kHz as audio/pcmu (beta: g711_ulaw) with no resampling', async () => {
    for (const dialect of ['ga', 'beta'] as const) {
      const { s, got, say } = open({ dialect }, 8000);
      say('yes');
      s.endUtterance();
      await until(() => got.some((t) => t.final));
      s.close();
      const sess = fake.sessions.at(-1)!;
      expect(sess.format).toBe('pcmu');
      expect(sess.heard).toEqual(['yes']);
      // One byte per 8 kHz sample: what was said, uncompressed and not resampled (the first piece holds what came while connecting).
      const bytes = sess.events.filter((e) => e.type === 'input_audio_buffer.append').reduce((a, e) => a + e.bytes!, 0);
      expect(bytes).toBe(Math.floor(encodeMockSpeech('yes', 8000).length / 160) * 160);
    }
    expect(fake.sessions.map((x) => x.dialect)).toEqual(['ga', 'beta']);
    expect(fake.sessions[1].headers['openai-beta']).toBe('realtime=v1');
    expect(fake.sessions[1].events[0].raw).toMatchObject({ type: 'transcription_session.update', session: { input_audio_format: 'g711_ulaw', turn_detection: null } });
  });

  it('declares the rates its format allows, and builds ws URLs from http and ws base URLs', () => {
    expect(new OpenAiRealtimeStt({ apiKey: 'k' }).capabilities).toEqual({ streaming: true, interimResults: true, sampleRates: [8000, 24000] });
    expect(new OpenAiRealtimeStt({ apiKey: 'k', format: 'pcm' }).capabilities.sampleRates).toEqual([24000]);
    expect(realtimeUrl('https://api.openai.com/v1/')).toBe('wss://api.openai.com/v1/realtime?intent=transcription');
    expect(realtimeUrl('ws://127.0.0.1:9/v1')).toBe('ws://127.0.0.1:9/v1/realtime?intent=transcription');
  });

  it('a missing key is a config error at validate, not a failed call', () => {
    const errs = openaiRealtimeSttPlugin.checkOptions!({}, {});
    expect(errs.map((e) => e.code)).toEqual(['VB_ERR_OPENAI_API_KEY']);
    expect(() => new OpenAiRealtimeStt({ apiKey: undefined }, undefined)).toThrow(VoicebotError);
  });

  it('reopens a socket the server closed while idle, at the next utterance', async () => {
    const { s, got, errors, say } = open();
    say('one');
    s.endUtterance();
    await until(() => got.filter((t) => t.final).length === 1);
    // The server ends the idle session (e.g. its time limit).
    for (const c of (fake as unknown as { wss: { clients: Set<{ close(): void }> } }).wss.clients) c.close();
    await until(() => fake.open === 0);
    say('two');
    s.endUtterance();
    await until(() => got.filter((t) => t.final).length === 2 || errors.length > 0);
    s.close();
    expect(errors).toEqual([]);
    expect(got.filter((t) => t.final).map((t) => t.text)).toEqual(['one', 'two']);
    expect(fake.sessions).toHaveLength(2);
  });
});

describe('openai-realtime: faults end as one coded ProviderError', () => {
  const cases: [string, () => void, string, boolean][] = [
    ['the socket drops mid-transcript', () => fake.script({ fault: 'drop' }), 'VB_ERR_OPENAI_CONNECTION', true],
    ['an error event', () => fake.script({ fault: 'error' }), 'VB_ERR_OPENAI_SERVER', true],
    ['a transcription.failed event', () => fake.script({ fault: 'failed' }), 'VB_ERR_OPENAI_SERVER', true],
    ['malformed JSON', () => fake.script({ fault: 'malformed' }), 'VB_ERR_OPENAI_PROTOCOL', true],
  ];
  for (const [what, arrange, code, retryable] of cases) {
    it(`${what} → ${code}`, async () => {
      arrange();
      const { s, got, errors, say } = open();
      say('hello there');
      s.endUtterance();
      await until(() => errors.length > 0);
      await new Promise((r) => setTimeout(r, 30));
      s.close();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(ProviderError);
      expect(errors[0].code).toBe(code);
      expect(errors[0].retryable).toBe(retryable);
      expect(got.some((t) => t.final)).toBe(false);
      expect(errors[0].message).not.toMatch(/\n\s+at /);
    });
  }

  it('a stalled transcript → VB_ERR_OPENAI_TIMEOUT after timeoutMs', async () => {
    fake.script({ fault: 'stall' });
    // The wall clock, watched: which timers fired, and how many errors there were when each fired.
    // (timeoutMs also bounds the WebSocket handshake: 800 ms leaves a loaded machine room to connect.)
    const fired: { ms: number; errorsBefore: number }[] = [];
    const watched: Clock = {
      ...realClock,
      setTimeout: (fn, ms) =>
        realClock.setTimeout(() => {
          fired.push({ ms, errorsBefore: errors.length });
          fn();
        }, ms),
    };
    const { s, errors, say } = open({ timeoutMs: 800 }, 24000, watched);
    say('hello there');
    s.endUtterance();
    await until(() => errors.length > 0);
    s.close();
    expect(errors.map((e) => e.code)).toEqual(['VB_ERR_OPENAI_TIMEOUT']);
    // The error came from the timeoutMs timer armed at the commit, when it fired, not before.
    expect(fired.filter((f) => f.ms === 800)).toEqual([{ ms: 800, errorsBefore: 0 }]);
    expect(errors[0].message).toContain('800 ms');
  });

  it('a wrong key → VB_ERR_OPENAI_AUTH (HTTP 401 on the upgrade), not retryable', async () => {
    const { s, errors, say } = open({ apiKey: 'sk-wrong' });
    say('hello');
    s.endUtterance();
    await until(() => errors.length > 0);
    s.close();
    expect(errors.map((e) => [e.code, e.retryable, e.status])).toEqual([['VB_ERR_OPENAI_AUTH', false, 401]]);
    expect(errors[0].message).toContain('Incorrect API key provided.');
  });

  it('an invalid request (the server refuses the session) → VB_ERR_OPENAI_REQUEST, not retryable', async () => {
    const { s, errors } = open();
    // Reach the socket with an event the server rejects (as it would a bad option): invalid_request_error.
    await until(() => fake.sessions.length === 1 && fake.sessions[0].events.length > 0);
    const ws = (s as unknown as { ws: { send(x: string): void } }).ws;
    ws.send(JSON.stringify({ type: 'response.create' }));
    await until(() => errors.length > 0);
    s.close();
    expect(errors.map((e) => [e.code, e.retryable])).toEqual([['VB_ERR_OPENAI_REQUEST', false]]);
  });

  it('nothing listening → VB_ERR_OPENAI_CONNECTION', async () => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as { port: number }).port;
    srv.close();
    await once(srv, 'close');
    const { s, errors, say } = open({ baseURL: `http://127.0.0.1:${port}/v1` });
    say('hello');
    s.endUtterance();
    await until(() => errors.length > 0);
    s.close();
    expect(errors.map((e) => [e.code, e.retryable])).toEqual([['VB_ERR_OPENAI_CONNECTION', true]]);
  });
});
