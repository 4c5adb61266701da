import type { MetricSink, PluginBase, PluginMetric } from '../plugins/base.js';

/**
 * Plugins are shared by every call but have one metric sink each. The engine
 * installs this router as that sink once per plugin and each call registers
 * for its own callId, so a measurement reaches the call that caused it.
 */
const perCall = new Map<string, MetricSink>();
const global = new Set<MetricSink>();
const wired = new WeakSet<PluginBase>();

const dispatch: MetricSink = (m: PluginMetric) => {
  if (m.callId !== undefined) {
    const sink = perCall.get(m.callId);
    if (sink) sink(m);
  }
  for (const g of global) g(m);
};

/** Route metrics of `plugins` that carry `callId` to `sink`; returns the unregister function. */
export function routeCallMetrics(plugins: readonly (PluginBase | undefined)[], callId: string, sink: MetricSink): () => void {
  for (const p of plugins) {
    if (p && !wired.has(p)) {
      wired.add(p);
      p.setMetricSink(dispatch);
    }
  }
  perCall.set(callId, sink);
  return () => {
    if (perCall.get(callId) === sink) perCall.delete(callId);
  };
}

/** Every routed plugin metric, whatever the call (benchmarks, exporters). */
export function onPluginMetric(sink: MetricSink): () => void {
  global.add(sink);
  return () => global.delete(sink);
}

/** Calls currently registered (the leak test expects 0 after all calls ended). */
export function routedCallCount(): number {
  return perCall.size;
}
