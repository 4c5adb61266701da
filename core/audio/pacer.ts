import { realClock, type Clock, type TimerHandle } from '../time/clock.js';
import type { AudioFrame } from './frame.js';

export interface Tickable {
  /**
   * Called once per frame period by the clock with that period's deadline
   * (Clock ms). After a late timer the missed periods are ticked in a row,
   * each with its own deadline, so members can catch up frame by frame.
   */
  tick(slotMs: number): void;
}

/** Most frames a late timer may catch up at once before the clock resyncs. */
const MAX_CATCHUP = 2;
/** Lateness histogram: 0.1 ms buckets up to 100 ms. */
const BUCKETS = 1000;

/**
 * One drift-corrected timer for every outbound stream in the process:
 * deadlines are start + n·frameMs on the monotonic clock, so lateness never
 * accumulates (chained fixed setTimeouts drift by their own overhead). The
 * timer exists only while some stream is registered.
 */
export class PacerClock {
  readonly frameMs: number;
  /** The time source every member is paced by. */
  readonly time: Clock;
  private members: Tickable[] = [];
  private timer: TimerHandle | undefined;
  private t0 = 0;
  private n = 0;
  private readonly hist = new Uint32Array(BUCKETS + 1);
  /** Timer firings that were more than MAX_CATCHUP frames late (the clock resynced). */
  lateTicks = 0;
  ticks = 0;

  constructor(frameMs = 20, time: Clock = realClock) {
    this.frameMs = frameMs;
    this.time = time;
  }

  now(): number {
    return this.time.now();
  }

