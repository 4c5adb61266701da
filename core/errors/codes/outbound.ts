import { defineErrors } from '../define.js';

/** Calls the bot places (dial), the calls HTTP API and answering-machine detection. */
export const OUTBOUND_ERRORS = defineErrors({
  VB_ERR_OUTBOUND_BUSY: { message: 'Call to {to} failed: the line is busy ({detail}). Try again later.', retryable: true },
  VB_ERR_OUTBOUND_NO_ANSWER: { message: 'Call to {to} was not answered within {timeoutMs} ms. Raise the ring timeout or try again later.', retryable: true },
  VB_ERR_OUTBOUND_DECLINED: { message: 'Call to {to} was declined ({detail}).' },
  VB_ERR_OUTBOUND_FAILED: { message: 'Call to {to} could not be placed: {detail}. Check the number and that the line may place outbound calls.' },
  VB_ERR_OUTBOUND_UNSUPPORTED: {
    message: 'Telephony provider {provider} cannot place outbound calls. Configure plugins.telephony with ringcentral (or mock/local to simulate).',
  },
  VB_ERR_OUTBOUND_NUMBER: { message: 'Cannot call "{to}": a number is digits with an optional leading + (or an extension). Fix the number.' },
  VB_ERR_API_AUTH: { message: 'Missing or wrong bearer token. Send "Authorization: Bearer <settings.api.token>".' },
  VB_ERR_API_REQUEST: { message: 'Bad request to {route}: {detail}' },
  VB_ERR_API_NOT_FOUND: { message: '{what} not found. List calls with GET /v1/calls.' },
  VB_ERR_API_CONCURRENCY: {
    message: '{active} outbound calls are active, the limit is {limit} (settings.api.outbound.maxConcurrent). Retry when one ends.',
    retryable: true,
  },
  VB_ERR_API_RATE_LIMIT: {
    message: 'Outbound rate limit reached: {limit} calls per minute (settings.api.outbound.perMinute). Retry in {retryAfterS} s.',
    retryable: true,
  },
  VB_ERR_API_LISTEN: { message: 'The calls API could not listen on {host}:{port}: {detail}. Choose a free settings.api.port.' },
  VB_ERR_CALL_CLI_API: { message: 'Could not reach the voicebot API at {url}: {detail}. Start `voicebot run` with settings.api.token, or use -c to call standalone.' },
});
