import { VoicebotError, type ErrorParams } from '../errors/index.js';
import type { ErrorCode } from '../errors/registry.js';
import type { SlotName } from './slots.js';

/**
 * A service failure. `retryable` decides whether a fallback chain moves on to
 * the next provider (true) or gives up on this request (false).
 */
export class ProviderError extends VoicebotError {
  readonly slot: SlotName;
  readonly provider: string;
  /** HTTP status or similar, when the provider gave one. */
  readonly status?: number;
  /** ms the provider asked us to wait (retry-after), when it said. */
  readonly retryAfterMs?: number;

  constructor(
    init: {
      slot: SlotName;
      provider: string;
      detail: string;
      retryable: boolean;
      status?: number;
      retryAfterMs?: number;
      code?: ErrorCode;
      cause?: unknown;
      params?: ErrorParams;
    },
  ) {
    super(
      init.code ?? 'VB_ERR_PROVIDER',
      { slot: init.slot, provider: init.provider, detail: init.detail, ...init.params },
      { retryable: init.retryable, cause: init.cause },
    );
    this.name = 'ProviderError';
    this.slot = init.slot;
    this.provider = init.provider;
    if (init.status !== undefined) this.status = init.status;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * Any failure as this provider's ProviderError: a coded VoicebotError keeps
 * its code, parameters and retryable; anything else is a non-retryable
 * VB_ERR_PROVIDER.
 */
export function asProviderError(e: unknown, slot: SlotName, provider: string): ProviderError {
  if (e instanceof ProviderError) return e;
  if (e instanceof VoicebotError) {
    return new ProviderError({ slot, provider, detail: e.message, retryable: e.retryable, code: e.code, params: e.params, cause: e });
  }
  return new ProviderError({ slot, provider, detail: String(e), retryable: false, cause: e });
}

export function isRetryable(e: unknown): boolean {
  return e instanceof VoicebotError && e.retryable;
}
