import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { VoicebotConfig } from '../../config/types.js';
import { VoicebotError } from '../../errors/index.js';
import type { Scenario, ScenarioFile } from '../../flow/scenario.js';
import type { ScenarioResult } from '../../flow/scenario-run.js';
import type { TimeMode } from '../../flow/virtual-time.js';
import type { Command } from '../command.js';

function testFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.yaml') || f.endsWith('.test.yml'))
    .sort()
    .map((f) => join(dir, f));
}

/** Scenarios run as concurrent calls (each its own app); a call mostly waits on the 20 ms audio clock. */
const DEFAULT_JOBS = Math.max(2, Math.min(4, availableParallelism() * 2));

interface Job {
  file: string;
  sc: Scenario;
  config: VoicebotConfig;
  virtual: boolean;
}

export const testCommand: Command = {
  name: 'test',
  summary: 'Run the flow scenarios (flows/*.test.yaml): simulated calls with pass/fail report',
  usage: [
    '  voicebot test [-c FILE] [-j N] [--realtime] [PATTERN]',
    '',
    '  -c, --config FILE   config file (default ./voicebot.yaml)',
    '  -j, --jobs N        scenarios run as N concurrent calls (default ' + DEFAULT_JOBS + ')',
    '      --realtime      run on the wall clock even when every provider is local',
    '  PATTERN             run only scenarios whose "file › name" contains PATTERN',
    '',
    '  Scenario files are *.test.yaml in the config directory and in its flows/.',
    '  A file with `config: x.yaml` tests that config (relative to the file);',
    '  otherwise the -c config. With -c, only files testing that config run.',
    '  Telephony is always the mock line; the other slots are the configured ones.',
    '  When every configured provider is local (mock, energy, flite, pocketsphinx,',
    '  plugins declaring virtualTime) the calls run in virtual time: timers jump,',
    '  real work (synthesis, decoding) takes no call time, and the reported',
    '  latencies are the modelled ones. A network provider means the wall clock.',
    '  Exit 0 when every scenario passed, 1 otherwise. See flows/README.md.',
  ].join('\n'),
  options: {
    config: { type: 'string', short: 'c' },
    jobs: { type: 'string', short: 'j' },
    realtime: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run(args, io) {
    let jobs = DEFAULT_JOBS;
    if (args.values.jobs !== undefined) {
      jobs = Number(args.values.jobs);
      if (!Number.isInteger(jobs) || jobs < 1) {
        io.stderr(new VoicebotError('VB_ERR_CLI_USAGE', { detail: `--jobs must be a whole number ≥ 1 (got "${String(args.values.jobs)}")` }).toLine() + '\n');
        return 2;
      }
    }
    // Loaded here, not at the top: every CLI process imports every command's module (see ./index.ts).
    const [
      { loadConfig, formatDiagnostic },
      { createLogger },
      { createDefaultRegistry },
      { formatFailures, formatTranscript, loadScenarioFile },
      { runScenario },
      { timeModeFor },
      { callerVoiceWarning },
    ] = await Promise.all([
      import('../../config/load.js'),
      import('../../logging.js'),
      import('../../plugins/registry.js'),
      import('../../flow/scenario.js'),
      import('../../flow/scenario-run.js'),
      import('../../flow/virtual-time.js'),
      import('../../flow/caller-voice.js'),
    ]);
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
          for (const d of diagnostics) io.stderr(formatDiagnostic(d, io.cwd) + '\n');
          return config;
        });
        configs.set(file, p);
      }
      return p;
    };

    const realtime = args.values.realtime === true;
    const modes = new Map<VoicebotConfig, TimeMode>();
    const modeOf = async (config: VoicebotConfig, target: string): Promise<TimeMode> => {
      let m = modes.get(config);
      if (!m) {
        m = await timeModeFor(config, registry, realtime);
        modes.set(config, m);
        const what = relative(io.cwd, target) || target;
        io.stdout(m.virtual ? `${what}: virtual time (every provider is local; --realtime for the wall clock)\n` : `${what}: real time (${m.reason})\n`);
      }
      return m;
    };

    let passed = 0;
    let failed = 0;
    const queue: Job[] = [];
    for (const file of files) {
      let sf: ScenarioFile;
      try {
        sf = await loadScenarioFile(file, relative(io.cwd, file) || file);
      } catch (e) {
        io.stdout(`✗ ${relative(io.cwd, file)}\n    ${e instanceof VoicebotError ? e.toLine() : String(e)}\n`);
        failed++;
        continue;
      }
      const target = sf.config ? resolve(dirname(file), sf.config) : configFile;
      if (explicit && target !== configFile) continue;
      for (const b of sf.broken) {
        if (pattern && !`${basename(file)} › ${b.name}`.toLowerCase().includes(pattern)) continue;
        io.stdout(`✗ ${basename(file)} › ${b.name}\n    ${b.error.toLine()}\n`);
        failed++;
      }
      const scenarios = sf.scenarios.filter((s) => !pattern || `${basename(file)} › ${s.name}`.toLowerCase().includes(pattern));
      if (scenarios.length === 0) continue;
      const config = existsSync(target) ? await getConfig(target) : undefined;
      if (!config) {
        io.stdout(`✗ ${relative(io.cwd, file)}: config ${relative(io.cwd, target)} ${existsSync(target) ? 'is invalid (see above)' : 'not found'}\n`);
        failed += scenarios.length;
        continue;
      }
      const { virtual } = await modeOf(config, target);
      for (const sc of scenarios) {
        const w = callerVoiceWarning(config, sc.callerVoice);
        if (w) io.stderr(`${relative(io.cwd, file)} › ${sc.name}: ${w.toLine()}\n`);
        queue.push({ file, sc, config, virtual });
      }
    }

    // Run `jobs` calls at a time; report in file order as results come in.
    const results: (Promise<ScenarioResult> | undefined)[] = new Array(queue.length);
    let nextJob = 0;
    const start = (): void => {
      if (nextJob >= queue.length || io.signal.aborted) return;
      const i = nextJob++;
      const { sc, config, virtual } = queue[i];
      results[i] = runScenario(sc, config, { registry, logger, virtual }).finally(() => start());
    };
    for (let k = 0; k < jobs; k++) start();
    for (let i = 0; i < queue.length; i++) {
      // Each awaited result has started the next job (finally), so results[i] is set unless interrupted.
      const p = results[i];
      if (!p) break;
      const r = await p;
      const label = `${basename(queue[i].file)} › ${queue[i].sc.name} (${(r.durationMs / 1000).toFixed(1)} s)`;
      if (r.failures.length === 0) {
        passed++;
        io.stdout(`✓ ${label}\n`);
      } else {
        failed++;
        io.stdout(`✗ ${label}\n${formatFailures(r.failures)}\n`);
        if (r.events.length) io.stdout(`    transcript:\n${formatTranscript(r.events)}\n`);
      }
    }
    if (queue.length === 0 && failed === 0) {
      io.stderr(
        new VoicebotError('VB_ERR_SCENARIO', {
          file: `${relative(io.cwd, dir) || '.'}/*.test.yaml, flows/*.test.yaml`,
          detail: `no scenarios${pattern ? ` matching "${pattern}"` : ''}${explicit ? ` testing ${relative(io.cwd, configFile)}` : ''} found`,
        }).toLine() + '\n',
      );
      return 1;
    }
    io.stdout(`\n${passed} passed, ${failed} failed\n`);
    return failed > 0 || io.signal.aborted ? 1 : 0;
  },
};
