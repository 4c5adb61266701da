/**
 * Barge-in on labelled audio (the `turns` section's second part), run in a
 * child process (bench/ours-child.ts, job mode `barge`): per VAD, one app on
 * the mock PCMU line, one call per clip of bench/vad's labelled set (8 kHz
 * μ-law), all clips at once in real time. Each call's bot says a long prompt
 * in a loop (barge-in on); the caller sends the clip. What counts is what the
 * caller hears: the bot's audio stopping (a cut prompt, from `bot.said`
 * interrupted, or a pause: no bot audio for ≥ 250 ms mid-prompt). The
 * prompt is a listen step's (100 ms no-input timeout, then it plays again),
 * so after a cut the bot waits for the caller's utterance to end, as it
 * would on a call.
 */
import type { CallEvent } from '../core/engine/events.js';
import type { AudioFrame } from '../core/audio/frame.js';
import type { CallerSide } from '../core/plugins/telephony.js';
import type { BargeJob } from './jobs.js';
import { ConfigRefused, startApp } from './ours-app.js';
import { runTicker, type Ticking } from './sim-caller.js';
import { percentile, round } from './stats.js';
import { makeLabelledSet, NOISE_KINDS, type LabelledClip, type NoiseKind } from './vad/labelled-set.js';

/** ≈ 11 s of mock speech, so a clip meets the bot mid-prompt. */
const PROMPT = 'Thank you for calling. Please listen carefully, as our menu options have changed recently.';
/** No bot audio this long inside a prompt is a pause the caller hears (mock speech's own gaps are 20 ms). */
const PAUSE_MS = 250;
/** A stop this long after a phrase onset still counts as that phrase's barge-in; later, it is missed. */
const DETECT_WINDOW_MS = 1000;
/** The bot speaks this long before the clip starts. */
const LEAD_MS = 1000;
/** A phrase start is scored only when the bot was heard this recently before it (it was speaking). */
const SPEAKING_MS = 100;

export interface BargeRow {
  part: 'barge';
  vad: string;
  /** Which barge-in settings this tree accepted (see barge config below). */
  policy: string;
  noiseMin?: number;
  /** Cuts and pauses per minute of noise-only audio (all kinds together). */
  falseStopsPerMinNoise?: number;
  /** Of those: prompts cut, and pauses (the bot stopped, then went on). */
  falseCutsPerMinNoise?: number;
  falsePausesPerMinNoise?: number;
  /** Per noise kind: stops per minute. */
  falseStopsByNoise?: string;
  /** Share of the noise-only clips' time during which the caller heard bot audio. */
  botHeardOnNoisePct?: number;
  /** Phrase starts in speech clips where the bot was speaking at the onset. */
  phrases?: number;
  /** Of those, no stop within 1 s of the onset. */
  missed?: number;
  /** Phrase starts where the bot was not speaking (cut earlier by the clip's leading noise): not scored. */
  unscored?: number;
  stopDelayP50Ms?: number;
  stopDelayP90Ms?: number;
  skipped?: string;
}

/**
 * `vad-only`: turn.interruption.minWords 0, the VAD alone decides (the mock STT
 * cannot hear Flite speech, so a words rule would miss every phrase and
 * measure the STT, not the VAD). `defaults`: the interruption defaults (words
 * needed, a wordless onset pauses the bot and resumes it) — noise figures
 * only, as real speech gets no words from the mock STT either.
 * `legacy`: a tree without settings.turn.interruption (bargeIn alone).
 */
type Policy = 'vad-only' | 'defaults' | 'legacy';

const POLICY_LABEL: Record<Policy, string> = {
  'vad-only': 'turn.interruption.minWords 0 (VAD alone)',
  defaults: 'turn.interruption defaults (minWords 1, falseInterruption 1s, pause)',
  legacy: 'bargeIn on, minSpeechMs default (no turn.interruption on this tree)',
};

function configText(vad: string, policy: Policy): string {
  const turn = policy === 'vad-only' ? '\n  turn: { interruption: { minWords: 0 } }' : '';
  return `version: 1
plugins:
  telephony: { provider: mock }
  vad: { provider: ${vad} }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  bargeIn: { enabled: true }
  timeouts: { noInput: 60s, maxCall: 1h }${turn}
flows:
  main:
    steps:
      ask: { listen: { prompt: "${PROMPT}", timeout: 100ms, retries: 1000000 }, next: ask }
`;
}

