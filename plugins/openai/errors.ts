import { defineErrors } from '../../core/plugin-api.js';

/** OpenAI STT, LLM and TTS plugins (also any OpenAI-compatible server reached through baseURL). */
export const OPENAI_ERRORS = defineErrors({
  VB_ERR_OPENAI_API_KEY: {
    message: 'openai ({slot}) has no API key. Set the {env} environment variable, or give apiKey in plugins.{slot} (e.g. apiKey: ${MY_KEY}).',
  },
  VB_ERR_OPENAI_AUTH: {
    message: '{baseURL} rejected the API key for {slot} (HTTP {status}: {detail}). Check {env} or apiKey, and that the key may use model {model}; this is not retried.',
    retryable: false,
  },
  VB_ERR_OPENAI_REQUEST: {
    message: '{baseURL} rejected the {slot} request (HTTP {status}: {detail}). Check model "{model}" and the plugins.{slot} options; this is not retried.',
    retryable: false,
  },
  VB_ERR_OPENAI_RATE_LIMITED: {
    message: '{baseURL} rate-limited {slot} model {model} (HTTP 429{retryAfter}). Retried as asked; raise the rate limit, lower concurrency, or add a fallback provider.',
    retryable: true,
  },
  VB_ERR_OPENAI_QUOTA: {
    message: 'The OpenAI account behind {slot} is out of quota (HTTP 429: {detail}). Add credit or raise the budget; meanwhile a fallback provider, if configured, takes over.',
    retryable: true,
  },
  VB_ERR_OPENAI_SERVER: {
    message: '{baseURL} failed the {slot} request (HTTP {status}: {detail}). It was retried; add a fallback provider to keep calls going.',
    retryable: true,
  },
  VB_ERR_OPENAI_CONNECTION: {
    message: 'Could not talk to {baseURL} for {slot} ({detail}). Check the network and baseURL; add a fallback provider to keep calls going.',
    retryable: true,
  },
  VB_ERR_OPENAI_TIMEOUT: {
    message: '{baseURL} sent nothing for {timeoutMs} ms while answering {slot}. Raise timeoutMs, or add a fallback provider.',
    retryable: true,
  },
  VB_ERR_OPENAI_PROTOCOL: {
    message: 'The {slot} response from {baseURL} could not be read ({detail}). If baseURL is an OpenAI-compatible server, check that it implements {endpoint} as OpenAI does.',
    retryable: true,
  },
});
