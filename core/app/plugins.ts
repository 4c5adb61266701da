import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer, type InjectionToken } from 'tsyringe';
import type { VoicebotConfig } from '../config/types.js';
import { TOKENS } from '../di/tokens.js';
import type { Logger } from '../logging.js';
import type { MetricSink, PluginContext } from '../plugins/base.js';
import type { PluginRegistry } from '../plugins/registry.js';
import type { SlotName, SlotTypes } from '../plugins/slots.js';
import { realClock } from '../time/clock.js';
import { createFallback } from '../engine/fallback/index.js';
import { VoicebotError, toVoicebotError } from '../errors/index.js';
import type { Clock } from '../time/clock.js';

export type SlotOverrides = { [S in SlotName]?: SlotTypes[S] };

export interface ResolvedPlugins {
  telephony?: SlotTypes['telephony'];
  audioStream: SlotTypes['audioStream'];
  vad: SlotTypes['vad'];
  stt?: SlotTypes['stt'];
  llm?: SlotTypes['llm'];
  tts?: SlotTypes['tts'];
}

/** Slots that work without configuration, and what they default to (`auto`: silero when it loads, else energy). */
const DEFAULT_PROVIDERS: Partial<Record<SlotName, string>> = { audioStream: 'inprocess', vad: 'auto' };

export const SLOT_TOKENS: { [S in SlotName]: InjectionToken<SlotTypes[S]> } = {
  telephony: TOKENS.Telephony,
  audioStream: TOKENS.AudioStream,
  vad: TOKENS.Vad,
  stt: TOKENS.Stt,
  llm: TOKENS.Llm,
  tts: TOKENS.Tts,
};

/** Registers a default unless the embedder (or a test) registered its own. */
function provide<T>(c: DependencyContainer, token: InjectionToken<T>, value: T): void {
  if (!c.isRegistered(token, true)) c.register(token, { useValue: value });
}

/** The process-wide services every plugin may resolve; anything already registered wins. */
export function registerServices(c: DependencyContainer, config: VoicebotConfig, logger: Logger): void {
  provide(c, TOKENS.Config, config);
  provide(c, TOKENS.Logger, logger);
  provide(c, TOKENS.Clock, realClock);
  provide(c, TOKENS.HttpClient, (input, init) => fetch(input, init));
  const metricsLog = logger.child({ metrics: true });
  provide<MetricSink>(c, TOKENS.Metrics, (m) => metricsLog.debug(m, 'metric'));
}

/**
 * One instance per configured slot, each created through the DI container:
 * its create() gets a child container (PluginContext.container) to resolve
 * services and the slots created before it (telephony, audioStream, vad,
 * stt, llm, tts, in that order). A slot token already registered in the
 * container replaces the configured plugin. A list under stt/llm/tts becomes
 * a fallback adapter over its members.
 */
export async function createPlugins(
  config: VoicebotConfig,
  registry: PluginRegistry,
  logger: Logger,
  overrides: SlotOverrides = {},
  skip: readonly SlotName[] = [],
  container: DependencyContainer = rootContainer.createChildContainer(),
): Promise<ResolvedPlugins> {
  registerServices(container, config, logger);
  for (const [slot, instance] of Object.entries(overrides) as [SlotName, SlotTypes[SlotName]][]) {
    if (instance) container.register(SLOT_TOKENS[slot] as InjectionToken<unknown>, { useValue: instance });
  }
  const clock = container.resolve(TOKENS.Clock);
  const out: Partial<Record<SlotName, unknown>> = {};
  for (const slot of ['telephony', 'audioStream', 'vad', 'stt', 'llm', 'tts'] as const) {
    const token = SLOT_TOKENS[slot] as InjectionToken<unknown>;
    if (container.isRegistered(token, true)) {
      out[slot] = container.resolve(token);
      continue;
    }
    if (skip.includes(slot)) continue;
    const chain = config.plugins[slot] ?? (DEFAULT_PROVIDERS[slot] ? [{ provider: DEFAULT_PROVIDERS[slot]!, options: {} }] : []);
    if (chain.length === 0) continue;
    const instances = [];
    for (const p of chain) {
      const manifest = await registry.resolve(slot, p.provider, config.source.dir);
      const pluginLogger = logger.child({ slot, provider: p.provider });
      const scope = container.createChildContainer();
      scope.register(TOKENS.Logger, { useValue: pluginLogger });
      const ctx: PluginContext = { configDir: config.source.dir, logger: pluginLogger, language: config.settings.language, settings: config.settings, clock, container: scope };
      try {
        instances.push(await manifest.create(p.options as never, ctx));
      } catch (e) {
        if (e instanceof VoicebotError) throw e;
        throw toVoicebotError(e, 'VB_ERR_PLUGIN_START', { provider: p.provider, slot });
      }
    }
    if (instances.length === 1 || slot === 'telephony' || slot === 'audioStream' || slot === 'vad') {
      out[slot] = instances[0];
    } else {
      const f = config.settings.fallback;
      out[slot] = createFallback(slot, instances as never, f ? { attemptMs: f.attemptMs, budgetMs: f.budgetMs, fallbackOnAuth: f.onAuthError } : {});
    }
    container.register(token, { useValue: out[slot] });
  }
  return out as unknown as ResolvedPlugins;
}
