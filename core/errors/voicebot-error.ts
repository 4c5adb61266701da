import { ERROR_DEFS, addErrorDefs, type ErrorCode } from './registry.js';
import type { ErrorDef } from './define.js';

export interface VoicebotErrorOptions {
  cause?: unknown;
  /** Overrides the code's default: a provider error may be retryable or not case by case. */
  retryable?: boolean;
  /** Where in a config file the problem is, when it is a config problem. */
  location?: { file: string; line: number; col: number };
}

/** Values in `params` are interpolated into the code's message template `{name}`. */
export type ErrorParams = Record<string, string | number | boolean | undefined>;

export function formatMessage(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = params[k];
    return v === undefined ? `{${k}}` : String(v);
  });
}

/**
 * The only error type voicebot throws on purpose. `code` is stable and
 * documented in the README; `message` says what to do about it.
 */
export class VoicebotError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly params: ErrorParams;
  readonly location?: { file: string; line: number; col: number };

  constructor(code: ErrorCode, params: ErrorParams = {}, options: VoicebotErrorOptions = {}) {
    // A code nobody registered still makes a readable error, never a crash.
    const def: ErrorDef = ERROR_DEFS[code] ?? { message: `{detail} (${code} is not a registered error code: the plugin that threw it must declare it with registerErrors)` };
    super(formatMessage(def.message, params), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VoicebotError';
    this.code = code;
    this.params = params;
    this.retryable = options.retryable ?? def.retryable ?? false;
    if (options.location) this.location = options.location;
  }

  /** One line for logs and the CLI: `VB_ERR_X message`, never a stack. */
  toLine(): string {
    const loc = this.location ? `${this.location.file}:${this.location.line}:${this.location.col} ` : '';
    return `${loc}${this.code.startsWith('VB_WARN_') ? 'warning' : 'error'} ${this.code} ${this.message}`;
  }
}

export function isVoicebotError(e: unknown): e is VoicebotError {
  return e instanceof VoicebotError;
}

/** Wrap anything thrown by third-party code so it carries a code and a retryable flag. */
export function toVoicebotError(e: unknown, fallback: ErrorCode, params: ErrorParams = {}): VoicebotError {
  if (e instanceof VoicebotError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new VoicebotError(fallback, { ...params, detail }, { cause: e });
}

/**
 * Declares a plugin's own coded errors (documented like the core's: code,
 * message that says what to do, retryable). Call it at module load of the
 * plugin, or list the codes in the manifest's `errors`. A name that is taken
 * with another meaning, or not VB_ERR_/VB_WARN_, is VB_ERR_ERROR_CODE.
 */
export function registerErrors<const T extends Record<string, ErrorDef>>(defs: T): T {
  return addErrorDefs(defs, (detail) => new VoicebotError('VB_ERR_ERROR_CODE', { detail }));
}
