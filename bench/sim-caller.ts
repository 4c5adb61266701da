import type { CallerSide } from '../core/plugins/telephony.js';
import { encodeMockSpeech } from '../plugins/mock/mock-speech.js';
import { Histogram } from './stats.js';

/**
 * Both directions measured per frame where the frame arrives: how late each
 * caller frame reached the bot's line against its 20 ms schedule, and how far
 * each gap between consecutive bot frames at the caller strays from the
 * frame's duration (bursts of catch-up frames count, as they would on a phone).
 */
export class WireStats {
  readonly callerLateness = new Histogram();
  readonly botJitter = new Histogram();
  /**
   * True where the line hands a frame to the bot synchronously (voicebot's
   * in-process line), so write time is arrival time. A peer that queues
   * frames measures arrival itself, from the frame's `dueAt`.
   */
  measureCallerAtWrite = true;
  reset(): void {
    this.callerLateness.reset();
    this.botJitter.reset();
  }
}

/**
 * Simulated callers for the benchmarks: one drift-corrected 20 ms ticker
 * writes a frame for every caller (a real line never stops sending), speech
 * when a turn is due, silence otherwise, and records when the bot's first
 * non-silent frame of each reply arrives.
 */
export interface SimCallerStats {
  /** ms from the caller frame that completed the endpointing delay to the bot's first audio frame. */
  latencies: number[];
  turns: number;
  /** Turns whose reply began before the endpoint was due (no latency recorded for them). */
  early: number;
  /** ms from writing the caller's last speech frame to the bot's first audio frame (includes the endpointing delay). */
  fromSpeechEnd: number[];
}

export class SimCaller {
  readonly stats: SimCallerStats = { latencies: [], turns: 0, early: 0, fromSpeechEnd: [] };
  private speechEndAt = 0;
  private lastWriteAt = 0;
  private replyPending = false;
  private readonly speech: Int16Array;
  private readonly silence: Int16Array;
  private readonly frame: { samples: Int16Array; sampleRate: number; timestampMs: number; dueAt: number };
  private pos = -1;
  private silentFrames = 0;
  /** Between the end of speech and the trigger frame: no new turn may start. */
  private trailing = false;
  private triggerAt = 0;
  private waiting = false;
  private botAudioAt = 0;
  private nextTurnAt: number;
  private lastRxAt = 0;
  ended = false;
  /** Set to measure both directions per frame (see WireStats). */
  wire: WireStats | undefined;

  constructor(
    private readonly caller: CallerSide,
    text: string,
    /** Caller frames of silence after speech that complete VAD hangover + endOfSpeech. */
    private readonly triggerFrames: number,
    private readonly turnEveryMs: number,
    firstTurnAt: number,
    private readonly maxTurns: number,
  ) {
    const rate = caller.sampleRate;
    this.silence = new Int16Array(rate / 50);
    // End the utterance on the frame holding its last audible sample, so "speech end" is the caller's last sound.
    const full = encodeMockSpeech(text, rate);
    let last = full.length - 1;
    while (last > 0 && Math.abs(full[last]) < 300) last--;
    this.speech = full.subarray(0, Math.ceil((last + 1) / this.silence.length) * this.silence.length);
    this.frame = { samples: this.silence, sampleRate: rate, timestampMs: 0, dueAt: 0 };
    this.nextTurnAt = firstTurnAt;
    caller.setReceiver((f) => {
      const s = f.samples;
      const w = this.wire;
      if (w) {
        const t = performance.now();
        const gap = t - this.lastRxAt;
        // A pause longer than 200 ms is the end of one stream of frames, not jitter.
        if (gap < 200) w.botJitter.add(Math.abs(gap - (s.length * 1000) / f.sampleRate));
        this.lastRxAt = t;
      }
      let loud = false;
      for (let i = 0; i < s.length && !loud; i += 4) loud = s[i] > 300 || s[i] < -300;
      if (!loud) return;
      if (this.replyPending) {
        this.stats.fromSpeechEnd.push(performance.now() - this.speechEndAt);
        this.replyPending = false;
      }
      if (this.waiting) {
        // First audible frame of the reply.
        this.stats.latencies.push(performance.now() - this.triggerAt);
        this.waiting = false;
      }
      this.botAudioAt = performance.now();
    });
    void caller.ended.then(() => (this.ended = true));
  }

  /** `scheduledAt`: when this frame was due (the ticker's schedule), for the lateness figure. */
  tick(now: number, scheduledAt = now): void {
    if (this.ended) return;
    const n = this.silence.length;
    if (this.pos < 0 && !this.trailing && !this.waiting && this.stats.turns < this.maxTurns && now >= this.nextTurnAt && now - this.botAudioAt > 300) {
      this.pos = 0;
      this.stats.turns++;
    }
    if (this.pos >= 0) {
      this.frame.samples = this.speech.subarray(this.pos, this.pos + n);
      if (this.frame.samples.length < n) this.frame.samples = this.silence;
      this.pos += n;
      if (this.pos >= this.speech.length) {
        this.pos = -1;
        this.silentFrames = 0;
        this.trailing = true;
        this.speechEndAt = performance.now();
        this.replyPending = true;
      }
    } else {
      this.frame.samples = this.silence;
      this.silentFrames++;
      if (this.trailing && this.triggerFrames > 0 && this.silentFrames === this.triggerFrames) this.trigger(performance.now());
    }
    this.frame.timestampMs += 20;
    this.lastWriteAt = performance.now();
    this.frame.dueAt = scheduledAt;
    if (this.wire?.measureCallerAtWrite) this.wire.callerLateness.add(this.lastWriteAt - scheduledAt);
    this.caller.write(this.frame);
  }

  /**
   * With triggerFrames 0: the engine reports it endpointed (caller.said). On an
   * in-process line the frame that did it is the one written last, so the
   * latency counts from that write, whatever the VAD's hangover came to.
   * A peer whose endpoint is a timer passes the time it was due instead.
   */
  endpointed(at = this.lastWriteAt): void {
    if (this.trailing) this.trigger(at);
  }

  /** The endpoint is due at `at`: time the reply from there, unless it already began (counted as early, no latency). */
  private trigger(at: number): void {
    this.trailing = false;
    this.nextTurnAt = at + this.turnEveryMs;
    if (this.botAudioAt > this.speechEndAt) {
      this.stats.early++;
      return;
    }
    this.triggerAt = at;
    this.waiting = true;
  }

  get done(): boolean {
    return this.ended || (this.stats.turns >= this.maxTurns && !this.waiting && !this.trailing && this.pos < 0);
  }
}

/**
 * One drift-corrected ticker for all simulated callers. Callers are split into
 * `groups` phases 20/groups ms apart, as independent RTP streams arrive spread
 * over the frame period rather than all at once.
 */
/** Anything the ticker drives: one caller line, written once per 20 ms. */
export interface Ticking {
  tick(now: number, scheduledAt: number): void;
}

export function runTicker(callers: Ticking[], until: () => boolean, groups = 4): Promise<void> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const period = 20 / groups;
    let n = 0;
    const step = (): void => {
      const now = performance.now();
      const g = n % groups;
      const due = t0 + n * period;
      for (let i = g; i < callers.length; i += groups) callers[i].tick(now, due);
      if (until()) return resolve();
      n++;
      setTimeout(step, Math.max(0, t0 + n * period - performance.now()));
    };
    step();
  });
}
