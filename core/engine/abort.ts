/**
 * A child AbortController that follows its parents. Hand-rolled instead of
 * AbortSignal.any() because every listener must be removable at teardown:
 * the leak test counts them.
 */
export class LinkedAbort {
  readonly controller = new AbortController();
  private readonly parents: AbortSignal[] = [];

  constructor(...parents: (AbortSignal | undefined)[]) {
    for (const p of parents) {
      if (!p) continue;
      if (p.aborted) {
        this.controller.abort(p.reason);
        continue;
      }
      p.addEventListener('abort', this.onParent, { once: true });
      this.parents.push(p);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason?: unknown): void {
    this.controller.abort(reason);
    this.dispose();
  }

  /** Detach from the parents; the child keeps its own state. */
  dispose(): void {
    for (const p of this.parents) p.removeEventListener('abort', this.onParent);
    this.parents.length = 0;
  }

  private readonly onParent = (ev: Event): void => {
    this.controller.abort((ev.target as AbortSignal).reason);
    this.dispose();
  };
}

/** Resolves when `signal` aborts (never rejects), and can be detached. */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    fn();
    return () => {};
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}
