import type { VoicebotConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { HttpMockServer } from './http-mock.js';
import { checkScenario, type Failure, type Scenario } from './scenario.js';
import type { CallerTurn, ObservedEvent } from './scripted-caller.js';
import { startSimulation } from './sim.js';
import { realClock, type Clock } from '../time/clock.js';
import { VirtualClock } from '../time/virtual-clock.js';

export interface ScenarioResult {
  name: string;
  failures: Failure[];
  events: ObservedEvent[];
  /** Wall-clock ms the run took. */
  durationMs: number;
  /** ms the call took on its own clock (equal to durationMs in real time). */
  callMs: number;
  virtual: boolean;
}

/**
 * One scenario = one simulated call on a fresh app (so no state leaks
 * between scenarios), with its http mocks on a loopback server for the
 * duration of the call.
 */
export async function runScenario(
  sc: Scenario,
  config: VoicebotConfig,
  opts: { registry?: PluginRegistry; logger?: Logger; idleTimeoutMs?: number; virtual?: boolean } = {},
): Promise<ScenarioResult> {
  const t0 = performance.now();
  // One clock per scenario: its calls' timing does not depend on what else runs.
  const clock: Clock = opts.virtual ? new VirtualClock() : realClock;
  const c0 = clock.now();
  const virtual = clock.virtual;
  const server = sc.httpMocks.length || Object.values(sc.vars).some((v) => v.includes('{{mock.url}}')) ? new HttpMockServer(sc.httpMocks) : undefined;
  try {
    const base = server ? await server.start() : '';
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(sc.vars)) vars[k] = v.replaceAll('{{mock.url}}', base);
    const cfg: VoicebotConfig = Object.keys(vars).length ? { ...config, vars: { ...config.vars, ...vars } } : config;
    const sim = await startSimulation({
      config: cfg,
      flow: sc.flow,
      from: sc.from,
      to: sc.to,
      callerVoice: sc.callerVoice,
      registry: opts.registry,
      logger: opts.logger,
      idleTimeoutMs: opts.idleTimeoutMs,
      clock,
    });
    sim.caller.push(...sc.turns.flatMap((t): CallerTurn[] => (t.action ? [t.action] : [])));
    sim.caller.finish();
    const res = await sim.done;
    const failures = checkScenario(sc, { events: res.events, reason: res.reason, http: server?.requests ?? [] });
    return { name: sc.name, failures, events: res.events, durationMs: performance.now() - t0, callMs: clock.now() - c0, virtual };
  } catch (e) {
    const msg = e instanceof Error ? ((e as { toLine?: () => string }).toLine?.() ?? e.message) : String(e);
    return { name: sc.name, failures: [{ where: 'call', what: 'ran', expected: 'the call runs', actual: msg }], events: [], durationMs: performance.now() - t0, callMs: clock.now() - c0, virtual };
  } finally {
    await server?.stop();
    if (clock instanceof VirtualClock) clock.dispose();
  }
}
