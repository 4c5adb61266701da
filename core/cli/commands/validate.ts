import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { formatDiagnostic, makeDiagnostic } from '../../config/diagnostics.js';
import type { Command } from '../command.js';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check a config: every problem at once, as file:line:col error CODE message',
  usage: ['  voicebot validate [-c FILE] [--json]', '', '  Exit 0 when valid (warnings allowed), 1 when not.'].join('\n'),
  options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } },
  maxPositionals: 0,
  async run(args, io) {
    const file = resolve(io.cwd, typeof args.values.config === 'string' ? args.values.config : 'voicebot.yaml');
    const scenarioOf = scenarioFileConfig(file);
    if (scenarioOf !== undefined) {
      const show = (f: string): string => relative(io.cwd, f) || f;
      const cfg = show(resolve(dirname(file), scenarioOf || 'voicebot.yaml'));
      const d = makeDiagnostic(file, { line: 1, col: 1 }, 'VB_ERR_CLI_SCENARIO_FILE', { file: show(file), config: cfg });
      io.stdout((args.values.json ? JSON.stringify({ valid: false, diagnostics: [d] }) : formatDiagnostic(d, io.cwd)) + '\n');
      return 1;
    }
    // Loaded here, not at the top: every CLI process imports every command's module (see ./index.ts).
    const [{ loadConfig }, { createDefaultRegistry }] = await Promise.all([import('../../config/load.js'), import('../../plugins/registry.js')]);
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

/** The `config:` of a scenario file (`scenarios:` at the top, no bot keys), or undefined for anything else. */
function scenarioFileConfig(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // the config loader reports the syntax error with its position
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  if (!('scenarios' in d) || 'plugins' in d || 'flows' in d || 'version' in d) return undefined;
  return typeof d.config === 'string' ? d.config : '';
}
