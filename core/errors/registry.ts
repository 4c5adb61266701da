import type { ErrorDef } from './define.js';
import { CONFIG_ERRORS } from './codes/config.js';
import { PLUGIN_ERRORS } from './codes/plugin.js';
import { CALL_ERRORS } from './codes/call.js';
import { CLI_ERRORS } from './codes/cli.js';
import { FLOW_ERRORS } from './codes/flow.js';
import { OUTBOUND_ERRORS } from './codes/outbound.js';
import { FLEET_ERRORS } from './codes/fleet.js';

/**
 * The core's coded errors. Each domain keeps its codes in ./codes/<domain>.ts;
 * plugins declare theirs with registerErrors() (built-ins through the
 * composition root, entry/builtins.ts; others in their manifest's `errors`).
 * test/errors.test.ts checks that every registered code is documented in
 * README.md and vice versa.
 */
export const CORE_ERROR_DEFS = {
  ...CONFIG_ERRORS,
  ...PLUGIN_ERRORS,
  ...CALL_ERRORS,
  ...CLI_ERRORS,
  ...FLOW_ERRORS,
  ...OUTBOUND_ERRORS,
  ...FLEET_ERRORS,
} as const satisfies Record<string, ErrorDef>;

/** A core code, or one a plugin registered (`VB_ERR_*` / `VB_WARN_*`). */
export type ErrorCode = keyof typeof CORE_ERROR_DEFS | `VB_ERR_${string}` | `VB_WARN_${string}`;

/** The single registry of coded errors: the core's and every registered plugin's. */
export const ERROR_DEFS: Readonly<Record<string, ErrorDef>> = { ...CORE_ERROR_DEFS };

export function isErrorCode(s: string): s is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_DEFS, s);
}

const CODE_NAME = /^VB_(ERR|WARN)_[A-Z0-9_]+$/;

/** Why a registration was refused (thrown by registerErrors as a VoicebotError by the caller's choice of code). */
export function errorRegistrationProblem(code: string, def: ErrorDef): string | undefined {
  if (!CODE_NAME.test(code)) return `"${code}" is not a code name: use VB_ERR_<NAME> (or VB_WARN_<NAME> for a warning), upper case`;
  if (code.startsWith('VB_WARN_') !== (def.severity === 'warning')) return `"${code}": warnings are VB_WARN_* with severity "warning", errors VB_ERR_*`;
  if (typeof def.message !== 'string' || def.message.length < 4) return `"${code}" needs a message that tells the user what to do`;
  const have = ERROR_DEFS[code];
  if (have && (have.message !== def.message || have.retryable !== def.retryable || have.severity !== def.severity)) {
    return `"${code}" is already registered with another meaning; choose a name with your plugin's prefix`;
  }
  return undefined;
}

/** Adds codes to the registry; the same definition twice is a no-op. Returns its argument. */
export function addErrorDefs<T extends Record<string, ErrorDef>>(defs: T, fail: (detail: string) => Error): T {
  for (const [code, def] of Object.entries(defs)) {
    const problem = errorRegistrationProblem(code, def);
    if (problem) throw fail(problem);
  }
  Object.assign(ERROR_DEFS as Record<string, ErrorDef>, defs);
  return defs;
}
