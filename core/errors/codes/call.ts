import { defineErrors } from '../define.js';

/** Call lifecycle and telephony. */
export const CALL_ERRORS = defineErrors({
  VB_ERR_SHUTDOWN_ABANDONED: {
    message: '{count} call(s) did not end within {graceMs} ms of being told to at shutdown ({ids}); the process stops without them. A tool or plugin ignores its abort signal: make it honour the signal.',
  },
  VB_ERR_CALL_STATE: { message: 'Call {callId}: cannot {action} in state {state}. This is a bug in the caller of this API.' },
  VB_ERR_CALL_ALREADY_ANSWERED: { message: 'Call {callId} was already answered; a call is answered exactly once.' },
  VB_ERR_CALL_NOT_FOUND: { message: 'Call {callId} is not active.' },
  VB_ERR_TRANSFER_FAILED: { message: 'Transfer of call {callId} to {to} failed: {detail}' },
  VB_ERR_AUDIO_FORMAT: { message: 'Audio at {where} is {got}; expected {expected}. Plugins must declare their sample rates.' },
});
