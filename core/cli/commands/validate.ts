import { relative, resolve } from 'node:path';
import { formatDiagnostic, loadConfig } from '../../config/load.js';
import { createDefaultRegistry } from '../../plugins/registry.js';
import type { Command } from '../command.js';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check a config: every problem at once, as file:line:col error CODE message',
  usage: ['  voicebot validate [-c FILE] [--json]', '', '  Exit 0 when valid (warnings allowed), 1 when not.'].join('\n'),
  options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } },
  maxPositionals: 0,
  async run(args, io) {
    const file = resolve(io.cwd, typeof args.values.config === 'string' ? args.values.config : 'voicebot.yaml');
    const { config, diagnostics } = await loadConfig(file, { env: io.env, registry: createDefaultRegistry() });
    if (args.values.json) {
      io.stdout(JSON.stringify({ valid: !!config, diagnostics }) + '\n');
      return config ? 0 : 1;
    }
    for (const d of diagnostics) io.stdout(formatDiagnostic(d, io.cwd) + '\n');
    const warnings = diagnostics.filter((d) => d.severity === 'warning').length;
    const errors = diagnostics.length - warnings;
    const shown = relative(io.cwd, file) || file;
    if (config) io.stdout(`ok: ${shown} is valid${warnings ? ` (${warnings} warning${warnings > 1 ? 's' : ''})` : ''}\n`);
    else io.stdout(`${errors} error${errors > 1 ? 's' : ''}${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''} in ${shown}\n`);
    return config ? 0 : 1;
  },
};
