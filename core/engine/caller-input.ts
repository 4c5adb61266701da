import type { AudioFrame } from '../audio/frame.js';
import { Resampler } from '../audio/resampler.js';
import type { VadDetector } from '../plugins/vad.js';
import type { Clock } from '../time/clock.js';

/** Caller audio kept from before the VAD fired, so the first syllable reaches STT. */
export const PREROLL_MS = 300;
/** Longest utterance; it is cut (the turn ends) there. */
export const MAX_UTTERANCE_MS = 30_000;

/** What the caller-input stage reports; plain callbacks on the per-frame path. */
export interface CallerInputSink {
  /** Every caller frame at the engine rate (the recorder), with its media timestamp. */
  engineAudio?(samples: Int16Array, timestampMs: number): void;
  /** The VAD heard speech begin: `preroll` is the audio (STT rate) from just before it. */
  speechStart(preroll: Int16Array): void;
  /** One captured frame at the STT rate, while an utterance runs (reused: copy to keep). */
  audio(frame: AudioFrame): void;
  /** A voiced frame of the running utterance: total voiced ms so far (barge-in policy input). */
  voiced(voicedMs: number): void;
  /** The utterance ended: enough silence after the last voiced frame (the endpointer's wait), or MAX_UTTERANCE_MS. Clock ms. */
  endpoint(speechEndAt: number, endpointAt: number): void;
}

export interface CallerInputOptions {
  inputRate: number;
  engineRate: number;
  vadRate: number;
  sttRate: number;
  frameMs: number;
  detector: VadDetector;
  /** Fixed silence (ms) that ends an utterance, when there is no `endpointer`. */
  endOfSpeechMs?: number;
  /** Asked on every silent frame of an utterance: the silence (ms since the last voiced frame) that ends it now. */
  endpointer?: { waitMs(silentMs: number): number };
  clock: Clock;
  sink: CallerInputSink;
}

/**
 * Caller audio → engine rate → VAD → preroll → endpointing, one frame at a
 * time. Holds no promise and no timer: durations count frames, timestamps
 * come from the injected clock, so it runs the same in virtual time.
 */
export class CallerInput {
  private readonly o: CallerInputOptions;
  private readonly inRs: Resampler | undefined;
  private readonly vadRs: Resampler | undefined;
  private readonly sttRs: Resampler | undefined;
  private readonly vadFrame: AudioFrame;
  private readonly sttFrame: AudioFrame;
  private readonly preroll: Int16Array;
  private prerollPos = 0;
  private prerollFull = false;
  private capturing = false;
  private silenceMs = 0;
  private voicedMs = 0;
  private utterMs = 0;
  private lastSpeechEndAt = 0;
  private lastVoicedAt = 0;
  /** The detector's probability separates voiced frames; a VAD that leaves it at 0 falls back to `speaking`. */
  private probabilityWorks = false;

  constructor(opts: CallerInputOptions) {
    this.o = opts;
    this.inRs = opts.inputRate === opts.engineRate ? undefined : new Resampler(opts.inputRate, opts.engineRate);
    this.vadRs = opts.vadRate === opts.engineRate ? undefined : new Resampler(opts.engineRate, opts.vadRate);
    this.sttRs = opts.sttRate === opts.engineRate ? undefined : new Resampler(opts.engineRate, opts.sttRate);
    this.vadFrame = { samples: new Int16Array(0), sampleRate: opts.vadRate, timestampMs: 0 };
    this.sttFrame = { samples: new Int16Array(0), sampleRate: opts.sttRate, timestampMs: 0 };
    this.preroll = new Int16Array((opts.sttRate * PREROLL_MS) / 1000);
  }

  /** An utterance is running (from VAD onset to its endpoint). */
  get speaking(): boolean {
    return this.capturing;
  }

  process(frame: AudioFrame): void {
    const o = this.o;
    const eng = this.inRs ? this.inRs.process(frame.samples) : frame.samples;
    o.sink.engineAudio?.(eng, frame.timestampMs);
    const vf = this.vadFrame;
    vf.samples = this.vadRs ? this.vadRs.process(eng) : eng;
    vf.timestampMs = frame.timestampMs;
    const det = o.detector;
    const ev = det.process(vf);
    const sf = this.sttFrame;
    sf.samples = this.sttRs ? this.sttRs.process(eng) : eng;
    sf.timestampMs = frame.timestampMs;

    // Voiced: inside the VAD's speech and above its probability threshold (its hangover frames are not).
    const voiced = det.speaking && this.isVoiced(det);
    if (ev === 'speech-start') {
      if (!this.capturing) this.begin();
      this.silenceMs = 0;
    } else if (ev === 'speech-end') {
      this.lastSpeechEndAt = o.clock.now();
    } else if (!this.capturing && voiced) {
      // The endpoint fired inside the VAD's hangover and the caller went on: a new utterance, though the VAD saw no new onset.
      this.begin();
    }
    if (!this.capturing) {
      this.keepPreroll(sf.samples);
      return;
    }
    o.sink.audio(sf);
    const ms = o.frameMs;
    this.utterMs += ms;
    if (voiced) {
      this.silenceMs = 0;
      this.voicedMs += ms;
      this.lastVoicedAt = o.clock.now();
      o.sink.voiced(this.voicedMs);
    } else {
      // Counted from the last voiced frame, not from the VAD's speech-end: its hangover must not add to the endpoint.
      this.silenceMs += ms;
      const wait = o.endpointer ? o.endpointer.waitMs(this.silenceMs) : (o.endOfSpeechMs ?? 600);
      if (this.silenceMs >= wait) this.end();
    }
    if (this.capturing && this.utterMs >= MAX_UTTERANCE_MS) {
      this.lastVoicedAt = o.clock.now();
      this.end();
    }
  }

  /** Silence from the last voiced frame while capturing (0 while the caller is voiced or no utterance runs). */
  get silentMs(): number {
    return this.capturing ? this.silenceMs : 0;
  }

  private isVoiced(det: VadDetector): boolean {
    if (det.probability >= 0.5) {
      this.probabilityWorks = true;
      return true;
    }
    return !this.probabilityWorks && det.speaking;
  }

  private begin(): void {
    this.capturing = true;
    this.silenceMs = 0;
    this.voicedMs = 0;
    this.utterMs = 0;
    this.lastVoicedAt = 0;
    const ring = this.preroll;
    const pre = this.prerollFull ? ring.length : this.prerollPos;
    const audio = new Int16Array(pre);
    if (this.prerollFull) {
      audio.set(ring.subarray(this.prerollPos), 0);
      audio.set(ring.subarray(0, this.prerollPos), ring.length - this.prerollPos);
    } else audio.set(ring.subarray(0, pre));
    this.prerollPos = 0;
    this.prerollFull = false;
    this.o.sink.speechStart(audio);
  }

  private end(): void {
    this.capturing = false;
    const now = this.o.clock.now();
    this.o.sink.endpoint(this.lastVoicedAt || this.lastSpeechEndAt || now, now);
  }

  private keepPreroll(s: Int16Array): void {
    const ring = this.preroll;
    const n = ring.length;
    if (n === 0) return;
    for (let i = 0; i < s.length; i++) {
      ring[this.prerollPos++] = s[i];
      if (this.prerollPos === n) {
        this.prerollPos = 0;
        this.prerollFull = true;
      }
    }
  }
}
