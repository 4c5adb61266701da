import type { ParseArgsConfig } from 'node:util';

/** Where a command writes and what it sees; tests pass their own. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Lines typed by the user (console command); undefined when not interactive. */
  stdin?: NodeJS.ReadableStream;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  /** parseArgs tokens, for commands where the order of repeated flags matters (simulate). */
  tokens?: { kind: string; name?: string; value?: string | undefined; index: number }[];
}

/**
 * One CLI command. core/cli/main.ts parses argv with node:util parseArgs
 * (strict: unknown flags exit 2) using `options`, then calls run().
 * run() returns the process exit code.
 */
export interface Command {
  name: string;
  summary: string;
  /** Usage lines shown by `voicebot <name> --help`. */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Max positionals; more → usage error (exit 2). */
  maxPositionals: number;
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}
