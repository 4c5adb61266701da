/**
 * Whole calls through the real app/engine/flow path (mock telephony, μ-law
 * 8 kHz) with stt on openai-realtime, pointed at the local fake by baseURL:
 * the caller's mock speech goes over the WebSocket as audio, the fake decodes
 * it, and the flow routes on the transcript.
 */
import { fileURLToPath } from 'node:url';
import { describe, it, type ExpectStatic } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import type { CallEvent } from '../../core/engine/events.js';
import type { CallerSide } from '../../core/plugins/telephony.js';
import { encodeMockSpeech, MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { FakeRealtime, startFakeRealtime } from '../fakes/openai/realtime.js';
import { startMockLineApp } from './helpers.js';

const CONFIG_FILE = fileURLToPath(new URL('./fixtures/voicebot.yaml', import.meta.url));
function config(stt: string): string {
  return `version: 1
plugins:
  telephony: { provider: mock }
  stt: ${stt}
  tts: { provider: mock }
settings:
  timeouts: { endOfSpeech: 300ms, noInput: 5s }
flows:
  main:
    on: { error: sorry }
    steps:
      greet: { say: "Hi." }
      menu:
        listen: { prompt: "Which department?", input: [speech] }
        routes:
          - { regex: "(?i)sales", goto: sales }
          - { regex: "(?i)support", goto: support }
        else: bye
      sales: { hangup: "Sales it is." }
      support: { hangup: "Support it is." }
      bye: { hangup: "Goodbye." }
      sorry: { hangup: "Sorry." }
`;
}

/**
 * The calls run side by side (each mostly waits on the 20 ms audio clock), so each test has its
 * own fake (port 0) and app. After the body: the app stops, and every call's socket was closed by
 * the plugin.
 */
async function withRig(
  expect: ExpectStatic,
  body: (r: { fake: FakeRealtime; startApp(stt: string): Promise<{ tel: MockTelephony; events: CallEvent[]; app: VoicebotApp }> }) => Promise<void>,
): Promise<void> {
  const fake = await startFakeRealtime();
  let app: VoicebotApp | undefined;
  const startApp = async (stt: string) => {
    const started = await startMockLineApp(expect, config(stt), CONFIG_FILE);
    app = started.app;
    return started;
  };
  try {
    await body({ fake, startApp });
    await app?.stop();
    // Every call's socket was closed by the plugin.
    for (let i = 0; i < 100 && fake.open > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fake.open).toBe(0);
  } finally {
    await app?.stop();
    await fake.close();
  }
}

function waitEvent(app: VoicebotApp, events: CallEvent[], pred: (e: CallEvent) => boolean): Promise<CallEvent> {
  return new Promise((resolve) => {
    const hit = events.find(pred);
    if (hit) return resolve(hit);
    const off = app.onEvent((e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });
}

/** Mock speech then 1 s of silence, as 20 ms frames, yielding to the event loop between frames (the socket needs turns). */
async function speak(caller: CallerSide, text: string): Promise<void> {
  const rate = caller.sampleRate;
  const speech = encodeMockSpeech(text, rate);
  const audio = new Int16Array(speech.length + rate);
  audio.set(speech);
  const n = rate / 50;
  for (let i = 0; i + n <= audio.length; i += n) {
    caller.write({ samples: audio.subarray(i, i + n), sampleRate: rate, timestampMs: (i / rate) * 1000 });
    await new Promise((r) => setImmediate(r));
  }
}

function ears(caller: CallerSide): () => string[] {
  const d = new MockSpeechDecoder(caller.sampleRate);
  const got: string[] = [];
  caller.setReceiver((f) => {
    d.push(f.samples);
    got.push(...d.take());
  });
  return () => got;
}

async function call({ tel, events, app }: { tel: MockTelephony; events: CallEvent[]; app: VoicebotApp }, text: string) {
  const caller = tel.placeCall({ to: '+15550123' });
  const heard = ears(caller);
  await waitEvent(app, events, (e) => e.callId === caller.callId && e.type === 'bot.listening' && e.step === 'menu');
  await speak(caller, text);
  const ended = await caller.ended;
  return { ended, heard: heard(), mine: events.filter((e) => e.callId === caller.callId) };
}

describe.concurrent('a call with stt on openai-realtime (fake server)', () => {
  it('routes on what the caller said: 8 kHz μ-law straight to audio/pcmu, no resampling', ({ expect }) =>
    withRig(expect, async ({ fake, startApp }) => {
      const rig = await startApp(`{ provider: openai-realtime, baseURL: "${fake.baseURL}", apiKey: ${fake.apiKey} }`);
      const r = await call(rig, 'sales please');
      expect(r.ended).toBe('bot-hangup');
      expect(r.heard).toEqual(['Hi.', 'Which department?', 'Sales it is.']);
      expect(r.mine.filter((e) => e.type === 'caller.said').map((e) => (e as { text: string }).text)).toEqual(['sales please']);
      expect(fake.sessions).toHaveLength(1);
      expect(fake.sessions[0].format).toBe('pcmu');
      expect(fake.sessions[0].heard).toEqual(['sales please']);
    }), 120_000);

  it('with format pcm the engine resamples the line to 24 kHz; a scripted transcript takes the other route', ({ expect }) =>
    withRig(expect, async ({ fake, startApp }) => {
      const rig = await startApp(`{ provider: openai-realtime, baseURL: "${fake.baseURL}", apiKey: ${fake.apiKey}, format: pcm, dialect: beta }`);
      fake.script({ text: 'I need support with my order.' });
      const r = await call(rig, 'whatever');
      expect(r.ended).toBe('bot-hangup');
      expect(r.heard).toEqual(['Hi.', 'Which department?', 'Support it is.']);
      expect(fake.sessions[0].format).toBe('pcm16');
      expect(fake.sessions[0].dialect).toBe('beta');
    }), 120_000);

  it('a refused key fails the turn through the flow error route, and the call still ends cleanly', ({ expect }) =>
    withRig(expect, async ({ fake, startApp }) => {
      const rig = await startApp(`{ provider: openai-realtime, baseURL: "${fake.baseURL}", apiKey: sk-wrong }`);
      const r = await call(rig, 'sales please');
      expect(r.ended).toBe('bot-hangup');
      expect(r.heard.at(-1)).toBe('Sorry.');
      expect(JSON.stringify(r.mine)).toContain('VB_ERR_OPENAI_AUTH');
    }), 120_000);
});
