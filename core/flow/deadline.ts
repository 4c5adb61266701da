import { realClock, type Clock } from '../time/clock.js';

/**
 * Runs `work` with its own signal that aborts when `parent` aborts or after
 * `ms`, and settles as soon as either happens — even when `work` ignores its
 * signal (a tool handler that never resolves, a body that never ends). A
 * timeout rejects with `onTimeout()`; a parent abort with the parent's reason.
 */
export function withDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  opts: { ms: number; signal?: AbortSignal; clock?: Clock; onTimeout: () => Error },
): Promise<T> {
  const clock = opts.clock ?? realClock;
  const ac = new AbortController();
  const parent = opts.signal;
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const cleanup = (): void => {
      clock.clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    };
    const onParent = (): void => {
      cleanup();
      const reason: unknown = parent?.reason;
      ac.abort(reason);
      reject(reason instanceof Error ? reason : new DOMException('aborted', 'AbortError'));
    };
    if (parent?.aborted) return onParent();
    parent?.addEventListener('abort', onParent, { once: true });
    if (opts.ms > 0 && Number.isFinite(opts.ms)) {
      timer = clock.setTimeout(() => {
        cleanup();
        const err = opts.onTimeout();
        ac.abort(err);
        reject(err);
      }, opts.ms);
    }
    let p: Promise<T>;
    try {
      p = Promise.resolve(work(ac.signal));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e: unknown) => {
        cleanup();
        reject(e);
      },
    );
  });
}
