import type { Settings } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { SlotName } from './slots.js';
import type { Clock } from '../time/clock.js';
import type { DependencyContainer } from 'tsyringe';

/** One timing measurement a plugin wrapper reports (ms). */
export interface PluginMetric {
  slot: SlotName;
  provider: string;
  /** e.g. 'ttfb' (tts), 'ttft' (llm), 'latency' (stt), 'duration'. */
  name: string;
  /** The value: ms, unless `unit` says otherwise. */
  ms: number;
  /** Call the measurement belongs to, when the request carried one. */
  callId?: string;
  /** Unit of `ms` when it is not a duration (e.g. LLM token usage). Absent = ms. */
  unit?: 'tokens';
}

export type MetricSink = (m: PluginMetric) => void;

/** Given to every plugin's create(). */
export interface PluginContext {
  /** Directory of the config file: relative paths in options resolve from here. */
  configDir: string;
  logger: Logger;
  /** Language from settings.language, e.g. en-US. */
  language: string;
  /** The config's settings (e.g. settings.server for the local softphone); absent outside an app. */
  settings?: Readonly<Settings>;
  /** Time source: read and wait on this (never the wall clock directly) so calls can run in virtual time. Absent = realClock. */
  clock?: Clock;
  /**
   * The DI container the plugin is created with: `ctx.container.resolve(TOKENS.HttpClient)`
   * (tokens: TOKENS in voicebot/plugin). Its Logger is the plugin's own. Absent outside an app.
   */
  container?: DependencyContainer;
}

/**
 * What every slot's abstract base shares: a provider name, an optional
 * lifecycle and a metric sink. Public methods on the slot bases wrap protected
 * `_method`s so timing is measured in one place, never by each plugin.
 */
export abstract class PluginBase {
  abstract readonly slot: SlotName;
  /** The provider name it was configured with (e.g. "mock", "openai"). */
  readonly provider: string;
  protected metricSink: MetricSink | undefined;

  constructor(provider: string) {
    this.provider = provider;
  }

  setMetricSink(sink: MetricSink | undefined): void {
    this.metricSink = sink;
  }

  protected emitMetric(name: string, ms: number, callId?: string, unit?: 'tokens'): void {
    this.metricSink?.(unit ? { slot: this.slot, provider: this.provider, name, ms, callId, unit } : { slot: this.slot, provider: this.provider, name, ms, callId });
  }

  /** Connect, warm up, register... Called once at boot. */
  async start(): Promise<void> {
    await this._start();
  }

  /** Release everything start() acquired. Must be idempotent. */
  async stop(): Promise<void> {
    await this._stop();
  }

  protected async _start(): Promise<void> {}
  protected async _stop(): Promise<void> {}
}
