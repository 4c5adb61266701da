import type { BuiltinEntry } from '../core/plugins/registry.js';
import type { AnyPluginManifest } from '../core/plugins/manifest.js';

/**
 * Every provider that ships with voicebot. Each is imported only when a
 * config names it, so e.g. the WebRTC stack loads only for ringcentral.
 */
function entry(slot: BuiltinEntry['slot'], name: string, load: () => Promise<unknown>): BuiltinEntry {
  return { slot, name, load: load as () => Promise<AnyPluginManifest> };
}

export const BUILTIN_PLUGINS: readonly BuiltinEntry[] = [
];
