import { sleepOn, type Clock, type TimerHandle } from './clock.js';

interface VTimer {
  readonly __timer: unknown;
  due: number;
  seq: number;
  fn: (() => void) | undefined;
}

export interface VirtualClockOptions {
  /** Virtual `now()` at construction (default 0). */
  startMs?: number;
  /** `wallNow()` at virtual 0 (default: the real wall clock at construction). */
  wallStartMs?: number;
  /**
   * Advance on its own whenever the process is idle (default true). False:
   * time moves only through advance()/runAll() (unit tests that step it).
   */
  auto?: boolean;
  /**
   * setImmediate rounds the event loop must pass with no hold before time
   * jumps (default 2): one round drains microtasks and the I/O callbacks
   * already due; the second lets work those queued with setImmediate run.
   */
  idleRounds?: number;
  /** Called with what a timer callback threw (default: rethrown on a fresh tick, like a real timer). */
  onError?: (e: unknown) => void;
}

/**
 * A clock that does not follow the wall clock: time stands still while
 * anything can still happen at the current instant and then jumps to the
 * next due timer. "Anything" is what the event loop shows (microtasks,
 * immediates, I/O callbacks already delivered) plus explicit holds: work the
 * loop cannot see finishing — a worker thread synthesizing speech, a
 * loopback HTTP request — calls `hold()` and releases when done, so the
 * clock does not run ahead of it. Real work thus takes zero virtual time and
 * the timings a call reports are the modelled ones (timers, mock latencies).
 *
 * Timers due at the same instant fire in the order they were set; each
 * callback is followed by a full idle check, as Node drains microtasks
 * between timer callbacks.
 */
export class VirtualClock implements Clock {
  readonly virtual = true;
  private t: number;
  private readonly wall0: number;
  private readonly heap: VTimer[] = [];
  private seq = 0;
  private holds = 0;
  private readonly auto: boolean;
  private readonly idleRounds: number;
  private readonly onError: ((e: unknown) => void) | undefined;
  private pumping = false;
  private idleSeen = 0;
  private disposed = false;
  /** Timer callbacks fired so far (diagnostics, tests). */
  fired = 0;

  constructor(opts: VirtualClockOptions = {}) {
    this.t = opts.startMs ?? 0;
    this.wall0 = (opts.wallStartMs ?? Date.now()) - this.t;
    this.auto = opts.auto ?? true;
    this.idleRounds = Math.max(1, opts.idleRounds ?? 2);
    this.onError = opts.onError;
  }

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.wall0 + this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: VTimer = { __timer: undefined, due: this.t + delay, seq: this.seq++, fn };
    this.push(timer);
    this.kick();
    return timer;
  }

  clearTimeout(h: TimerHandle | undefined): void {
    // Removal is lazy: a cleared timer stays in the heap without a callback and is skipped.
    if (h && (h as VTimer).fn !== undefined) (h as VTimer).fn = undefined;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /**
   * Keep time from moving until the returned release is called (idempotent).
   * For real work in flight that the event loop cannot show as pending.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.kick();
    };
  }

  /** Live timers (cleared ones excluded). */
  get pending(): number {
    let n = 0;
    for (const t of this.heap) if (t.fn) n++;
    return n;
  }

  get held(): boolean {
    return this.holds > 0;
  }

  /**
   * Manual stepping: fire every timer due within `ms` from now, in order,
   * letting promise chains settle after each, then leave the clock at now+ms.
   */
  async advance(ms: number): Promise<void> {
    const until = this.t + Math.max(0, ms);
    for (;;) {
      await settle();
      const next = this.peek();
      if (!next || next.due > until) break;
      this.fireNext();
    }
    this.t = until;
    await settle();
  }

  /** Manual stepping: fire timers until none is left (or `limit` fired). */
  async runAll(limit = 100_000): Promise<void> {
    for (let i = 0; i < limit; i++) {
      await settle();
      if (!this.peek()) return;
      this.fireNext();
    }
    await settle();
  }

  /** Stop advancing on its own; pending timers never fire. */
  dispose(): void {
    this.disposed = true;
    this.heap.length = 0;
  }

  // ── automatic advance ──────────────────────────────────────────────────

  private kick(): void {
    if (!this.auto || this.pumping || this.disposed) return;
    this.pumping = true;
    this.idleSeen = 0;
    setImmediate(this.pump);
  }

  private readonly pump = (): void => {
    if (this.disposed) {
      this.pumping = false;
      return;
    }
    if (this.holds > 0 || !this.peek()) {
      // Held: release() kicks again. No timers: the next setTimeout() kicks.
      this.pumping = false;
      return;
    }
    if (++this.idleSeen < this.idleRounds) {
      setImmediate(this.pump);
      return;
    }
    this.idleSeen = 0;
    this.fireNext();
    setImmediate(this.pump);
  };

  private fireNext(): void {
    const t = this.pop();
    if (!t) return;
    if (t.due > this.t) this.t = t.due;
    const fn = t.fn;
    t.fn = undefined;
    if (!fn) return;
    this.fired++;
    try {
      fn();
    } catch (e) {
      if (this.onError) this.onError(e);
      // Like a throwing real timer callback: an uncaught exception, not a stalled clock.
      else
        queueMicrotask(() => {
          throw e;
        });
    }
  }

  // ── binary heap on (due, seq), skipping cleared timers ─────────────────

  private peek(): VTimer | undefined {
    const h = this.heap;
    while (h.length && !h[0].fn) this.pop();
    return h[0];
  }

  private push(t: VTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): VTimer | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: VTimer, b: VTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/** Two event-loop turns: microtasks, immediates and the promise chains they start settle. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}
