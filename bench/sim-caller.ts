import type { CallerSide } from '../core/plugins/telephony.js';
import { encodeMockSpeech } from '../plugins/mock/mock-speech.js';

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
  /** Replies that began before the trigger frame: the trigger is miscalibrated and latencies are not comparable. */
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
  private readonly frame: { samples: Int16Array; sampleRate: number; timestampMs: number };
  private pos = -1;
  private silentFrames = 0;
  /** Between the end of speech and the trigger frame: no new turn may start. */
  private trailing = false;
  private triggerAt = 0;
  private waiting = false;
  private botAudioAt = 0;
  private nextTurnAt: number;
  ended = false;

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
    this.speech = encodeMockSpeech(text, rate);
    this.silence = new Int16Array(rate / 50);
    this.frame = { samples: this.silence, sampleRate: rate, timestampMs: 0 };
    this.nextTurnAt = firstTurnAt;
    caller.setReceiver((f) => {
      const s = f.samples;
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
      } else if (this.trailing) this.stats.early++;
      this.botAudioAt = performance.now();
    });
    void caller.ended.then(() => (this.ended = true));
  }

  tick(now: number): void {
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
      if (this.trailing && this.triggerFrames > 0 && this.silentFrames === this.triggerFrames) {
        this.trailing = false;
        this.triggerAt = performance.now();
        this.waiting = true;
        this.nextTurnAt = now + this.turnEveryMs;
      }
    }
    this.frame.timestampMs += 20;
    this.lastWriteAt = performance.now();
    this.caller.write(this.frame);
  }

  /**
   * With triggerFrames 0: the engine reports it endpointed (caller.said). On an
   * in-process line the frame that did it is the one written last, so the
   * latency counts from that write, whatever the VAD's hangover came to.
   */
  endpointed(): void {
    if (!this.trailing) return;
    this.trailing = false;
    this.triggerAt = this.lastWriteAt;
    this.waiting = true;
    this.nextTurnAt = this.lastWriteAt + this.turnEveryMs;
    if (this.botAudioAt > this.speechEndAt) {
      // The reply began before the endpoint was reported: count it, then keep waiting for the next reply.
      this.stats.early++;
    }
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
export function runTicker(callers: SimCaller[], until: () => boolean, groups = 4): Promise<void> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const period = 20 / groups;
    let n = 0;
    const step = (): void => {
      const now = performance.now();
      const g = n % groups;
      for (let i = g; i < callers.length; i += groups) callers[i].tick(now);
      if (until()) return resolve();
      n++;
      setTimeout(step, Math.max(0, t0 + n * period - performance.now()));
    };
    step();
  });
}
