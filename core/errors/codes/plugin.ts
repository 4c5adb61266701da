import { defineErrors } from '../define.js';

/** Loading and running plugins, and provider (service) failures. */
export const PLUGIN_ERRORS = defineErrors({
  VB_ERR_PLUGIN_LOAD: { message: 'Could not load plugin "{provider}" from {from}: {detail}. Check the path or run npm install.' },
  VB_ERR_PLUGIN_MANIFEST: { message: 'Module "{provider}" does not export a plugin manifest for slot {slot}. Export `default definePlugin({...})`.' },
  VB_ERR_PLUGIN_START: {
    message: '{provider} ({slot}) failed to start: {detail}. Check plugins.{slot} in the config (options, credentials, ports, files it needs) or pick another provider; `voicebot validate` checks the options.',
  },
  VB_ERR_PLUGIN_TS: { message: '{file} is TypeScript, which Node cannot run by itself, and no `typescript` package was found from {dir}. Run `npm install -D typescript` there (voicebot then compiles it on load), or build it to .js and name the .js file.' },
  VB_ERR_ERROR_CODE: { message: 'A plugin declared an unusable error code: {detail}.' },
  VB_ERR_PLUGIN_UNSUPPORTED: { message: '{provider} ({slot}) does not support {feature}. Choose a provider whose capabilities include it.' },
  VB_ERR_PROVIDER: { message: '{provider} ({slot}) failed: {detail}', retryable: false },
  VB_ERR_PROVIDER_TIMEOUT: { message: '{provider} ({slot}) did not answer within {timeoutMs} ms. Raise timeoutMs or add a fallback provider.', retryable: true },
  VB_ERR_PROVIDER_UNAVAILABLE: { message: '{provider} ({slot}) is unavailable: {detail}. It will be retried; add a fallback provider to keep calls going.', retryable: true },
  VB_ERR_PROVIDER_MOCK_FAILURE: { message: 'Mock {slot} injected a failure ({detail}).', retryable: true },
  VB_ERR_FALLBACK_EXHAUSTED: { message: 'Every {slot} provider failed ({detail}). Check the providers, or handle it with on.error in the flow.' },
  VB_ERR_CANCELLED: { message: 'The {what} was cancelled.' },
  VB_ERR_WORKER_QUEUE_FULL: { message: '{what}: {waiting} job(s) already wait for {threads} worker thread(s), so work arrives faster than they finish it. Add a fallback provider, or give this provider more threads where it has that option.', retryable: true },
});
