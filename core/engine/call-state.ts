import { VoicebotError } from '../errors/index.js';

/**
 * Lifecycle of one call in the engine.
 *
 *   Ringing ──answer──▶ Answered ──start()──▶ Active ◀──────────┐
 *      │                   │                  │   │            │ transfer failed
 *      │                   │                  │   └──transfer──▶ Transferring
 *      │                   │                  │                   │
 *      └───────────────────┴──── hangup / caller hangup / maxCall ┴──▶ Ending ──▶ Ended
 *
 * Ending exists so that teardown (stopping audio, closing STT, writing the
 * recording) happens exactly once while new work is already refused.
 */
export enum CallState {
  Ringing = 'ringing',
  Answered = 'answered',
  Active = 'active',
  Transferring = 'transferring',
  Ending = 'ending',
  Ended = 'ended',
}

const ALLOWED: Readonly<Record<CallState, readonly CallState[]>> = {
  [CallState.Ringing]: [CallState.Answered, CallState.Ending],
  [CallState.Answered]: [CallState.Active, CallState.Ending],
  [CallState.Active]: [CallState.Transferring, CallState.Ending],
  [CallState.Transferring]: [CallState.Active, CallState.Ending],
  [CallState.Ending]: [CallState.Ended],
  [CallState.Ended]: [],
};

export function canTransition(from: CallState, to: CallState): boolean {
  return ALLOWED[from].includes(to);
}

/** The one guard every state change goes through; an illegal move is a bug, reported with VB_ERR_CALL_STATE. */
export function transition(callId: string, from: CallState, to: CallState): CallState {
  if (!canTransition(from, to)) {
    throw new VoicebotError('VB_ERR_CALL_STATE', { callId, action: `move to ${to}`, state: from });
  }
  return to;
}

/** States in which the flow may still drive the call (say/listen/respond...). */
export function isLive(state: CallState): boolean {
  return state === CallState.Answered || state === CallState.Active;
}

export function callStateError(callId: string, action: string, state: CallState): VoicebotError {
  return new VoicebotError('VB_ERR_CALL_STATE', { callId, action, state });
}
