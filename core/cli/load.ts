import { resolve } from 'node:path';
import { loadConfig, formatDiagnostic } from '../config/load.js';
import type { VoicebotConfig } from '../config/types.js';
import { createDefaultRegistry, type PluginRegistry } from '../plugins/registry.js';
import type { CliIO } from './command.js';

/**
 * Load and validate the config for a command that runs the bot. Prints
 * diagnostics (warnings too) to stderr; returns undefined when invalid.
 */
export async function loadForCommand(
  io: CliIO,
  configOpt: unknown,
  registry: PluginRegistry = createDefaultRegistry(),
): Promise<VoicebotConfig | undefined> {
  const file = resolve(io.cwd, typeof configOpt === 'string' ? configOpt : 'voicebot.yaml');
  const { config, diagnostics } = await loadConfig(file, { env: io.env, registry });
  for (const d of diagnostics) io.stderr(formatDiagnostic(d) + '\n');
  return config;
}
