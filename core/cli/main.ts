import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import type { CliIO, Command } from './command.js';
import { VoicebotError } from '../errors/index.js';
import { COMMANDS } from './commands/index.js';
import { LOG_LEVELS, isLogLevel } from '../log-levels.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'voicebot — answer phone calls with an AI voice agent',
    '',
    'Usage: voicebot <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show help (also: voicebot <command> --help)',
    '  -v, --version  print the version',
    `  --log-level L  log level for any command: ${LOG_LEVELS.join(', ')} (or VOICEBOT_LOG=L; default info)`,
    '',
    'Logs go to stderr: one readable line per event on a terminal, JSON lines otherwise (run --json: JSON too).',
    '',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return `${c.summary}\n\nUsage:\n${c.usage}\n`;
}

function usageError(io: CliIO, detail: string): number {
  io.stderr(new VoicebotError('VB_ERR_CLI_USAGE', { detail }).toLine() + '\n');
  return 2;
}

/** Runs one CLI invocation and returns the exit code: 0 ok, 1 failure, 2 usage error. */
export async function main(argv: string[], io?: Partial<CliIO>): Promise<number> {
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  const ownSignals = !io?.signal;
  if (ownSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const full: CliIO = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    cwd: process.cwd(),
    env: process.env,
    signal: ac.signal,
    stdin: process.stdin,
    ...io,
  };
  try {
    return await dispatch(argv, full);
  } catch (e) {
    // Never a stack trace: coded errors print their line, anything else a generic one.
    if (e instanceof VoicebotError) full.stderr(e.toLine() + '\n');
    else full.stderr(`error VB_ERR_PROVIDER ${(e as Error)?.message ?? String(e)}\n`);
    return 1;
  } finally {
    if (ownSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

/** `--log-level L` (or `--log-level=L`) anywhere on the line, for every command. */
function takeLogLevel(argv: string[]): { argv: string[]; level?: string; missing?: boolean } {
  const out: string[] = [];
  let level: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--log-level') {
      if (i + 1 >= argv.length) return { argv, missing: true };
      level = argv[++i];
    } else if (a.startsWith('--log-level=')) level = a.slice('--log-level='.length);
    else out.push(a);
  }
  return { argv: out, level };
}

async function dispatch(rawArgv: string[], rawIo: CliIO): Promise<number> {
  const lv = takeLogLevel(rawArgv);
  if (lv.missing) return usageError(rawIo, `--log-level needs a level: ${LOG_LEVELS.join(', ')}`);
  if (lv.level !== undefined && !isLogLevel(lv.level)) return usageError(rawIo, `--log-level must be one of ${LOG_LEVELS.join(', ')}, not "${lv.level}"`);
  const io: CliIO = lv.level ? { ...rawIo, env: { ...rawIo.env, VOICEBOT_LOG: lv.level } } : rawIo;
  const argv = lv.argv;
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    if (first === 'help' && rest[0]) {
      const c = COMMANDS.find((x) => x.name === rest[0]);
      if (!c) return usageError(io, `Unknown command "${rest[0]}"`);
      io.stdout(commandHelp(c));
      return 0;
    }
    io.stdout(helpText());
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version') {
    io.stdout(version() + '\n');
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === first);
  if (!cmd) {
    if (first.startsWith('-')) return usageError(io, `Unknown option "${first}"`);
    const guess = COMMANDS.map((c) => c.name).find((n) => n.startsWith(first.slice(0, 3)));
    return usageError(io, `Unknown command "${first}"${guess ? ` (did you mean "${guess}"?)` : ''}`);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(commandHelp(cmd));
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    return usageError(io, (e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (parsed.positionals.length > cmd.maxPositionals) {
    return usageError(io, `Too many arguments for "${cmd.name}": ${parsed.positionals.slice(cmd.maxPositionals).join(' ')}`);
  }
  return cmd.run({ values: parsed.values, positionals: parsed.positionals, tokens: parsed.tokens } as never, io);
}
