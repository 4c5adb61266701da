import type { ErrorDef } from './define.js';
import { CONFIG_ERRORS } from './codes/config.js';
import { PLUGIN_ERRORS } from './codes/plugin.js';
import { CALL_ERRORS } from './codes/call.js';
import { CLI_ERRORS } from './codes/cli.js';
import { FLOW_ERRORS } from './codes/flow.js';
import { RINGCENTRAL_ERRORS } from './codes/ringcentral.js';
import { OPENAI_ERRORS } from './codes/openai.js';
import { LOCAL_ERRORS } from './codes/local.js';
import { WEBSOCKET_ERRORS } from './codes/websocket.js';
import { FLEET_ERRORS } from './codes/fleet.js';

/**
 * The single registry of coded errors. Each domain keeps its codes in
 * ./codes/<domain>.ts; this file only merges them. test/errors.test.ts checks
 * that every code here is documented in README.md and vice versa.
 */
export const ERROR_DEFS = {
  ...CONFIG_ERRORS,
  ...PLUGIN_ERRORS,
  ...CALL_ERRORS,
  ...CLI_ERRORS,
  ...FLOW_ERRORS,
  ...RINGCENTRAL_ERRORS,
  ...OPENAI_ERRORS,
  ...LOCAL_ERRORS,
  ...WEBSOCKET_ERRORS,
  ...FLEET_ERRORS,
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERROR_DEFS;

export function isErrorCode(s: string): s is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_DEFS, s);
}
