import pino from 'pino';

export type Logger = pino.Logger;

import { LOG_LEVELS, isLogLevel, type LogLevel } from './log-levels.js';

export { LOG_LEVELS, isLogLevel, type LogLevel };
/** `text`: one readable line per event (a terminal); `json`: one JSON object per line (log collectors). */
export type LogFormat = 'text' | 'json';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields the text line shows in its own place, not as key=value. */
const PLACED = new Set(['level', 'time', 'msg', 'name', 'callId', 'slot', 'provider', 'pid', 'hostname']);

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (v && typeof v === 'object' && 'message' in v) return value((v as { message: unknown }).message);
  return JSON.stringify(v);
}

/** One pino JSON record as `12:03:04.567 INFO  call c-1 [llm openai] message key=value`. */
export function formatLogLine(json: string): string {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const parts = [clock(typeof r.time === 'number' ? r.time : Date.now()), (LEVEL_NAMES[r.level as number] ?? String(r.level)).padEnd(5)];
  if (r.callId !== undefined) parts.push(`call ${String(r.callId)}`);
  if (r.slot !== undefined) parts.push(`[${String(r.slot)}${r.provider !== undefined ? ` ${String(r.provider)}` : ''}]`);
  if (r.msg !== undefined) parts.push(String(r.msg));
  for (const [k, v] of Object.entries(r)) if (!PLACED.has(k) && v !== undefined) parts.push(`${k}=${value(v)}`);
  return parts.join(' ') + '\n';
}

/**
 * Logs go to stderr so that stdout stays clean for `--json` event streams.
 * Level: opts.level, else VOICEBOT_LOG, else info (an unknown level is
 * reported once and info is used). Format: opts.format, else text when stderr
 * is a terminal and JSON when it is not.
 */
export function createLogger(opts: { level?: string; name?: string; format?: LogFormat; env?: NodeJS.ProcessEnv } = {}): Logger {
  const wanted = opts.level ?? (opts.env ?? process.env).VOICEBOT_LOG ?? 'info';
  const level = isLogLevel(wanted) ? wanted : 'info';
  const format = opts.format ?? (process.stderr.isTTY ? 'text' : 'json');
  const dest = pino.destination(2);
  const stream = format === 'json' ? dest : { write: (line: string) => dest.write(formatLogLine(line)) };
  const logger = pino({ name: opts.name ?? 'voicebot', level, base: undefined }, stream);
  if (level !== wanted) logger.warn(`log level "${wanted}" is unknown (VOICEBOT_LOG or --log-level); using info. Levels: ${LOG_LEVELS.join(', ')}`);
  return logger;
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
