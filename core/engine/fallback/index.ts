import type { PluginBase } from '../../plugins/base.js';
import type { SlotName, SlotTypes } from '../../plugins/slots.js';
import { VoicebotError } from '../../errors/index.js';
import type { FallbackOptions, MemberInput } from './chain.js';
import { FallbackLlm } from './llm.js';
import { FallbackStt } from './stt.js';
import { FallbackTts } from './tts.js';

export { FallbackLlm } from './llm.js';
export { FallbackStt } from './stt.js';
export { FallbackTts } from './tts.js';
export { remainingText } from './tts.js';
export {
  Chain,
  DEFAULT_RECOVERY_MS,
  DEFAULT_TIMEOUT_MS,
  type FallbackMember,
  type FallbackOptions,
  type MemberInput,
} from './chain.js';

export type FallbackSlot = 'stt' | 'llm' | 'tts';

/**
 * A plugin for `slot` that tries `instances` in order (see FallbackStt/Llm/Tts).
 * One instance is returned as is. Other slots have no fallback: they must be
 * given exactly one instance.
 */
export function createFallback<S extends SlotName>(
  slot: S,
  instances: readonly MemberInput<SlotTypes[S]>[],
  opts: FallbackOptions = {},
): SlotTypes[S] {
  const single = instances.length === 1 && isPlugin(instances[0]) ? (instances[0] as SlotTypes[S]) : undefined;
  switch (slot) {
    case 'stt':
      return (single ?? new FallbackStt(instances as never, opts)) as SlotTypes[S];
    case 'llm':
      return (single ?? new FallbackLlm(instances as never, opts)) as SlotTypes[S];
    case 'tts':
      return (single ?? new FallbackTts(instances as never, opts)) as SlotTypes[S];
    default:
      if (single) return single;
      throw new VoicebotError('VB_ERR_PLUGIN_UNSUPPORTED', { provider: 'fallback', slot, feature: 'a fallback chain' });
  }
}

function isPlugin(x: unknown): x is PluginBase {
  return typeof x === 'object' && x !== null && 'slot' in x && 'provider' in x;
}
