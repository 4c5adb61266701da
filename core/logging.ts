import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Logs go to stderr so that stdout stays clean for `--json` event streams.
 * Level from VOICEBOT_LOG (default info; tests set silent).
 */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  const level = opts.level ?? process.env.VOICEBOT_LOG ?? 'info';
  return pino({ name: opts.name ?? 'voicebot', level, base: undefined }, pino.destination(2));
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
