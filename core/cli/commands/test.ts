import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { loadConfig, formatDiagnostic } from '../../config/load.js';
import type { VoicebotConfig } from '../../config/types.js';
import { VoicebotError } from '../../errors/index.js';
import { createLogger } from '../../logging.js';
import { createDefaultRegistry } from '../../plugins/registry.js';
import { formatFailures, formatTranscript, loadScenarioFile, type ScenarioFile } from '../../flow/scenario.js';
import { runScenario } from '../../flow/scenario-run.js';
import type { Command } from '../command.js';

function testFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.yaml') || f.endsWith('.test.yml'))
    .sort()
    .map((f) => join(dir, f));
}

export const testCommand: Command = {
  name: 'test',
  summary: 'Run the flow scenarios (flows/*.test.yaml) against mock plugins',
  usage: [
    '  voicebot test [-c FILE] [PATTERN]',
    '',
    '  -c, --config FILE   config file (default ./voicebot.yaml)',
    '  PATTERN             run only scenarios whose "file › name" contains PATTERN',
    '',
    '  Scenario files are *.test.yaml in the config directory and in its flows/.',
    '  A file with `config: x.yaml` tests that config; otherwise the -c config.',
    '  With -c, only files testing that config run. See flows/README.md.',
  ].join('\n'),
  options: {
    config: { type: 'string', short: 'c' },
  },
  maxPositionals: 1,
  async run(args, io) {
    const explicit = typeof args.values.config === 'string';
    const configFile = resolve(io.cwd, explicit ? (args.values.config as string) : 'voicebot.yaml');
    const dir = dirname(configFile);
    const pattern = args.positionals[0]?.toLowerCase();
    const files = [...new Set([...testFilesIn(dir), ...testFilesIn(join(dir, 'flows'))])];
    const registry = createDefaultRegistry();
    const logger = createLogger({ level: io.env.VOICEBOT_LOG ?? 'silent' });
    const configs = new Map<string, Promise<VoicebotConfig | undefined>>();
    const getConfig = (file: string): Promise<VoicebotConfig | undefined> => {
      let p = configs.get(file);
      if (!p) {
        p = loadConfig(file, { env: io.env, registry }).then(({ config, diagnostics }) => {
          for (const d of diagnostics) io.stderr(formatDiagnostic(d) + '\n');
          return config;
        });
        configs.set(file, p);
      }
      return p;
    };

    let passed = 0;
    let failed = 0;
    let ran = 0;
    for (const file of files) {
      let sf: ScenarioFile;
      try {
        sf = await loadScenarioFile(file);
      } catch (e) {
        io.stdout(`✗ ${relative(io.cwd, file)}\n    ${e instanceof VoicebotError ? e.toLine() : String(e)}\n`);
        failed++;
        continue;
      }
      const target = sf.config ? resolve(dirname(file), sf.config) : configFile;
      if (explicit && target !== configFile) continue;
      const scenarios = sf.scenarios.filter((s) => !pattern || `${basename(file)} › ${s.name}`.toLowerCase().includes(pattern));
      if (scenarios.length === 0) continue;
      const config = existsSync(target) ? await getConfig(target) : undefined;
      if (!config) {
        io.stdout(`✗ ${relative(io.cwd, file)}: config ${relative(io.cwd, target)} ${existsSync(target) ? 'is invalid (see above)' : 'not found'}\n`);
        failed += scenarios.length;
        continue;
      }
      for (const sc of scenarios) {
        if (io.signal.aborted) break;
        ran++;
        const r = await runScenario(sc, config, { registry, logger });
        const label = `${basename(file)} › ${sc.name} (${(r.durationMs / 1000).toFixed(1)} s)`;
        if (r.failures.length === 0) {
          passed++;
          io.stdout(`✓ ${label}\n`);
        } else {
          failed++;
          io.stdout(`✗ ${label}\n${formatFailures(r.failures)}\n`);
          if (r.events.length) io.stdout(`    transcript:\n${formatTranscript(r.events)}\n`);
        }
      }
    }
    if (ran === 0 && failed === 0) {
      io.stderr(
        `error VB_ERR_SCENARIO no scenarios${pattern ? ` matching "${pattern}"` : ''} found in ${relative(io.cwd, dir) || '.'}/*.test.yaml or flows/*.test.yaml\n`,
      );
      return 1;
    }
    io.stdout(`\n${passed} passed, ${failed} failed\n`);
    return failed > 0 ? 1 : 0;
  },
};
