import type { MetricSink, PluginContext, PluginMetric } from '../plugins/base.js';
import { silentLogger } from '../logging.js';
import { realClock } from '../time/clock.js';

/** The context voicebot hands a plugin's create(), for constructing one in a test. */
export function testContext(overrides: Partial<PluginContext> = {}): PluginContext {
  return { configDir: process.cwd(), logger: silentLogger(), language: 'en-US', clock: realClock, ...overrides };
}

/** A metric sink that keeps what it receives: `plugin.setMetricSink(m.sink)`, then look at `m.metrics`. */
export function recordMetrics(): { sink: MetricSink; metrics: PluginMetric[]; names(): string[] } {
  const metrics: PluginMetric[] = [];
  return { sink: (m) => void metrics.push(m), metrics, names: () => metrics.map((m) => m.name) };
}
