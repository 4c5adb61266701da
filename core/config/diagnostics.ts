import { relative } from 'node:path';
import type { ErrorCode } from '../errors/registry.js';
import { ERROR_DEFS } from '../errors/registry.js';
import { formatMessage, type ErrorParams } from '../errors/voicebot-error.js';
import type { ErrorDef } from '../errors/define.js';

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  severity: 'error' | 'warning';
  code: ErrorCode;
  message: string;
}

/** Longest config value quoted in a message: a 200 kB string must not become a 200 kB error line. */
const MAX_QUOTED = 120;

function clip(params: ErrorParams): ErrorParams {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = typeof v === 'string' && v.length > MAX_QUOTED * 4 ? `${v.slice(0, MAX_QUOTED)}…(${v.length} chars)` : v;
  return out as ErrorParams;
}

/** The same for a message built elsewhere (a plugin's own error): long unbroken runs are shortened. */
export function clipMessage(message: string): string {
  return message.replace(new RegExp(`[^\\s"]{${MAX_QUOTED * 4},}`, 'g'), (run) => `${run.slice(0, MAX_QUOTED)}…(${run.length} chars)`);
}

export function makeDiagnostic(file: string, pos: { line: number; col: number }, code: ErrorCode, params: ErrorParams): Diagnostic {
  const def: ErrorDef = ERROR_DEFS[code] ?? { message: `{detail} (${code} is not a registered error code)` };
  return { file, line: pos.line, col: pos.col, severity: def.severity ?? 'error', code, message: formatMessage(def.message, clip(params)) };
}

/** `voicebot.yaml:12:9 error VB_ERR_… message`, with the path relative to cwd when shorter. */
export function formatDiagnostic(d: Diagnostic, cwd: string = process.cwd()): string {
  const rel = relative(cwd, d.file);
  const shown = rel && !rel.startsWith('..') ? rel : d.file;
  return `${shown}:${d.line}:${d.col} ${d.severity} ${d.code} ${d.message}`;
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort((a, b) => a.line - b.line || a.col - b.col || a.code.localeCompare(b.code));
}
