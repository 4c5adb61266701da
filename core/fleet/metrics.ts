/**
 * Prometheus metrics of one voicebot process (prom-client), fed from the
 * app's call and stream events — the engine is not touched. Gauges that mirror
 * live state (active calls, pacer lateness, capacity) are read at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { VoicebotApp } from '../app/app.js';
import type { CallEvent, TurnMetrics } from '../engine/events.js';
import type { StreamEvent } from '../app/roles.js';

/** Turn stages in the histogram's `stage` label, and the TurnMetrics field each comes from. */
const STAGES: [string, keyof TurnMetrics][] = [
  ['end_of_speech', 'endOfUtteranceMs'],
  ['stt', 'sttMs'],
  ['llm_first_token', 'llmTtftMs'],
  ['tts_first_byte', 'ttsTtfbMs'],
  ['voice_to_voice', 'e2eMs'],
  ['overhead', 'overheadMs'],
];

/** The pacer's own counters, when the app's clock has them (read only, duck-typed). */
interface PacerStats {
  latenessPercentile?(p: number): number;
  lateTicks?: number;
}

export interface FleetGauges {
  capacity(): number;
  registered(): boolean;
}

export class VoicebotMetrics {
  readonly registry = new Registry();
  readonly calls: Counter<'outcome'>;
  readonly turnLatency: Histogram<'stage'>;
  readonly providerErrors: Counter<'code' | 'slot'>;
  readonly dispatchRetries: Counter<'code'>;
  readonly dispatchFailures: Counter;
  readonly redispatches: Counter;

  constructor(app: VoicebotApp, fleet: FleetGauges) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ role: app.role });
    // process_*, nodejs_eventloop_lag_* (event-loop lag), heap, GC.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    new Gauge({ name: 'voicebot_active_calls', help: 'Calls running in this process now', registers, collect() { this.set(app.activeCalls); } });
    new Gauge({
      name: 'voicebot_worker_load_ratio',
      help: 'Active calls / capacity (0 when capacity is unlimited); the worker HPA scales on this',
      registers,
      collect() {
        const c = fleet.capacity();
        this.set(c > 0 ? app.activeCalls / c : 0);
      },
    });
    new Gauge({ name: 'voicebot_worker_capacity', help: 'Most concurrent calls this worker takes (0: no limit)', registers, collect() { this.set(fleet.capacity()); } });
    new Gauge({ name: 'voicebot_draining', help: '1 while draining after SIGTERM', registers, collect() { this.set(app.draining ? 1 : 0); } });
    new Gauge({ name: 'voicebot_registered', help: '1 while this worker is in the fleet registry (always 0 outside a fleet)', registers, collect() { this.set(fleet.registered() ? 1 : 0); } });
    const pacer = app.clock as unknown as PacerStats;
    new Gauge({
      name: 'voicebot_pacer_lateness_seconds',
      help: 'Lateness of the 20 ms audio pacer timer (quantiles since start)',
      labelNames: ['quantile'],
      registers,
      collect() {
        if (typeof pacer.latenessPercentile !== 'function') return;
        for (const q of [0.5, 0.99, 0.999]) this.set({ quantile: String(q) }, pacer.latenessPercentile(q * 100) / 1000);
      },
    });
    new Gauge({ name: 'voicebot_pacer_resyncs', help: 'Pacer firings so late the clock resynced', registers, collect() { this.set(pacer.lateTicks ?? 0); } });
    this.calls = new Counter({ name: 'voicebot_calls_total', help: 'Calls ended, by outcome (hangup reason)', labelNames: ['outcome'], registers });
    this.turnLatency = new Histogram({
      name: 'voicebot_turn_latency_seconds',
      help: 'Per-turn latency by stage (end_of_speech, stt, llm_first_token, tts_first_byte, voice_to_voice, overhead)',
      labelNames: ['stage'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5],
      registers,
    });
    this.providerErrors = new Counter({ name: 'voicebot_provider_errors_total', help: 'Coded errors reported on calls, by code and slot', labelNames: ['code', 'slot'], registers });
    this.dispatchRetries = new Counter({ name: 'voicebot_dispatch_retries_total', help: 'Edge: placements retried on another worker, by the failure code', labelNames: ['code'], registers });
    this.dispatchFailures = new Counter({ name: 'voicebot_dispatch_failures_total', help: 'Edge: calls that could not be placed on any worker', registers });
    this.redispatches = new Counter({ name: 'voicebot_redispatches_total', help: 'Edge: calls moved to another worker after theirs was lost', registers });
    for (const o of ['caller-hangup', 'bot-hangup', 'transferred', 'error', 'shutdown']) this.calls.inc({ outcome: o }, 0);

    // Split mode: call events reach the edge too (worker.event); counting them there would count twice.
    if (app.role !== 'edge') app.onEvent((ev) => this.onCallEvent(ev));
    else app.onStreamEvent((ev) => this.onStreamEvent(ev));
  }

  private onCallEvent(ev: CallEvent): void {
    if (ev.type === 'call.ended') this.calls.inc({ outcome: ev.reason });
    else if (ev.type === 'call.error') this.providerErrors.inc({ code: ev.code, slot: ev.slot ?? 'flow' });
    else if (ev.type === 'turn.metrics') {
      for (const [stage, key] of STAGES) {
        const v = ev[key];
        if (typeof v === 'number' && Number.isFinite(v) && v >= 0) this.turnLatency.observe({ stage }, v / 1000);
      }
    }
  }

  private onStreamEvent(ev: StreamEvent): void {
    if (ev.type === 'stream.ended') {
      this.calls.inc({ outcome: ev.reason });
      if (ev.code) this.providerErrors.inc({ code: ev.code, slot: 'audioStream' });
      if (ev.code === 'VB_ERR_FLEET_NO_WORKER') this.dispatchFailures.inc();
    } else if (ev.type === 'stream.redispatched') this.redispatches.inc();
  }
}
