/**
 * The one source of time for engine, flow and plugin logic. Production uses
 * `realClock`; tests and simulations inject a virtual clock that jumps to the
 * next due timer, so behaviour is deterministic and fast. Code that reads
 * `performance.now()` / `Date.now()` or calls `setTimeout` directly cannot be
 * driven in virtual time: take a Clock instead.
 */
export interface TimerHandle {
  /** Opaque; pass back to clearTimeout. */
  readonly __timer: unknown;
}

export interface Clock {
  /** Monotonic milliseconds (origin unspecified: compare, don't display). */
  now(): number;
  /** Wall-clock epoch milliseconds (for timestamps shown to people). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(h: TimerHandle | undefined): void;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** True for a clock that does not follow the wall clock (tests, `voicebot test`). */
  readonly virtual: boolean;
  /**
   * A virtual clock does not move while held: call it before real work the
   * event loop cannot show as pending (a worker thread, a socket round trip)
   * and call the returned release when it is done. The real clock has none.
   */
  hold?(): () => void;
}

const noop = (): void => {};

/** Hold `clock` (if it can be held) until `p` settles; returns `p`. */
export function holdWhile<T>(clock: Clock | undefined, p: Promise<T>): Promise<T> {
  const release = clock?.hold?.() ?? noop;
  p.then(release, release);
  return p;
}

/** Shared sleep on any clock: resolves at `ms` or at abort, never rejects. */
export function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clock.clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = clock.setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Resolves after `ms` on `clock` (default: the real one), or early (without throwing) when
 * `signal` aborts. The one sleep for core and plugins.
 */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = realClock): Promise<void> {
  return clock.sleep(ms, signal);
}

export const realClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (h) => {
    if (h) clearTimeout(h as unknown as ReturnType<typeof setTimeout>);
  },
  sleep: (ms, signal) => sleepOn(realClock, ms, signal),
  virtual: false,
};
