import { VoicebotError } from '../../errors/index.js';
import type { PluginBase } from '../../plugins/base.js';
import { isRetryable } from '../../plugins/errors.js';
import type { SlotName } from '../../plugins/slots.js';
import { realClock, type Clock } from '../../time/clock.js';
import { LinkedAbort } from '../abort.js';

/** One provider of a chain, with its own limits. */
export interface FallbackMember<P> {
  plugin: P;
  /** ms to the first result (and between streamed results) before the provider counts as failed. */
  timeoutMs?: number;
  /** ms a failed provider is skipped before it is tried again. */
  recoveryMs?: number;
}

export interface FallbackOptions {
  timeoutMs?: number;
  recoveryMs?: number;
  /**
   * ms the caller waits for one provider's first result before the chain
   * moves on (its request is aborted, which also ends the provider's own
   * retries). Default DEFAULT_ATTEMPT_MS.
   */
  attemptMs?: number;
  /** ms one request may wait for a first result across the whole chain before VB_ERR_FALLBACK_EXHAUSTED. Default DEFAULT_BUDGET_MS. */
  budgetMs?: number;
  /** Move on after 401/403 (a revoked key on one provider) instead of failing the request. Default false. */
  fallbackOnAuth?: boolean;
  /** Timers and monotonic time; virtual in tests. Default realClock. */
  clock?: Clock;
  /** Monotonic ms; injectable so recovery can be tested without waiting. Default clock.now. */
  now?: () => number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RECOVERY_MS = 30_000;
export const DEFAULT_ATTEMPT_MS = 4_000;
export const DEFAULT_BUDGET_MS = 8_000;

export interface ChainEntry<P> {
  plugin: P;
  timeoutMs: number;
  recoveryMs: number;
  /** Skipped (tried only as a last resort) until this time. */
  unhealthyUntil: number;
}

export type MemberInput<P> = P | FallbackMember<P>;

/** What one slot adapter adds to the shared failover loop (Chain.run). */
export interface ChainRequest<P, T> {
  /** Starts the request on one provider; `signal` aborts when the chain gives up on it. */
  start(entry: ChainEntry<P>, signal: AbortSignal): AsyncIterator<T>;
  /** Asked before each provider: false ends the request as complete (TTS: nothing left to say). */
  more?(): boolean;
  /** An item on its way to the caller; what it returns is what the caller gets. */
  deliver?(item: T): T;
  /** Each delivered item restarts budgetMs (it bounds silence, not the whole reply: TTS). */
  budgetPerItem?: boolean;
  /** The provider failed and the chain may move on: false reports the failure instead (LLM text already reached the caller). */
  failed?(e: unknown, delivered: number): boolean;
}

function isMember<P>(x: MemberInput<P>): x is FallbackMember<P> {
  return typeof x === 'object' && x !== null && 'plugin' in x && !('slot' in x);
}

/** Provider order and health shared by the three slot adapters. */
export class Chain<P extends PluginBase> {
  readonly entries: ChainEntry<P>[];
  readonly slot: SlotName;
  readonly clock: Clock;
  readonly attemptMs: number;
  readonly budgetMs: number;
  readonly fallbackOnAuth: boolean;
  private readonly now: () => number;

  constructor(slot: SlotName, members: readonly MemberInput<P>[], opts: FallbackOptions = {}) {
    if (members.length === 0) throw new VoicebotError('VB_ERR_FALLBACK_EXHAUSTED', { slot, detail: 'no providers configured' });
    this.slot = slot;
    this.clock = opts.clock ?? realClock;
    this.now = opts.now ?? (() => this.clock.now());
    this.attemptMs = opts.attemptMs ?? DEFAULT_ATTEMPT_MS;
    this.budgetMs = opts.budgetMs ?? DEFAULT_BUDGET_MS;
    this.fallbackOnAuth = opts.fallbackOnAuth ?? false;
    this.entries = members.map((m) => {
      const spec = isMember(m) ? m : { plugin: m };
      return {
        plugin: spec.plugin,
        timeoutMs: spec.timeoutMs ?? opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        recoveryMs: spec.recoveryMs ?? opts.recoveryMs ?? DEFAULT_RECOVERY_MS,
        unhealthyUntil: 0,
      };
    });
  }

  get name(): string {
    return `fallback(${this.entries.map((e) => e.plugin.provider).join(',')})`;
  }

  /**
   * Healthy providers in configured order, then the unhealthy ones (soonest
   * recovery first): a request is not refused just because of past failures.
   */
  order(): ChainEntry<P>[] {
    const t = this.now();
    const healthy = this.entries.filter((e) => e.unhealthyUntil <= t);
    const sick = this.entries.filter((e) => e.unhealthyUntil > t).sort((a, b) => a.unhealthyUntil - b.unhealthyUntil);
    return [...healthy, ...sick];
  }

