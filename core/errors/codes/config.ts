import { defineErrors } from '../define.js';

/** Config file problems. Each is reported as `file:line:col error CODE message`. */
export const CONFIG_ERRORS = defineErrors({
  VB_ERR_CONFIG_NOT_FOUND: { message: 'Config file {file} not found. Create one with `voicebot init` or pass -c FILE.' },
  VB_ERR_CONFIG_YAML: { message: 'YAML syntax error: {detail}. Fix the YAML at this position.' },
  VB_ERR_CONFIG_DUPLICATE_KEY: { message: 'Duplicate key "{key}". Each key may appear once in a mapping; remove or rename one.' },
  VB_ERR_CONFIG_SCHEMA: { message: '{detail}' },
  VB_ERR_CONFIG_UNKNOWN_KEY: { message: 'Unknown key "{key}" in {where}.{hint} Remove it or check the config reference in README.md.' },
  VB_ERR_CONFIG_DURATION: { message: 'Invalid duration "{value}". Use a number of milliseconds or a string like 600ms, 6s, 15m, 1h.' },
  VB_ERR_CONFIG_ENV_UNSET: { message: 'Environment variable {name} is not set{detail}. Set it, or give a default with ${{name}:-default}.' },
  VB_ERR_CONFIG_STEP_KIND: { message: 'Step "{step}" {detail}. A step has exactly one kind: {kinds}.' },
  VB_ERR_CONFIG_TARGET: { message: '{field} target "{target}" does not exist in flow "{flow}".{hint} Use a step name or flow.step.' },
  VB_ERR_CONFIG_UNKNOWN_PROVIDER: { message: 'Unknown {slot} provider "{provider}".{hint} Available: {available}. A custom provider is an npm package name or a path starting with ./' },
  VB_ERR_CONFIG_PLUGIN_OPTIONS: { message: '{provider} ({slot}) option {detail}' },
  VB_ERR_CONFIG_MISSING_SLOT: { message: '{detail} needs the {slot} slot, but plugins.{slot} is not configured. Add plugins.{slot} or change the step.' },
  VB_ERR_CONFIG_AUDIO_FORMAT: { message: '{detail}. The core converts between {rates} Hz only; pick a provider option that uses one of them.' },
  VB_ERR_CONFIG_TOOL: { message: '{detail}' },
  VB_ERR_CONFIG_FLOW: { message: '{detail}' },
  VB_ERR_CONFIG_AUDIO_FILE: { message: 'Audio file {file} {detail}. Give a PCM16, μ-law or A-law WAV; relative paths start at the config\'s directory.' },
  VB_ERR_CONFIG_CHECK_FAILED: { message: 'The config checker failed on this file ({detail}). Fix the other errors listed first; if this line stays alone, report it with the config attached.' },
  VB_ERR_CONFIG_INVALID: { message: 'Config has {count} error(s); run `voicebot validate -c {file}` to list them.' },
  VB_WARN_UNREACHABLE_STEP: { message: 'Step "{step}" in flow "{flow}" is never reached. Link it with next/goto or remove it.', severity: 'warning' },
  VB_WARN_TEMPLATE_UNKNOWN: { message: 'Template {{{name}}} refers to a name that is not defined in vars, a save, a set or call.*; it will render empty.', severity: 'warning' },
  VB_WARN_LLM_MAX_TURNS_END: {
    message: 'Step "{step}" ends the call after {maxTurns} turns without a goodbye: it has llm.maxTurns but no maxTurns exit and no step after it. Add exits: [{ maxTurns: true, goto: STEP }] to a step that says goodbye, or a next: step.',
    severity: 'warning',
  },
  VB_WARN_RESAMPLE_QUALITY: { message: '{detail}', severity: 'warning' },
});
