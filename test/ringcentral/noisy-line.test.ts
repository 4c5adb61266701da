/**
 * Noise on the caller's line must not cut the bot's greeting (issue #15,
 * first "Done when" line). Real path: the RingCentral loopback fake rings
 * `voicebot` (the ringcentral plugin, configured in YAML) over SIP/WSS, and
 * the fake caller streams RTP from the moment of answer — 4 s of white noise,
 * of brown/street rumble, of 60 ms beeps every 500 ms, or silence — then
 * presses 1 at 7 s. The bot's audio decoded at the caller before that DTMF is
 * what the caller heard. The VAD is the default one (the config names none):
 * `auto`, which is Silero here; skipped, with the reason, on an install
 * without Silero's optional packages.
 *
 * All calls run at the same time against one fake and one app, so the file
 * takes about as long as one call (≈10 s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeNoise, NOISE_LEVELS_DBFS, type NoiseKind } from '../../bench/vad/labelled-set.js';
import { VoicebotApp } from '../../core/app/app.js';
import type { AudioFrame } from '../../core/audio/frame.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { startFakeRingCentral, type FakeCall, type FakeRingCentral } from '../fakes/ringcentral/index.js';
import { locateSilero } from '../../plugins/silero/index.js';
import { rmsOf } from './helpers.js';

function sileroMissing(): string | undefined {
  try {
    locateSilero();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
const missing = sileroMissing();

const GREETING = 'Thanks for calling Acme support.';
const PROMPT = 'Press 1.';
const NOISE_MS = 4000;
const DTMF_AT_MS = 7000;
/**
 * Under heavy CPU load (2 cores shared with other work) the bot's first audio
 * can reach the caller seconds after answer (media setup in pure-JS
 * DTLS/SRTP) and its audio can come slower than real time (5 s of it over
 * 13 s of wall time, measured with ~20 processes on 2 cores). The test is
 * about noise cutting the greeting, not about a slow machine, so the noise
 * runs until at least this much bot audio (media time: frames counted) has
 * reached the caller, and the caller presses 1 at 7 s or, if the bot is
 * still talking then, once the engine has played out both lines (greeting
 * and prompt: two bot.said) and the caller has heard nothing for QUIET_MS.
 * The bot sends RTP only while it speaks, so quiet is measured on arrivals.
 */
const SLOW_START_NOISE_MS = 2000;
const QUIET_MS = 1000;
const LATEST_DTMF_MS = 40_000;
/** Frames quieter than this (RMS) are not bot audio: codec noise, comfort silence. */
const HEARD_RMS = 300;

const config = (fake: FakeRingCentral, slots: string) => `version: 1
plugins:
  telephony:
    provider: ringcentral
    server: "${fake.restUrl}"
    clientId: ${fake.clientId}
    clientSecret: ${fake.clientSecret}
    jwt: ${fake.jwt}
    tlsRejectUnauthorized: false
    loopbackIce: true
  tts: { provider: mock }
${slots}settings:
  timeouts: { noInput: 20s }
flows:
  main:
    steps:
      greet: { say: "${GREETING}" }
      menu:
        listen:
          prompt: "${PROMPT}"
          input: [dtmf]
          numDigits: 1
        routes: [ { dtmf: "1", goto: bye } ]
        else: bye
      bye: { hangup: "Bye." }
`;

type LineKind = Exclude<NoiseKind, 'tone' | 'clicks'>;

interface Heard {
  /** Seconds of bot audio that reached the caller before the DTMF. */
  seconds: number;
  /** Seconds of it that had arrived 7 s after answer (the same figure when the machine keeps up). */
  secondsBy7s: number;
  /** ms after answer at which the first bot audio reached the caller. */
  firstMs: number | undefined;
  /** ms after answer at which the caller pressed 1. */
  dtmfMs: number;
  events: CallEvent[];
}

