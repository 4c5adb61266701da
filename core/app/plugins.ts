import type { VoicebotConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { PluginContext } from '../plugins/base.js';
import type { PluginRegistry } from '../plugins/registry.js';
import type { SlotName, SlotTypes } from '../plugins/slots.js';
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

/** Slots that work without configuration, and what they default to. */
const DEFAULT_PROVIDERS: Partial<Record<SlotName, string>> = { audioStream: 'inprocess', vad: 'energy' };

/**
 * One instance per configured slot, created from the plugin manifests; a
 * list under stt/llm/tts becomes a fallback adapter over its members.
 */
export async function createPlugins(
  config: VoicebotConfig,
  registry: PluginRegistry,
  logger: Logger,
  overrides: SlotOverrides = {},
  skip: readonly SlotName[] = [],
  clock?: Clock,
): Promise<ResolvedPlugins> {
  const ctx: PluginContext = { configDir: config.source.dir, logger, language: config.settings.language, settings: config.settings, ...(clock ? { clock } : {}) };
  const out: Partial<Record<SlotName, unknown>> = {};
  for (const slot of ['telephony', 'audioStream', 'vad', 'stt', 'llm', 'tts'] as const) {
    if (overrides[slot]) {
      out[slot] = overrides[slot];
      continue;
    }
    if (skip.includes(slot)) continue;
    const chain = config.plugins[slot] ?? (DEFAULT_PROVIDERS[slot] ? [{ provider: DEFAULT_PROVIDERS[slot]!, options: {} }] : []);
    if (chain.length === 0) continue;
    const instances = [];
    for (const p of chain) {
      const manifest = await registry.resolve(slot, p.provider, config.source.dir);
      try {
        instances.push(await manifest.create(p.options as never, { ...ctx, logger: logger.child({ slot, provider: p.provider }) }));
      } catch (e) {
        if (e instanceof VoicebotError) throw e;
        throw toVoicebotError(e, 'VB_ERR_PLUGIN_START', { provider: p.provider, slot });
      }
    }
    if (instances.length === 1 || slot === 'telephony' || slot === 'audioStream' || slot === 'vad') {
      out[slot] = instances[0];
    } else {
      out[slot] = createFallback(slot, instances as never);
    }
  }
  return out as unknown as ResolvedPlugins;
}