  get size(): number {
    return this.members.length;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  add(p: Tickable): void {
    if (this.members.includes(p)) return;
    this.members.push(p);
    if (!this.timer) {
      this.t0 = this.now();
      this.n = 0;
      this.schedule();
    }
  }

  remove(p: Tickable): void {
    const i = this.members.indexOf(p);
    if (i < 0) return;
    const last = this.members.pop()!;
    if (i < this.members.length) this.members[i] = last;
    if (this.members.length === 0 && this.timer) {
      this.time.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Timer lateness percentile in ms (from the histogram, 0.1 ms resolution). */
  latenessPercentile(p: number): number {
    let total = 0;
    for (let i = 0; i <= BUCKETS; i++) total += this.hist[i];
    if (total === 0) return 0;
    const want = Math.ceil((p / 100) * total);
    let acc = 0;
    for (let i = 0; i <= BUCKETS; i++) {
      acc += this.hist[i];
      if (acc >= want) return i / 10;
    }
    return BUCKETS / 10;
  }

  resetStats(): void {
    this.hist.fill(0);
    this.lateTicks = 0;
    this.ticks = 0;
  }

  private schedule(): void {
    this.n++;
    const delay = this.t0 + this.n * this.frameMs - this.now();
    this.timer = this.time.setTimeout(this.fire, delay > 0 ? delay : 0);
  }

  private readonly fire = (): void => {
    const now = this.now();
    const deadline = this.t0 + this.n * this.frameMs;
    const late = now - deadline;
    this.hist[Math.min(BUCKETS, Math.max(0, Math.round(late * 10)))]++;
    this.ticks++;
    let behind = Math.floor(late / this.frameMs);
    let first = deadline;
    if (behind > MAX_CATCHUP) {
      this.lateTicks++;
      // Resync rather than burst: serve the current period only; the next deadline is one period on.
      this.n = Math.floor((now - this.t0) / this.frameMs);
      first = this.t0 + this.n * this.frameMs;
      behind = 0;
    } else {
      this.n += behind;
    }
    for (let r = 0; r <= behind; r++) {
      // Each missed period with its own deadline: a member that skipped one on a late tick catches up here.
      const slot = first + r * this.frameMs;
      // Members may remove themselves while ticking: iterate backwards over a stable length.
      for (let i = this.members.length - 1; i >= 0; i--) {
        const m = this.members[i];
        if (m) m.tick(slot);
      }
    }
    if (this.members.length > 0) this.schedule();
    else this.timer = undefined;
  };
}

export interface OutboundPacerOptions {
  sampleRate: number;
  frameMs?: number;
  clock: PacerClock;
  /**
   * Receives one frame per period; the frame object and buffer are reused.
   * `atMs` is the frame's media time on the clock: a talk spurt starts when
   * its first frame goes out and its frames follow each other exactly one
   * period apart, however late a timer fired (the recorder places them by it).
   */
  sink: (frame: AudioFrame, atMs: number) => void;
  /** The queue ran dry after the last frame went out. */
  onDrained?: () => void;
}

/**
 * Queues bot audio and writes it out one frame per period. Idle pacers are
 * not registered with the clock, so silence costs nothing.
 */
export class OutboundPacer implements Tickable {
  readonly sampleRate: number;
  readonly frameMs: number;
  private readonly spf: number;
  private readonly clock: PacerClock;
  private readonly sink: (frame: AudioFrame, atMs: number) => void;
  private readonly onDrained: (() => void) | undefined;
  private ring: Int16Array;
  private read = 0;
  private count = 0;
  private readonly frame: AudioFrame;
  private registered = false;
  private started = false;
  private nextDue = -Infinity;
  /** Media time of the next frame while a spurt plays (NaN: idle, the next frame starts one). */
  private mediaMs = Number.NaN;
  private played = 0;
  private paused = false;
  /** Level applied to every frame sent (1: as queued). Ducking lowers it. */
  gain = 1;

  constructor(opts: OutboundPacerOptions) {
    this.sampleRate = opts.sampleRate;
    this.frameMs = opts.frameMs ?? opts.clock.frameMs;
    this.spf = (opts.sampleRate * this.frameMs) / 1000;
    this.clock = opts.clock;
    this.sink = opts.sink;
    this.onDrained = opts.onDrained;
    this.ring = new Int16Array(this.spf * 50);
    this.frame = { samples: new Int16Array(this.spf), sampleRate: opts.sampleRate, timestampMs: 0 };
  }

  get queuedMs(): number {
    return (this.count * 1000) / this.sampleRate;
  }

  /** Total ms written to the sink. */
  get playedMs(): number {
    return (this.played * 1000) / this.sampleRate;
  }

  get active(): boolean {
    return this.count > 0;
  }

  start(): void {
    this.started = true;
  }

  stop(): void {
    this.started = false;
    this.count = 0;
    this.unregister();
  }

  /** Media time (clock ms) the next frame of the current spurt will carry; NaN when idle. */
  get nextMediaMs(): number {
    return this.mediaMs;
  }

  /**
   * Stop sending, keeping the queue and the read position: resume() sends
   * the very next sample, so nothing is lost or repeated. Enqueueing goes on.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.unregister();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.count > 0) this.kick();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Copies `samples` into the queue. The first frame after idle goes out at once. */
  enqueue(samples: Int16Array): void {
    if (samples.length === 0) return;
    this.ensure(this.count + samples.length);
    const cap = this.ring.length;
    let w = (this.read + this.count) % cap;
    const first = Math.min(samples.length, cap - w);
    this.ring.set(samples.subarray(0, first), w);
    if (first < samples.length) this.ring.set(samples.subarray(first), 0);
    this.count += samples.length;
    w = 0;
    this.kick();
  }

  /** Register with the clock when there is audio to send; the first frame after idle goes out at once. */
  private kick(): void {
    if (!this.started || this.paused || this.registered) return;
    this.registered = true;
    this.clock.add(this);
    const now = this.clock.now();
    if (now >= this.nextDue - this.frameMs / 2) this.emit(now);
  }

  /** Drops queued audio (barge-in); returns the ms dropped. */
  clear(): number {
    const ms = this.queuedMs;
    this.count = 0;
    this.unregister();
    return ms;
  }

  tick(slotMs: number): void {
    if (slotMs < this.nextDue - this.frameMs / 2) return;
    this.emit(slotMs);
  }

  private emit(now: number): void {
    if (this.count === 0) {
      this.unregister();
      return;
    }
    if (Number.isNaN(this.mediaMs)) this.mediaMs = now;
    const out = this.frame.samples;
    const n = Math.min(this.count, this.spf);
    const cap = this.ring.length;
    const first = Math.min(n, cap - this.read);
    out.set(this.ring.subarray(this.read, this.read + first), 0);
    if (first < n) out.set(this.ring.subarray(0, n - first), first);
    if (n < this.spf) out.fill(0, n);
    if (this.gain !== 1) for (let i = 0; i < n; i++) out[i] = Math.round(out[i] * this.gain);
    this.read = (this.read + n) % cap;
    this.count -= n;
    this.nextDue = Math.max(now, this.nextDue) + this.frameMs;
    const at = this.mediaMs;
    this.mediaMs += this.frameMs;
    this.sink(this.frame, at);
    this.frame.timestampMs += this.frameMs;
    this.played += this.spf;
    if (this.count === 0) {
      this.unregister();
      this.onDrained?.();
    }
  }

  private unregister(): void {
    this.mediaMs = Number.NaN;
    if (this.registered) {
      this.registered = false;
      this.clock.remove(this);
    }
  }

  private ensure(n: number): void {
    if (n <= this.ring.length) return;
    let cap = this.ring.length;
    while (cap < n) cap *= 2;
    const nr = new Int16Array(cap);
    const first = Math.min(this.count, this.ring.length - this.read);
    nr.set(this.ring.subarray(this.read, this.read + first), 0);
    if (first < this.count) nr.set(this.ring.subarray(0, this.count - first), first);
    this.ring = nr;
    this.read = 0;
  }
}
