import { defineErrors } from '../define.js';

/** Flow runner, steps, tools and flow scenarios (`voicebot test`). */
export const FLOW_ERRORS = defineErrors({
  VB_ERR_FLOW_LOOP: {
    message:
      'Call {callId} ran {steps} steps without ending (last: {step}). The flow loops without waiting for the caller; add a listen step to the loop or end it.',
  },
  VB_ERR_FLOW_UNKNOWN: { message: 'Flow "{flow}" does not exist (from {from}). Flows in this config: {flows}.' },
  VB_ERR_FLOW_TARGET: { message: 'Step "{target}" does not exist (from {from}). Use a qualified "flow.step" target.' },
  VB_ERR_FLOW_STEP: { message: 'Step {step} ({kind}) failed: {detail}' },
  VB_ERR_FLOW_HTTP: { message: 'HTTP {method} {url} failed: {detail}. Check the URL and that the service is up.', retryable: true },
  VB_ERR_FLOW_URL: {
    message: 'Template {{{name}}} rendered "{value}" into a path segment of {url}, which would move the request to another path. Check the value, or pass it as a query parameter.',
  },
  VB_ERR_FLOW_PLAY_PATH: {
    message: 'Cannot play {path}: it is outside {root}. A play file built from a template must stay inside the directory its template names (relative to the config); write absolute paths literally in the config.',
  },
  VB_ERR_FLOW_PLAY: { message: 'Cannot play {source}: {detail}. Use a PCM WAV file (mono, 16-bit) or a reachable URL.' },
  VB_ERR_TOOL_ARGS: { message: 'Tool {tool}: invalid arguments {detail}. The model must follow the tool params schema.' },
  VB_ERR_TOOL_HANDLER: {
    message: 'Tool {tool}: cannot load handler "{handler}": {detail}. Use ./path/file.js#exportName relative to the config file.',
  },
  VB_ERR_TOOL_TIMEOUT: {
    message: 'Tool {tool} did not finish within {timeoutMs} ms and was abandoned. Make it answer sooner (a handler gets ctx.signal, which aborts at the deadline) or raise tools.{tool}.timeout.',
    retryable: true,
  },
  VB_ERR_TOOL_FAILED: { message: 'Tool {tool} failed: {detail}' },
  VB_ERR_SCENARIO: { message: 'Scenario {file}: {detail}' },
  VB_ERR_FLOW_NO_ROUTE: {
    message: 'No route accepts calls to {to}, so the call was rejected. Add a route (to: "*" matches any number), or simulate with --to NUMBER or --flow NAME.',
  },
});
