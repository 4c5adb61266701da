import { describe, it, type TestContext } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { MockSpeechDecoder, encodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { dominantHz, rmsOf } from '../ringcentral/helpers.js';
import { CALL_TEST_TIMEOUT } from './helpers.js';
import { startSlowServer } from './slow-server.js';

const config = (url: string, hold: string) => `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  tts: { provider: mock }
  llm:
    provider: mock
    script:
      - { when: "balance", reply: "Hm.", toolCall: { name: balance } }
      - { afterTool: true, reply: "Here it is." }
settings:
  timeouts: { endOfSpeech: 400ms }
${hold}
tools:
  balance: { description: The caller's balance, http: { method: GET, url: "${url}/balance" } }
flows:
  main:
    steps:
      chat:
        llm:
          system: "You tell balances."
          say: "Hello."
          tools: [balance]
          maxTurns: 1
          exits: [ { maxTurns: true, goto: bye } ]
      bye: { hangup: true }
`;

/**
 * A caller says "balance" after the greeting; the model says "Hm." and
 * calls a tool whose http server answers after `delayMs` (the hold starts
 * only once "Hm." has played, ≈0.5 s of mock speech, then the 300 ms
 * threshold: 3 s leaves ≈2 s of chime, and room for a loaded host). Short prompts: mock speech is
 * 120 ms a character, all played in real time. Frames the caller hears are
 * classed: the hold chime (C5/E5 dominant), other sound, silence. Wall
 * clock: the tool is a real socket, and the flow holds a virtual clock
 * while a loopback request is out, so hold audio needs real time.
 */
async function run(ctx: Pick<TestContext, 'onTestFinished' | 'expect'>, delayMs: number, hold: string) {
  const url = await startSlowServer(ctx, delayMs);
  const { config: c, diagnostics } = await loadConfigText(config(url, hold), '/tmp/hold-tool.yaml', { env: {}, registry: createDefaultRegistry() });
  ctx.expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const tel = new MockTelephony({ codec: 'pcmu' });
  const app = await VoicebotApp.create({ config: c!, logger: silentLogger(), overrides: { telephony: tel } });
  ctx.onTestFinished(() => app.stop());
  await app.start();
  const caller = tel.placeCall();
  const rate = caller.sampleRate;
  const classes: ('chime' | 'sound' | 'quiet')[] = [];
  const decoder = new MockSpeechDecoder(rate);
  const words: string[] = [];
  let spoke = false;
  caller.setReceiver((f) => {
    decoder.push(f.samples);
    words.push(...decoder.take());
    if (!spoke && words.join(' ').includes('Hello.')) {
      spoke = true;
      speak('balance');
    }
    if (rmsOf(f.samples) < 300) return classes.push('quiet');
    const hz = dominantHz(f.samples, f.sampleRate, 400, 800, 5);
    const chime = Math.abs(hz - 523) <= 15 || Math.abs(hz - 659) <= 15;
    classes.push(chime ? 'chime' : 'sound');
  });
  // The caller's speech, paced in real 20 ms frames, then silence so the turn ends.
  const speak = (text: string) => {
    const speech = encodeMockSpeech(text, rate);
    const n = (rate * 20) / 1000;
    let at = 0;
    const timer = setInterval(() => {
      const samples = new Int16Array(n);
      if (at < speech.length) samples.set(speech.subarray(at, at + n));
      at += n;
      caller.write({ samples, sampleRate: rate, timestampMs: ((at - n) / rate) * 1000 });
      if (at > speech.length + rate) clearInterval(timer);
    }, 20);
    void caller.ended.then(() => clearInterval(timer));
  };
  await caller.ended;
  return { classes, words };
}

describe.concurrent('hold audio while a tool of an llm step is slow (settings.hold)', { timeout: CALL_TEST_TIMEOUT }, () => {
  it('plays after the threshold inside the turn and stops before the bot speaks again', async ({ expect, onTestFinished }) => {
    const { classes, words } = await run({ onTestFinished, expect }, 3000, '  hold: { after: 300ms }');
    const heard = words.join(' ');
    expect(heard).toContain('Hm.');
    expect(heard).toContain('Here it is.');
    const firstChime = classes.indexOf('chime');
    const lastChime = classes.lastIndexOf('chime');
    expect(firstChime).toBeGreaterThan(0);
    expect(classes.filter((c) => c === 'chime').length).toBeGreaterThan(5);
    // The answer comes after the chime ended, never mixed into it.
    const answer = classes.indexOf('sound', lastChime);
    expect(answer).toBeGreaterThan(lastChime);
    expect(classes.slice(answer).includes('chime')).toBe(false);
  });

  it('is silent without settings.hold (the same slow tool, dead air)', async ({ expect, onTestFinished }) => {
    const { classes, words } = await run({ onTestFinished, expect }, 1500, '');
    expect(words.join(' ')).toContain('Here it is.');
    expect(classes.includes('chime')).toBe(false);
  });
});
