import { VoicebotError } from '../errors/index.js';

/**
 * Life of one telephony call leg, shared by every telephony plugin so they all
 * obey the same rules (after SIP.js SessionState: Initial/Establishing/
 * Established/Terminating/Terminated, plus the transfer a phone bot makes):
 *
 *            beginAnswer()          answered
 *   Ringing ──────────────▶ Answering ──────▶ Active ◀─────────────┐ transfer failed
 *      │                        │              │  └──transfer()──▶ Transferring
 *      │                        │              │ hangup() (BYE in flight)  │
 *      │                        │              └──────▶ Ending ◀───────────┘
 *      └── reject/cancel ───────┴── far end, network, shutdown, done ──┴──▶ Ended
 *
 * Every state but Ended may move to Ended (finish()). A second answer is
 * VB_ERR_CALL_ALREADY_ANSWERED; any other illegal move (sendDtmf after Ended,
 * answering a cancelled call) is VB_ERR_CALL_STATE.
 */
export enum LegState {
  Ringing = 'ringing',
  /** The answer is under way (SIP 200 OK sent, media not yet bound). */
  Answering = 'answering',
  /** Answered: audio flows, call control works. */
  Active = 'active',
  Transferring = 'transferring',
  /** The bot is leaving (BYE sent, waiting for the confirmation). */
  Ending = 'ending',
  Ended = 'ended',
}

const ALLOWED: Readonly<Record<LegState, readonly LegState[]>> = {
  [LegState.Ringing]: [LegState.Answering, LegState.Ended],
  [LegState.Answering]: [LegState.Active, LegState.Ended],
  [LegState.Active]: [LegState.Transferring, LegState.Ending, LegState.Ended],
  // A failed transfer leaves the caller on the line with the bot.
  [LegState.Transferring]: [LegState.Active, LegState.Ending, LegState.Ended],
  [LegState.Ending]: [LegState.Ended],
  [LegState.Ended]: [],
};

export class LegStateMachine {
  private current = LegState.Ringing;
  private wasAnswered = false;
  constructor(private readonly callId: string) {}

  get state(): LegState {
    return this.current;
  }

  get ended(): boolean {
    return this.current === LegState.Ended;
  }

  /** Audio flows both ways (answered, and not yet leaving). */
  get carriesMedia(): boolean {
    return this.current === LegState.Active || this.current === LegState.Transferring;
  }

  /** answer() was accepted at some point (the call may have ended since). */
  get answered(): boolean {
    return this.wasAnswered;
  }

  /** The one place a leg changes state. Throws VB_ERR_CALL_STATE on a move the diagram does not have. */
  transition(to: LegState, action: string): void {
    if (!ALLOWED[this.current].includes(to)) throw this.stateError(action);
    if (to === LegState.Answering) this.wasAnswered = true;
    this.current = to;
  }

  /** The answer-once guard: Ringing → Answering, or VB_ERR_CALL_ALREADY_ANSWERED / VB_ERR_CALL_STATE. */
  beginAnswer(action = 'answer'): void {
    if (this.wasAnswered) throw new VoicebotError('VB_ERR_CALL_ALREADY_ANSWERED', { callId: this.callId });
    this.transition(LegState.Answering, action);
  }

  /** Throws VB_ERR_CALL_STATE unless the leg is Active (for call-control methods). */
  assertActive(action: string): void {
    if (this.current !== LegState.Active) throw this.stateError(action);
  }

  stateError(action: string): VoicebotError {
    return new VoicebotError('VB_ERR_CALL_STATE', { callId: this.callId, action, state: this.current });
  }
}
