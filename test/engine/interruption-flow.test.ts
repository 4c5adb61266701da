/**
 * A prompt cut off before the caller said anything is not lost: the listen
 * step goes on with it. Real engine, real flow runner, config from YAML,
 * mock line and mock speech, on the virtual clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { formatDiagnostic, loadConfigText } from '../../core/config/load.js';
import type { VoicebotConfig } from '../../core/config/types.js';
import { runFlow } from '../../core/flow/runner.js';
import { unheardRest } from '../../core/flow/steps/listen.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { mockSpeechDurationMs } from '../../plugins/mock/mock-speech.js';
import { Rig, ofType } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'vb-interruption-flow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const MENU = 'Welcome to Acme. Say sales or support.';

async function config(interruption: string): Promise<VoicebotConfig> {
  const yaml = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  timeouts: { noInput: 5s, endOfSpeech: 400ms, maxCall: 2m }
  turn:
    interruption: ${interruption}
flows:
  main:
    steps:
      menu:
        listen:
          prompt: "${MENU}"
          routes: [ { equals: sales, goto: sales } ]
          else: bye
      sales: { say: "Sales." }
      bye: { hangup: }
`;
  const { config, diagnostics } = await loadConfigText(yaml, join(dir, 'voicebot.yaml'), { env: {}, registry: createDefaultRegistry() });
  if (!config || diagnostics.length) throw new Error(diagnostics.map((d) => formatDiagnostic(d, dir)).join('\n'));
  return config;
}

describe('settings.turn.interruption and a step\'s bargeIn rule in voicebot.yaml', () => {
  it('takes durations and the step object; a bad mode is a config error at its line', async () => {
    const ok = await loadConfigText(
      `version: 1
plugins: { telephony: { provider: mock }, stt: { provider: mock }, tts: { provider: mock } }
settings:
  turn: { interruption: { minWords: 2, backchannels: [mhm, "I see"], falseInterruption: 1.5s, mode: duck } }
flows:
  main:
    steps:
      ask: { listen: { prompt: "Is that right?", bargeIn: { backchannels: true } } }
      tell: { say: "Fine.", bargeIn: false }
`,
      join(dir, 'voicebot.yaml'),
      { env: {}, registry: createDefaultRegistry() },
    );
    expect(ok.diagnostics).toEqual([]);
    expect(ok.config?.settings.turn?.interruption).toEqual({ minWords: 2, backchannels: ['mhm', 'I see'], falseInterruptionMs: 1500, mode: 'duck' });
    const ask = ok.config?.flows.main.steps.ask;
    expect(ask?.kind === 'listen' && ask.bargeIn).toEqual({ backchannels: true });

    const bad = await loadConfigText(
      `version: 1
plugins: { telephony: { provider: mock }, tts: { provider: mock } }
settings:
  turn:
    interruption: { mode: loud }
flows: { main: { steps: { a: { say: "Hi." } } } }
`,
      join(dir, 'voicebot.yaml'),
      { env: {}, registry: createDefaultRegistry() },
    );
    expect(bad.config).toBeUndefined();
    expect(bad.diagnostics.map((d) => [d.code, d.line])).toEqual([['VB_ERR_CONFIG_SCHEMA', 5]]);
  });
});

describe('a cut prompt is never lost silently', () => {
  it('says again from the first sentence not heard whole', () => {
    expect(unheardRest(MENU, 'Welcome to')).toBe(MENU);
    expect(unheardRest(MENU, 'Welcome to Acme. Say')).toBe('Say sales or support.');
    expect(unheardRest(MENU, MENU)).toBe('');
  });

  it('the listen step goes on with a prompt that noise cut off (minWords 0: the VAD alone cuts), and bot.interrupted says how far it got', async () => {
    const cfg = await config('{ minWords: 0 }');
    expect(cfg.settings.turn?.interruption).toEqual({ minWords: 0, backchannels: ['mhm', 'uh-huh', 'yeah', 'okay', 'right'], falseInterruptionMs: 1000, mode: 'pause' });
    rig = await new Rig({ settings: cfg.settings }).init();
    const { caller, session, events } = await rig.call();
    const running = runFlow(session, { config: cfg, flow: 'main', logger: silentLogger(), clock: rig.time });
    await caller.afterLoudFrames(30);
    await caller.noise(400);
    // The menu again, from the sentence that was cut, then the caller answers it.
    await caller.waitHeard((h) => h.length >= 1);
    await new Promise<void>((resolve) => session.on((e) => e.type === 'bot.listening' && resolve()));
    await caller.say('sales');
    await running;
    const said = ofType(events, 'bot.said').map((e) => [e.text, e.interrupted]);
    expect(said[0][1]).toBe(true);
    expect(MENU.startsWith(String(said[0][0]))).toBe(true);
    expect(said.slice(1)).toEqual([
      [MENU, false],
      ['Sales.', false],
    ]);
    const [cut] = ofType(events, 'bot.interrupted');
    expect(cut.heard).toBe(said[0][0]);
    expect(cut.heardMs).toBeGreaterThan(0);
    // What the caller's ear decoded (mock TTS speaks each sentence on its own): the menu whole, then the answer to "sales".
    expect(caller.heard).toEqual(['Welcome to Acme.', 'Say sales or support.', 'Sales.']);
    // Not a retry after a 5 s no-input wait: the menu went on as soon as the cutting
    // utterance ended without words (the mock STT's 3 s wait for a final included).
    const listening = ofType(events, 'bot.listening');
    expect(listening).toHaveLength(2);
    expect(listening[1].t - cut.t).toBeLessThan(cfg.settings.timeouts.noInput + mockSpeechDurationMs('Welcome to Acme.') + mockSpeechDurationMs('Say sales or support.'));
    caller.stop();
  });
});
