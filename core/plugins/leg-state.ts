import { VoicebotError } from '../errors/index.js';

/**
 * State of one call leg, shared by every telephony plugin so they all obey
 * the same rules:
 *
 *            answer()              hangup()/far end/transfer()
 *   Ringing ─────────▶ Answered ───────────────────────────▶ Ended
 *      │                  │  transfer()         ▲
 *      │ reject()/cancel  └────────▶ Transferring ─┘ (done or failed→Answered)
 *      └──────────────────────────────────────────▶ Ended
 *
 * A second answer() is VB_ERR_CALL_ALREADY_ANSWERED; any other illegal move
 * (e.g. sendDtmf after Ended) is VB_ERR_CALL_STATE.
 */
export enum LegState {
  Ringing = 'ringing',
  Answered = 'answered',
  Transferring = 'transferring',
  Ended = 'ended',
}

const ALLOWED: Record<LegState, readonly LegState[]> = {
  [LegState.Ringing]: [LegState.Answered, LegState.Ended],
  [LegState.Answered]: [LegState.Transferring, LegState.Ended],
  [LegState.Transferring]: [LegState.Answered, LegState.Ended],
  [LegState.Ended]: [],
};

export class LegStateMachine {
  private current = LegState.Ringing;
  constructor(private readonly callId: string) {}

  get state(): LegState {
    return this.current;
  }

  get ended(): boolean {
    return this.current === LegState.Ended;
  }

  /** The one place a leg changes state. Throws on an illegal move. */
  transition(to: LegState, action: string): void {
    if (to === LegState.Answered && this.current !== LegState.Ringing && this.current !== LegState.Transferring) {
      throw new VoicebotError(this.current === LegState.Answered ? 'VB_ERR_CALL_ALREADY_ANSWERED' : 'VB_ERR_CALL_STATE', {
        callId: this.callId,
        action,
        state: this.current,
      });
    }
    if (!ALLOWED[this.current].includes(to)) {
      throw new VoicebotError('VB_ERR_CALL_STATE', { callId: this.callId, action, state: this.current });
    }
    this.current = to;
  }

  /** Throws unless the leg is answered (for call-control methods). */
  assertActive(action: string): void {
    if (this.current !== LegState.Answered) {
      throw new VoicebotError('VB_ERR_CALL_STATE', { callId: this.callId, action, state: this.current });
    }
  }
}