/** One call: writes the clip from `startAt` (silence before and after) and records the bot audio the caller gets. */
export class ClipCaller implements Ticking {
  private f = 0;
  private readonly frames: number;
  private readonly n: number;
  private readonly silence: Int16Array;
  private readonly frame: AudioFrame & { dueAt?: number };
  /** Real time each clip frame was written (clip time → real time). */
  readonly writtenAt: Float64Array;
  private lastLoud = 0;
  heardMs = 0;
  /** Real times the bot audio stopped for ≥ PAUSE_MS (the last audible frame before the gap). */
  readonly pauses: number[] = [];
  /** Real times the engine reported a cut prompt. */
  readonly cuts: number[] = [];
  /** Real time the last prompt played out in full (the gap after it is the listen wait, not a pause). */
  private endedAt = 0;
  /** Real times of audible bot frames near phrase starts are looked up from here. */
  readonly loudAt: number[] = [];

  constructor(
    side: CallerSide,
    readonly clip: LabelledClip,
    private readonly startAt: number,
  ) {
    this.n = side.sampleRate / 50;
    this.frames = Math.floor(clip.audio.length / this.n);
    this.writtenAt = new Float64Array(this.frames);
    this.silence = new Int16Array(this.n);
    this.frame = { samples: this.silence, sampleRate: side.sampleRate, timestampMs: 0 };
    this.write = (fr) => side.write(fr);
    side.setReceiver((fr) => this.onBot(fr.samples));
  }

  private readonly write: (f: AudioFrame) => void;

  get done(): boolean {
    return this.f >= this.frames;
  }

  /** Inside the clip window (real time). */
  private inClip(t: number): boolean {
    return this.f > 0 && t >= this.writtenAt[0] && !this.done;
  }

  tick(now: number): void {
    if (now >= this.startAt && this.f < this.frames) {
      this.frame.samples = this.clip.audio.subarray(this.f * this.n, (this.f + 1) * this.n);
      this.writtenAt[this.f++] = performance.now();
    } else this.frame.samples = this.silence;
    this.frame.timestampMs += 20;
    this.write(this.frame);
  }

  private onBot(s: Int16Array): void {
    let loud = false;
    for (let i = 0; i < s.length && !loud; i += 4) loud = s[i] > 300 || s[i] < -300;
    if (!loud) return;
    const t = performance.now();
    if (this.inClip(t)) {
      const gap = t - this.lastLoud;
      if (gap < 100) this.heardMs += gap;
      else if (gap >= PAUSE_MS && this.lastLoud >= this.writtenAt[0] && this.endedAt < this.lastLoud - 100) this.pauses.push(this.lastLoud);
      this.loudAt.push(t);
    }
    this.lastLoud = t;
  }

  said(interrupted: boolean): void {
    const t = performance.now();
    if (!interrupted) this.endedAt = t;
    else if (this.inClip(t)) this.cuts.push(t);
  }

  /** Cuts and pauses, a pause within 300 ms after a cut being the same stop. */
  stops(): number[] {
    const all = [...this.cuts, ...this.pauses].sort((a, b) => a - b);
    return all.filter((t, i) => i === 0 || t - all[i - 1] > 300);
  }

  /** Real time of clip ms `ms`. */
  at(ms: number): number {
    const i = Math.min(this.frames - 1, Math.floor(ms / 20));
    return this.writtenAt[i] + (ms - i * 20);
  }

  /** Seconds of clip audio. */
  get seconds(): number {
    return (this.frames * 20) / 1000;
  }
}

/** Whether this tree accepts settings.turn.interruption (else the legacy bargeIn rule is all there is). */
async function hasInterruption(vad: string): Promise<boolean> {
  try {
    const { app } = await startApp(configText(vad, 'vad-only'));
    await app.stop();
    return true;
  } catch (e) {
    if (e instanceof ConfigRefused && /interruption|turn/.test(e.message)) return false;
    return true; // another failure (a VAD not installed) is reported by measureVad
  }
}

