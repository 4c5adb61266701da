import type { AudioFrame } from '../../core/plugin-api.js';
import { SpeechHysteresis } from '../../core/plugin-api.js';
import type { VadDetector, VadEvent } from '../../core/plugin-api.js';
import { STATE, type SileroBatcher, type WindowClient } from './batcher.js';

export interface SileroDetectorOptions {
  threshold: number;
  negThreshold: number;
  minSpeechMs: number;
  minSilenceMs: number;
  /** Silence after which the LSTM state is cleared (a new talker, a new line state). */
  resetAfterMs: number;
}

/** Windows waiting per call while one is in flight; more means inference is behind, the oldest is dropped. */
const RING = 4;
const WINDOW_MS = 32;

/**
 * One call's Silero VAD behind a cheap gate. Per frame (synchronous): the
 * gate classifies the frame, the samples go into a 32 ms window; a window the
 * gate found voice in (and the one before it, for the onset) is handed to the
 * shared batcher. Verdicts come back asynchronously — within one batch tick,
 * normally before the next frame — and move the hysteresis; process()
 * reports the resulting speech-start/end at the next frame. Windows the gate
 * rejects count as silence without inference.
 */
export class SileroDetector implements VadDetector, WindowClient {
  probability = 0;
  readonly h = new Float32Array(STATE);
  readonly c = new Float32Array(STATE);
  private readonly win: number;
  private fill: Float32Array;
  private prev: Float32Array;
  private filled = 0;
  private prevSkipped = false;
  private gateSeen = false;
  private readonly ring: Float32Array[];
  private head = 0;
  private count = 0;
  private inFlight = false;
  /** Verdicts of a window submitted before reset() are ignored. */
  private epoch = 0;
  private flightEpoch = 0;
  private quietMs = 0;
  private reported = false;
  private readonly hyst: SpeechHysteresis;
  /** Windows dropped because inference fell behind. */
  dropped = 0;

  constructor(
    readonly rate: 8000 | 16000,
    private readonly batcher: SileroBatcher,
    private readonly gate: VadDetector | undefined,
    private readonly o: SileroDetectorOptions,
  ) {
    this.win = rate === 16000 ? 512 : 256;
    this.fill = new Float32Array(this.win);
    this.prev = new Float32Array(this.win);
    this.ring = Array.from({ length: RING }, () => new Float32Array(this.win));
    this.hyst = new SpeechHysteresis(o);
  }

  get speaking(): boolean {
    return this.reported;
  }

  process(frame: AudioFrame): VadEvent {
    if (this.gate) {
      this.gate.process(frame);
      if (this.gate.speaking || this.gate.probability >= 0.5) this.gateSeen = true;
    } else this.gateSeen = true;
    const s = frame.samples;
    for (let i = 0; i < s.length; i++) {
      this.fill[this.filled++] = s[i] / 32768;
      if (this.filled === this.win) this.windowDone();
    }
    if (this.hyst.speaking === this.reported) return 'none';
    this.reported = this.hyst.speaking;
    return this.reported ? 'speech-start' : 'speech-end';
  }

  private windowDone(): void {
    this.filled = 0;
    if (this.gateSeen) {
      this.quietMs = 0;
      // The window before the gate opened holds the start of the word.
      if (this.prevSkipped) this.enqueue(this.prev);
      this.enqueue(this.fill);
      this.prevSkipped = false;
    } else {
      this.prevSkipped = true;
      this.quietMs += WINDOW_MS;
      if (this.quietMs >= this.o.resetAfterMs && this.quietMs - WINDOW_MS < this.o.resetAfterMs) {
        this.h.fill(0);
        this.c.fill(0);
      }
      if (!this.inFlight) {
        this.probability = 0;
        this.hyst.update(false, WINDOW_MS);
      }
    }
    this.gateSeen = this.gate ? this.gate.speaking : true;
    const t = this.prev;
    this.prev = this.fill;
    this.fill = t;
  }

  private enqueue(w: Float32Array): void {
    if (this.count === RING) {
      this.head = (this.head + 1) % RING;
      this.count--;
      this.dropped++;
    }
    this.ring[(this.head + this.count) % RING].set(w);
    this.count++;
    this.pump();
  }

  private pump(): void {
    if (this.inFlight || this.count === 0) return;
    this.inFlight = true;
    this.flightEpoch = this.epoch;
    this.batcher.submit(this);
  }

  window(): Float32Array {
    return this.ring[this.head];
  }

  onVerdict(p: number): void {
    this.inFlight = false;
    if (this.flightEpoch !== this.epoch) {
      this.h.fill(0);
      this.c.fill(0);
      return this.pump();
    }
    this.head = (this.head + 1) % RING;
    this.count--;
    // Inference failed: the gate's judgment stands for this window.
    const voiced = Number.isNaN(p) ? true : p >= (this.hyst.speaking ? this.o.negThreshold : this.o.threshold);
    this.probability = Number.isNaN(p) ? 1 : p;
    this.hyst.update(voiced, WINDOW_MS);
    this.pump();
  }

  reset(): void {
    this.epoch++;
    this.head = 0;
    this.count = 0;
    this.filled = 0;
    this.prevSkipped = false;
    this.gateSeen = false;
    this.quietMs = 0;
    this.h.fill(0);
    this.c.fill(0);
    this.probability = 0;
    this.reported = false;
    this.hyst.reset();
    this.gate?.reset();
  }
}
