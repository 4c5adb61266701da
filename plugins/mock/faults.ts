import { ProviderError } from '../../core/plugin-api.js';
import type { SlotName } from '../../core/plugin-api.js';
import { realClock, type Clock } from '../../core/plugin-api.js';

/** Options every mock service shares: latency and failure injection. */
export interface FaultOptions {
  /** ms before each request answers: STT final transcript, LLM first token, TTS first chunk (see each plugin's schema). */
  latencyMs?: number;
  /** Fail every request after this many successful ones. */
  failAfter?: number;
  /** Probability 0..1 that a request fails (deterministic, see seed). */
  errorRate?: number;
  seed?: number;
  /** Whether injected failures are retryable (default true). */
  retryable?: boolean;
}

export const FAULT_SCHEMA_PROPS = {
  latencyMs: { type: 'number', minimum: 0, description: 'ms before each request answers' },
  failAfter: { type: 'integer', minimum: 0, description: 'fail every request after this many successes' },
  errorRate: { type: 'number', minimum: 0, maximum: 1, description: 'probability that a request fails' },
  seed: { type: 'integer', description: 'seed of the failure PRNG' },
  retryable: { type: 'boolean', description: 'whether injected failures are retryable (default true)' },
} as const;

/** Deterministic failure injection (mulberry32), so test runs repeat exactly. */
export class Faults {
  private count = 0;
  private state: number;
  constructor(
    private readonly slot: SlotName,
    private readonly opts: FaultOptions,
    /** Where delays are waited out (PluginContext.clock): virtual in tests and simulations. */
    readonly clock: Clock = realClock,
  ) {
    this.state = (opts.seed ?? 1) >>> 0;
  }

  private random(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Throws the injected failure for this request, if any. */
  check(): void {
    const n = this.count++;
    const failAfter = this.opts.failAfter;
    let why: string | undefined;
    if (failAfter !== undefined && n >= failAfter) why = `failAfter ${failAfter}`;
    else if (this.opts.errorRate && this.random() < this.opts.errorRate) why = `errorRate ${this.opts.errorRate}`;
    if (why) {
      throw new ProviderError({
        slot: this.slot,
        provider: 'mock',
        detail: why,
        retryable: this.opts.retryable ?? true,
        code: 'VB_ERR_PROVIDER_MOCK_FAILURE',
      });
    }
  }

  async delay(signal?: AbortSignal): Promise<void> {
    const ms = this.opts.latencyMs ?? 0;
    if (ms > 0) await this.clock.sleep(ms, signal);
  }

  get latencyMs(): number {
    return this.opts.latencyMs ?? 0;
  }
}