  healthy(e: ChainEntry<P>): boolean {
    return e.unhealthyUntil <= this.now();
  }

  markFailed(e: ChainEntry<P>, err?: unknown): void {
    const retryAfter = (err as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 0;
    e.unhealthyUntil = this.now() + Math.max(e.recoveryMs, retryAfter);
  }

  markOk(e: ChainEntry<P>): void {
    e.unhealthyUntil = 0;
  }

  timeoutError(e: ChainEntry<P>, timeoutMs = e.timeoutMs): VoicebotError {
    return new VoicebotError('VB_ERR_PROVIDER_TIMEOUT', { provider: e.plugin.provider, slot: this.slot, timeoutMs });
  }

  /** A deadline for one request: the first result of each attempt, and the request as a whole. */
  budget(): RequestBudget<P> {
    return new RequestBudget(this, this.now);
  }

  /** Move on to the next provider? Retryable failures, and 401/403 when opted in; never when the caller cancelled. */
  shouldFallOver(e: unknown, signal: AbortSignal | undefined): boolean {
    if (signal?.aborted) return false;
    if (isRetryable(e)) return true;
    return this.fallbackOnAuth && isAuthError(e);
  }

  /** Races `p` against a timer on this chain's clock; the timer is always cleared. */
  withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => unknown): Promise<T> {
    const clock = this.clock;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => reject(onTimeout()), ms);
    });
    return Promise.race([p, t]).finally(() => clock.clearTimeout(timer));
  }

  /**
   * The one failover loop of the chains: providers in order(); each attempt's
   * first result within budget.firstResultMs, later ones within the entry's
   * timeoutMs; a failure that shouldFallOver marks the provider unhealthy and
   * moves on (its request aborted), any other is thrown; when the budget or
   * the providers run out, VB_ERR_FALLBACK_EXHAUSTED with every error.
   */
  async *run<T>(signal: AbortSignal | undefined, req: ChainRequest<P, T>): AsyncGenerator<T, void, undefined> {
    const errors: unknown[] = [];
    const budget = this.budget();
    for (const entry of this.order()) {
      if (req.more && !req.more()) return;
      if (budget.exhausted()) break;
      const link = new LinkedAbort(signal);
      const it = req.start(entry, link.signal);
      let delivered = 0;
      try {
        for (;;) {
          const ms = delivered === 0 ? budget.firstResultMs(entry) : entry.timeoutMs;
          const r = await this.withTimeout(it.next(), ms, () => this.timeoutError(entry, ms));
          if (r.done) break;
          delivered++;
          if (req.budgetPerItem) budget.delivered();
          yield req.deliver ? req.deliver(r.value) : r.value;
        }
        this.markOk(entry);
        return;
      } catch (e) {
        link.abort();
        void it.return?.(undefined)?.catch(() => {});
        if (!this.shouldFallOver(e, signal)) throw e;
        this.markFailed(entry, e);
        if (req.failed && !req.failed(e, delivered)) throw e;
        errors.push(e);
      } finally {
        link.dispose();
      }
    }
    throw this.exhausted(errors);
  }

  exhausted(errors: readonly unknown[]): VoicebotError {
    const detail = errors.map((x) => (x instanceof VoicebotError ? `${x.code}: ${x.message}` : String((x as Error)?.message ?? x))).join('; ');
    return new VoicebotError('VB_ERR_FALLBACK_EXHAUSTED', { slot: this.slot, detail }, { cause: errors[errors.length - 1] });
  }
}

/**
 * How the two timeouts combine: a provider's own timeoutMs (× its retries)
 * bounds each of its requests; the chain cuts that short. The first result of
 * an attempt must come within min(entry timeoutMs, attemptMs, what is left of
 * budgetMs); later chunks within the entry's timeoutMs. So the caller waits at
 * most attemptMs for any one provider and budgetMs in all before on.error.
 */
export class RequestBudget<P extends PluginBase> {
  private start: number;

  constructor(
    private readonly chain: Chain<P>,
    private readonly now: () => number,
  ) {
    this.start = now();
  }

  /** A result reached the caller: the budget bounds silence, so it starts again. */
  delivered(): void {
    this.start = this.now();
  }

  left(): number {
    return Math.max(0, this.chain.budgetMs - (this.now() - this.start));
  }

  exhausted(): boolean {
    return this.left() <= 0;
  }

  /** ms the next first result of `e` may take. */
  firstResultMs(e: ChainEntry<P>): number {
    return Math.max(1, Math.min(e.timeoutMs, this.chain.attemptMs, this.left()));
  }
}

export function isAuthError(e: unknown): boolean {
  const status = (e as { status?: unknown } | undefined)?.status;
  return e instanceof VoicebotError && (status === 401 || status === 403 || /_AUTH$/.test(e.code));
}