async function measureVad(vad: string, policy: Policy, clips: LabelledClip[], timeoutMs: number): Promise<BargeRow> {
  let started: Awaited<ReturnType<typeof startApp>>;
  try {
    started = await startApp(configText(vad, policy));
  } catch (e) {
    return { part: 'barge', vad, policy: POLICY_LABEL[policy], skipped: (e as Error).message.split('\n')[0] };
  }
  const { app, tel } = started;
  const byCall = new Map<string, ClipCaller>();
  app.onEvent((e: CallEvent) => {
    if (e.type === 'bot.said') byCall.get(e.callId)?.said(e.interrupted);
  });
  const callers: ClipCaller[] = [];
  const t0 = performance.now();
  for (const clip of clips) {
    const side = tel.placeCall();
    await side.answered;
    const c = new ClipCaller(side, clip, t0 + LEAD_MS + callers.length * 7);
    byCall.set(side.callId, c);
    callers.push(c);
  }
  const deadline = performance.now() + timeoutMs;
  await runTicker(callers, () => callers.every((c) => c.done) || performance.now() > deadline);
  await app.stop();

  const noise = callers.filter((c) => c.clip.speech.length === 0);
  const noiseSec = noise.reduce((s, c) => s + c.seconds, 0);
  const byKind = new Map<NoiseKind, { stops: number; sec: number }>();
  for (const c of noise) {
    const k = byKind.get(c.clip.noise) ?? { stops: 0, sec: 0 };
    k.stops += c.stops().length;
    k.sec += c.seconds;
    byKind.set(c.clip.noise, k);
  }
  const noiseStops = noise.reduce((s, c) => s + c.stops().length, 0);
  const noiseCuts = noise.reduce((s, c) => s + c.cuts.length, 0);
  const heard = noise.reduce((s, c) => s + c.heardMs, 0) / (noiseSec * 1000);

  let phrases = 0;
  let missed = 0;
  let unscored = 0;
  const delays: number[] = [];
  for (const c of callers.filter((x) => x.clip.speech.length > 0)) {
    const stops = c.stops();
    const rs = c.clip.speech;
    for (const g of rs) {
      // Phrase starts only, as bench/vad/score.ts scores onsets: a region right after another is a word in the same phrase.
      if (rs.some((o) => o !== g && o.endMs <= g.startMs && g.startMs - o.endMs < 500)) continue;
      const onset = c.at(g.startMs);
      const speaking = c.loudAt.some((t) => t <= onset && onset - t <= SPEAKING_MS);
      if (!speaking) {
        unscored++;
        continue;
      }
      phrases++;
      const stop = stops.find((t) => t >= onset - 20 && t <= onset + DETECT_WINDOW_MS);
      if (stop === undefined) missed++;
      else delays.push(Math.max(0, stop - onset));
    }
  }
  return {
    part: 'barge',
    vad,
    policy: POLICY_LABEL[policy],
    noiseMin: round(noiseSec / 60, 2),
    falseStopsPerMinNoise: round(noiseStops / (noiseSec / 60), 1),
    falseCutsPerMinNoise: round(noiseCuts / (noiseSec / 60), 1),
    falsePausesPerMinNoise: round(Math.max(0, noiseStops - noiseCuts) / (noiseSec / 60), 1),
    falseStopsByNoise: NOISE_KINDS.filter((k) => byKind.has(k))
      .map((k) => `${k} ${round(byKind.get(k)!.stops / (byKind.get(k)!.sec / 60), 1)}`)
      .join(', '),
    botHeardOnNoisePct: round(heard * 100, 1),
    // Under the defaults words stop the bot, and the mock STT hears none in Flite speech: no speech figures.
    ...(policy === 'defaults'
      ? {}
      : {
          phrases,
          missed,
          unscored,
          stopDelayP50Ms: delays.length ? Math.round(percentile(delays, 50)) : undefined,
          stopDelayP90Ms: delays.length ? Math.round(percentile(delays, 90)) : undefined,
        }),
  };
}

export async function runBarge(j: BargeJob): Promise<BargeRow[]> {
  // 8 kHz μ-law only: the line the mock telephony carries (PCMU), as a phone call would.
  const clips = await makeLabelledSet({ formats: ['8k-ulaw'], snrsDb: j.quick ? [10] : [20, 10, 5], noiseSeconds: j.quick ? 8 : 20 });
  const out: BargeRow[] = [];
  const policies: Policy[] = (await hasInterruption('energy')) ? ['vad-only', 'defaults'] : ['legacy'];
  const share = j.timeoutMs / (j.vads.length * policies.length);
  for (const policy of policies) for (const vad of j.vads) out.push(await measureVad(vad, policy, clips, share));
  return out;
}
