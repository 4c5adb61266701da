import { describe, it, type TestContext } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { dominantHz, rmsOf } from '../ringcentral/helpers.js';
import { CALL_TEST_TIMEOUT } from './helpers.js';
import { startSlowServer } from './slow-server.js';

const config = (url: string, after: string) => `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  hold: { after: ${after} }
flows:
  main:
    steps:
      look: { http: { url: "${url}/balance" }, save: acct }
      tell: { say: "Got {{acct.balance}}." }
      bye: { hangup: true }
`;

/**
 * Frame classes in arrival order: the hold chime (its C5/E5 notes dominant), other sound, silence.
 * Wall clock: the http step's server is a real socket, and the flow holds a virtual clock while a
 * loopback request is out, so hold audio needs real time. One app and server per test.
 */
async function run(ctx: Pick<TestContext, 'onTestFinished' | 'expect'>, delayMs: number, after: string) {
  const url = await startSlowServer(ctx, delayMs);
  const { config: c, diagnostics } = await loadConfigText(config(url, after), '/tmp/hold.yaml', { env: {}, registry: createDefaultRegistry() });
  ctx.expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const tel = new MockTelephony({ codec: 'pcmu' });
  const app = await VoicebotApp.create({ config: c!, logger: silentLogger(), overrides: { telephony: tel } });
  ctx.onTestFinished(() => app.stop());
  const events: CallEvent[] = [];
  app.onEvent((e) => events.push(e));
  await app.start();
  const caller = tel.placeCall();
  const t0 = performance.now();
  let firstChimeMs: number | undefined;
  const classes: ('chime' | 'sound' | 'quiet')[] = [];
  const decoder = new MockSpeechDecoder(caller.sampleRate);
  const words: string[] = [];
  caller.setReceiver((f) => {
    decoder.push(f.samples);
    words.push(...decoder.take());
    if (rmsOf(f.samples) < 300) return classes.push('quiet');
    const hz = dominantHz(f.samples, f.sampleRate, 400, 800, 5);
    const chime = Math.abs(hz - 523) <= 15 || Math.abs(hz - 659) <= 15;
    if (chime) firstChimeMs ??= performance.now() - t0;
    classes.push(chime ? 'chime' : 'sound');
  });
  await caller.ended;
  return { classes, words, events, firstChimeMs };
}

describe.concurrent('hold audio while an http step is slow (settings.hold)', { timeout: CALL_TEST_TIMEOUT }, () => {
  it('plays after the threshold and stops before the bot speaks', async ({ expect, onTestFinished }) => {
    const { classes, words, firstChimeMs } = await run({ onTestFinished, expect }, 1500, '300ms');
    const firstChime = classes.indexOf('chime');
    const lastChime = classes.lastIndexOf('chime');
    const firstSpeech = classes.indexOf('sound', lastChime);
    expect(firstChime).toBeGreaterThanOrEqual(0);
    expect(classes.filter((c) => c === 'chime').length).toBeGreaterThan(5);
    // Not at once: the first 300 ms of the step stay silent.
    expect(firstChimeMs).toBeGreaterThanOrEqual(290);
    // The bot's answer comes after the chime ended, never mixed into it.
    expect(firstSpeech).toBeGreaterThan(lastChime);
    expect(classes.slice(firstSpeech).includes('chime')).toBe(false);
    expect(words.join(' ')).toContain('Got 42.');
  });

  it('stays silent when the step is quicker than the threshold (a 50 ms answer, a 10 s threshold: room for a loaded host)', async ({ expect, onTestFinished }) => {
    const { classes, words } = await run({ onTestFinished, expect }, 50, '10s');
    expect(classes.includes('chime')).toBe(false);
    expect(words.join(' ')).toContain('Got 42.');
  });
});