/** 20 ms frames of bot audio: runs of frames above HEARD_RMS, gaps up to 100 ms inside a run counted with it. */
function heardSeconds(frames: readonly AudioFrame[]): number {
  let ms = 0;
  let run = 0;
  let gap = 0;
  for (const f of frames) {
    const d = (f.samples.length * 1000) / f.sampleRate;
    if (rmsOf(f.samples) > HEARD_RMS) {
      run += gap + d;
      gap = 0;
    } else if (run > 0) {
      gap += d;
      if (gap > 100) {
        ms += run;
        run = 0;
        gap = 0;
      }
    }
  }
  return (ms + run) / 1000;
}

/**
 * The caller's line from answer, paced on a drift-free 20 ms clock: `kind`
 * at its line level while `noisy()` holds, then silence, until `done()`.
 */
function streamLine(call: FakeCall, kind: LineKind, noisy: (ms: number) => boolean, done: () => boolean): Promise<void> {
  const rate = call.audio.pcmRate;
  const n = (rate * 20) / 1000;
  const unit = makeNoise(kind, rate * 10, rate, 41);
  const level = kind === 'none' ? 0 : 32768 * 10 ** (NOISE_LEVELS_DBFS[kind] / 20);
  const frame = new Int16Array(n);
  const t0 = performance.now();
  let i = 0;
  return new Promise((resolve) => {
    const tick = () => {
      if (done() || call.endReason) return resolve();
      const on = noisy(i * 20);
      for (let k = 0; k < n; k++) frame[k] = on ? Math.max(-32768, Math.min(32767, Math.round(unit[(i * n + k) % unit.length]! * level))) : 0;
      call.write({ samples: frame, sampleRate: rate, timestampMs: i * 20 });
      i++;
      setTimeout(tick, Math.max(0, t0 + i * 20 - performance.now()));
    };
    tick();
  });
}

/**
 * One fake and one app per setup; its calls all run at once. `slots` adds
 * vad/stt lines to the config; `vad` is the provider the app must end up with.
 */
