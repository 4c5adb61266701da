import { LegState, LegStateMachine } from './leg-state.js';
import type { MediaPort } from './media-port.js';
import type { CallInfo, CallLeg, HangupReason, TransferOptions } from './telephony.js';

/**
 * What every telephony plugin's call leg shares: the state machine with its
 * answer-once guard, the DTMF and end listeners, and the one finish() that
 * ends a leg exactly once. A plugin supplies its media, its call control and
 * release() (what its transport frees when the leg ends).
 */
export abstract class TelephonyLeg implements CallLeg {
  abstract readonly info: CallInfo;
  abstract readonly media: MediaPort;
  protected readonly sm: LegStateMachine;
  private dtmfCb: ((digit: string) => void) | undefined;
  private endedCb: ((reason: HangupReason) => void) | undefined;
  private pendingEnd: HangupReason | undefined;
  private reason: HangupReason | undefined;
  private notified = false;
  private resolveEnded!: (reason: HangupReason) => void;
  private readonly endedPromise: Promise<HangupReason>;

  constructor(callId: string) {
    this.sm = new LegStateMachine(callId);
    this.endedPromise = new Promise((r) => (this.resolveEnded = r));
  }

  get state(): LegState {
    return this.sm.state;
  }

  get hasEnded(): boolean {
    return this.sm.ended;
  }

  /** Why the leg ended; undefined while it lives. */
  get endReason(): HangupReason | undefined {
    return this.reason;
  }

  /** Resolves when the leg is over, however it ended, with the reason. */
  whenEnded(): Promise<HangupReason> {
    return this.endedPromise;
  }

  /** The one guard every state change goes through (the leg's plugin drives it). */
  transition(to: LegState, action: string): void {
    this.sm.transition(to, action);
  }

  onDtmf(cb: ((digit: string) => void) | undefined): void {
    this.dtmfCb = cb;
  }

  /** A listener attached after the far end ended the leg still hears of it (the end may race the answer). */
  onEnded(cb: ((reason: HangupReason) => void) | undefined): void {
    this.endedCb = cb;
    if (cb && this.notified && this.reason) {
      this.endedCb = undefined;
      cb(this.reason);
    }
  }

  /** A caller key press, delivered while the leg is Active. */
  protected emitDtmf(digit: string): void {
    if (this.sm.state === LegState.Active) this.dtmfCb?.(digit);
  }

  /** The next finish() ends the leg with `reason` whatever its trigger reports (e.g. the BYE after a transfer). */
  protected endAs(reason: HangupReason): void {
    this.pendingEnd = reason;
  }

  /**
   * Ends the leg, once: any later call is a no-op that returns false.
   * `notify` tells the engine through onEnded; false for endings the bot asked for
   * (hangup(), transfer()).
   */
  finish(reason: HangupReason, notify = true): boolean {
    if (this.sm.ended) return false;
    const final = this.pendingEnd ?? reason;
    this.sm.transition(LegState.Ended, `end (${final})`);
    this.reason = final;
    this.dtmfCb = undefined;
    const cb = this.endedCb;
    this.endedCb = undefined;
    this.release(final);
    this.resolveEnded(final);
    if (notify) {
      this.notified = true;
      cb?.(final);
    }
    return true;
  }

  /** Free what the transport holds for this leg (sockets, timers, bookkeeping). Called once, by finish(). */
  protected abstract release(reason: HangupReason): void;

  abstract sendDtmf(digits: string): Promise<void>;
  abstract transfer(to: string, opts?: TransferOptions): Promise<void>;
  abstract hangup(reason?: HangupReason): Promise<void>;
}
