import { afterEach, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { loadConfigText } from '../../core/config/load.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { encodeMockSpeech, MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import type { CallerSide } from '../../core/plugins/telephony.js';

const CONFIG = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  timeouts: { endOfSpeech: 300ms, noInput: 3s }
routes:
  - { to: "+15550123", flow: main }
flows:
  main:
    steps:
      greet: { say: "Hello." }
      ask:
        listen: { input: [speech, dtmf], numDigits: 1 }
        save: answer
        routes: [ { dtmf: "1", goto: one } ]
        else: echo
      echo: { say: "You said {{answer}}.", next: bye }
      one: { say: "One.", next: bye }
      bye: { hangup: "Bye." }
`;

async function makeApp(): Promise<{ app: VoicebotApp; tel: MockTelephony; events: CallEvent[] }> {
  const { config, diagnostics } = await loadConfigText(CONFIG, '/tmp/app.yaml', { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics).toEqual([]);
  const tel = new MockTelephony({ codec: 'pcmu' });
  const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
  const events: CallEvent[] = [];
  app.onEvent((e) => events.push(e));
  await app.start();
  return { app, tel, events };
}

/** Speaks `text` as paced 20 ms frames, then 1 s of silence. */
async function speak(caller: CallerSide, text: string): Promise<void> {
  const rate = caller.sampleRate;
  const speech = encodeMockSpeech(text, rate);
  const audio = new Int16Array(speech.length + rate);
  audio.set(speech);
  const n = rate / 50;
  for (let i = 0; i + n <= audio.length; i += n) {
    caller.write({ samples: audio.subarray(i, i + n), sampleRate: rate, timestampMs: (i / rate) * 1000 });
    await new Promise((r) => setTimeout(r, 20));
  }
}

function heard(caller: CallerSide): { text: () => string[] } {
  const d = new MockSpeechDecoder(caller.sampleRate);
  const got: string[] = [];
  caller.setReceiver((f) => {
    d.push(f.samples);
    got.push(...d.take());
  });
  return { text: () => got };
}

async function waitFor(pred: () => boolean, ms = 15000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

let current: VoicebotApp | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

describe('VoicebotApp (mock line, real engine, real audio frames)', () => {
  it('routes, answers once, runs the flow with speech, and tears the call down', async () => {
    const { app, tel, events } = await makeApp();
    current = app;
    const caller = tel.placeCall({ to: '+15550123' });
    const ears = heard(caller);
    await caller.answered;
    await waitFor(() => events.some((e) => e.type === 'flow.step' && e.step === 'ask'));
    await waitFor(() => ears.text().includes('Hello.'));
    await speak(caller, 'blue sky');
    expect(await caller.ended).toBe('bot-hangup');
    await waitFor(() => app.activeCalls === 0);
    expect(ears.text()).toEqual(['Hello.', 'You said blue sky.', 'Bye.']);
    expect(tel.answers).toBe(1);
    const said = events.filter((e) => e.type === 'caller.said' && e.final).map((e) => (e as { text: string }).text);
    expect(said).toEqual(['blue sky']);
    expect(events.map((e) => e.type)).toContain('turn.metrics');
    expect(events[events.length - 1]).toMatchObject({ type: 'call.ended', reason: 'bot-hangup' });
  });

  it('takes DTMF in a listen step', async () => {
    const { app, tel } = await makeApp();
    current = app;
    const caller = tel.placeCall({ to: '+15550123' });
    const ears = heard(caller);
    await waitFor(() => ears.text().includes('Hello.'));
    await new Promise((r) => setTimeout(r, 100));
    caller.pressDtmf('1');
    await caller.ended;
    expect(ears.text()).toEqual(['Hello.', 'One.', 'Bye.']);
  });

  it('rejects a call no route accepts', async () => {
    const { app, tel } = await makeApp();
    current = app;
    const caller = tel.placeCall({ to: '+19999999999' });
    expect(await caller.ended).toBe('rejected');
    expect(tel.answers).toBe(0);
  });
});
