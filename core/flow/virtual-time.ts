import type { VoicebotConfig } from '../config/types.js';
import type { PluginRegistry } from '../plugins/registry.js';

export type TimeMode = { virtual: true } | { virtual: false; reason: string };

/** Slots a simulated call creates from the config (telephony is always the mock line). */
const SIM_SLOTS = ['audioStream', 'vad', 'stt', 'llm', 'tts'] as const;

/**
 * Whether a simulated call on `config` can run in virtual time: every
 * provider it creates declares `virtualTime` in its manifest (it waits on
 * the injected clock and holds it during real work). One network provider
 * is enough for the wall clock: its answers take real time, and a virtual
 * clock would run ahead of them. Unset slots default to local providers.
 */
export async function timeModeFor(config: VoicebotConfig, registry: PluginRegistry, realtime = false): Promise<TimeMode> {
  if (realtime) return { virtual: false, reason: '--realtime' };
  for (const slot of SIM_SLOTS) {
    for (const p of config.plugins[slot] ?? []) {
      const m = await registry.resolve(slot, p.provider, config.source.dir);
      if (!m.virtualTime) return { virtual: false, reason: `${slot} provider ${p.provider} is not local (its manifest does not declare virtualTime)` };
    }
  }
  return { virtual: true };
}
