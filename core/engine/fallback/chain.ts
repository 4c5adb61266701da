import { VoicebotError } from '../../errors/index.js';
import type { PluginBase } from '../../plugins/base.js';
import { isRetryable } from '../../plugins/errors.js';
import type { SlotName } from '../../plugins/slots.js';

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
  /** Monotonic ms; injectable so recovery can be tested without waiting. */
  now?: () => number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RECOVERY_MS = 30_000;

export interface ChainEntry<P> {
  plugin: P;
  timeoutMs: number;
  recoveryMs: number;
  /** Skipped (tried only as a last resort) until this time. */
  unhealthyUntil: number;
}

export type MemberInput<P> = P | FallbackMember<P>;

function isMember<P>(x: MemberInput<P>): x is FallbackMember<P> {
  return typeof x === 'object' && x !== null && 'plugin' in x && !('slot' in x);
}

/** Provider order and health shared by the three slot adapters. */
export class Chain<P extends PluginBase> {
  readonly entries: ChainEntry<P>[];
  readonly slot: SlotName;
  private readonly now: () => number;

  constructor(slot: SlotName, members: readonly MemberInput<P>[], opts: FallbackOptions = {}) {
    if (members.length === 0) throw new VoicebotError('VB_ERR_FALLBACK_EXHAUSTED', { slot, detail: 'no providers configured' });
    this.slot = slot;
    this.now = opts.now ?? (() => performance.now());
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

  timeoutError(e: ChainEntry<P>): VoicebotError {
    return new VoicebotError('VB_ERR_PROVIDER_TIMEOUT', { provider: e.plugin.provider, slot: this.slot, timeoutMs: e.timeoutMs });
  }

  exhausted(errors: readonly unknown[]): VoicebotError {
    const detail = errors.map((x) => (x instanceof VoicebotError ? `${x.code}: ${x.message}` : String((x as Error)?.message ?? x))).join('; ');
    return new VoicebotError('VB_ERR_FALLBACK_EXHAUSTED', { slot: this.slot, detail }, { cause: errors[errors.length - 1] });
  }
}

/** Move on to the next provider? Only for retryable failures, never when the caller cancelled. */
export function shouldFallOver(e: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return false;
  return isRetryable(e);
}

/** Races `p` against a timer; the timer is always cleared. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => unknown): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