function describeNoisyLine(setup: string, slots: string, vad: string, opts: { skip?: string; maxPauses: number }): void {
  const { skip } = opts;
describe.skipIf(skip !== undefined)(`a noisy caller line over RingCentral RTP does not cut the greeting: ${setup}${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fake: FakeRingCentral;
  let app: VoicebotApp;
  const events: CallEvent[] = [];
  const runs = new Map<string, Promise<Heard>>();

  async function callWith(kind: LineKind, codec: 'opus' | 'pcmu', from: string): Promise<Heard> {
    const call = await fake.placeCall({ codecs: [codec], from });
    // Bot audio as the caller decodes it, with its arrival time (ms since answer).
    const got: { atMs: number; frame: AudioFrame }[] = [];
    let t0 = performance.now();
    let firstMs: number | undefined;
    let lastMs = -Infinity;
    /** Media ms of bot audio that reached the caller so far. */
    let loudMs = 0;
    call.audio.setReceiver((f) => {
      const atMs = performance.now() - t0;
      if (rmsOf(f.samples) > HEARD_RMS) {
        firstMs ??= atMs;
        lastMs = atMs;
        loudMs += (f.samples.length * 1000) / f.sampleRate;
      }
      got.push({ atMs, frame: { ...f, samples: f.samples.slice() } });
    });
    await call.answered;
    t0 = performance.now();
    // On a loaded machine the noise and the DTMF move with the bot's audio (see SLOW_START_NOISE_MS).
    const noisy = (ms: number) => ms < NOISE_MS || loudMs < SLOW_START_NOISE_MS;
    const callEvents = (): CallEvent[] => {
      const id = events.find((e) => e.type === 'call.started' && e.from === from)?.callId;
      return id ? events.filter((e) => e.callId === id) : [];
    };
    const playedOut = () => callEvents().filter((e) => e.type === 'bot.said').length >= 2;
    const talking = (now: number) => !playedOut() || lastMs > now - QUIET_MS;
    let dtmfSent = false;
    const line = streamLine(call, kind, (ms) => !dtmfSent && noisy(ms), () => dtmfSent && call.endReason !== undefined);
    for (let now = 0; now < DTMF_AT_MS || (talking(now) && now < LATEST_DTMF_MS); now = performance.now() - t0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const dtmfMs = performance.now() - t0;
    const before = got.map((g) => g.frame);
    dtmfSent = true;
    await call.pressDtmf('1');
    await Promise.race([call.ended, new Promise((r) => setTimeout(r, 5000))]);
    call.hangup();
    await line;
    const by7s = got.filter((g) => g.atMs < DTMF_AT_MS).map((g) => g.frame);
    return { seconds: heardSeconds(before), secondsBy7s: heardSeconds(by7s), firstMs, dtmfMs, events: callEvents() };
  }

  const lines: [string, LineKind, 'opus' | 'pcmu'][] = [
    ['silent line (control)', 'none', 'opus'],
    ['white noise, −25 dBFS', 'white', 'opus'],
    ['brown/street noise, −28 dBFS', 'brown', 'opus'],
    ['60 ms beeps every 500 ms, −20 dBFS', 'beeps', 'opus'],
    ['white noise, −25 dBFS, PCMU 8 kHz', 'white', 'pcmu'],
  ];

  beforeAll(async () => {
    fake = await startFakeRingCentral();
    const { config: c, diagnostics } = await loadConfigText(config(fake, slots), '/tmp/noisy-line.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    app = await VoicebotApp.create({ config: c!, logger: silentLogger() });
    app.onEvent((e) => events.push(e));
    await app.start();
    expect(app.plugins.vad.provider).toBe(vad);
    lines.forEach(([name, kind, codec], i) => runs.set(name, callWith(kind, codec, `+1650555020${i}`)));
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
    await fake?.close();
  });

  it.each(lines)('%s: the greeting is heard in full, ≥ 3 s of bot audio before the DTMF at 7 s', { timeout: 120_000 }, async (name) => {
    const heard = await runs.get(name)!;
    const said = heard.events.filter((e) => e.type === 'bot.said').map((e) => e as { text: string; interrupted?: boolean });
    const summary = JSON.stringify({ seconds: heard.seconds, firstMs: heard.firstMs, dtmfMs: heard.dtmfMs, events: heard.events.filter((e) => e.type !== 'turn.metrics') });
    console.log(`noisy-line ${setup}, ${name}: ${heard.seconds.toFixed(2)} s of bot audio heard before the DTMF (${heard.secondsBy7s.toFixed(2)} s by 7 s), the first at ${heard.firstMs?.toFixed(0)} ms, DTMF at ${heard.dtmfMs.toFixed(0)} ms, ${heard.events.filter((e) => e.type === 'bot.paused').length} pause(s)`);
    expect(heard.seconds, summary).toBeGreaterThanOrEqual(3);
    // The whole greeting went out uncut (the engine's played position), and the call took the DTMF.
    expect(said[0], summary).toMatchObject({ text: GREETING, interrupted: false });
    expect(heard.events.filter((e) => e.type === 'dtmf').map((e) => (e as { digits: string }).digits), summary).toEqual(['1']);
    // A VAD that does not call the noise speech never even pauses the bot; energy pauses it once per prompt at most.
    expect(heard.events.filter((e) => e.type === 'bot.paused').length, summary).toBeLessThanOrEqual(opts.maxPauses);
  });
});
}

describeNoisyLine('the default vad (auto: Silero), no STT', '', 'silero', { skip: missing, maxPauses: 0 });
// An install without Silero's packages: auto is energy, which calls the noise speech; the interruption policy keeps the bot talking.
describeNoisyLine('vad: energy (auto without Silero), mock STT for the words', '  vad: { provider: energy }\n  stt: { provider: mock }\n', 'energy', { maxPauses: 2 });
