import { afterEach, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { dominantHz, rmsOf } from '../ringcentral/helpers.js';
import { useSlowServer } from './slow-server.js';

let app: VoicebotApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});
const slowServer = useSlowServer();

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
      tell: { say: "Your balance is {{acct.balance}}." }
      bye: { hangup: true }
`;

/** Frame classes in arrival order: the hold chime (its C5/E5 notes dominant), other sound, silence. */
async function run(url: string, after: string) {
  const { config: c, diagnostics } = await loadConfigText(config(url, after), '/tmp/hold.yaml', { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const tel = new MockTelephony({ codec: 'pcmu' });
  app = await VoicebotApp.create({ config: c!, logger: silentLogger(), overrides: { telephony: tel } });
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

describe('hold audio while an http step is slow (settings.hold)', () => {
  it('plays after the threshold and stops before the bot speaks', async () => {
    const url = await slowServer(1500);
    const { classes, words, firstChimeMs } = await run(url, '300ms');
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
    expect(words.join(' ')).toContain('Your balance is 42.');
  });

  it('stays silent when the step is quicker than the threshold', async () => {
    const url = await slowServer(50);
    const { classes, words } = await run(url, '1s');
    expect(classes.includes('chime')).toBe(false);
    expect(words.join(' ')).toContain('Your balance is 42.');
  });
});
