import { FRAME_MS, type AudioFrame } from '../../core/plugin-api.js';
import { VoicebotError } from '../../core/plugin-api.js';
import type { MediaPort } from '../../core/plugin-api.js';
import type { CallInfo, CallLeg, HangupReason, TransferOptions } from '../../core/plugin-api.js';
import type { RtpAudio } from './rtp-media.js';

/** Life of one RingCentral call as the plugin sees it. */
export enum LegState {
  Ringing = 'ringing',
  Answering = 'answering',
  Active = 'active',
  Transferring = 'transferring',
  Ending = 'ending',
  Ended = 'ended',
}

const ALLOWED: Record<LegState, readonly LegState[]> = {
  [LegState.Ringing]: [LegState.Answering, LegState.Ended],
  [LegState.Answering]: [LegState.Active, LegState.Ended],
  [LegState.Active]: [LegState.Transferring, LegState.Ending, LegState.Ended],
  // A failed transfer leaves the caller on the line with the bot.
  [LegState.Transferring]: [LegState.Active, LegState.Ending, LegState.Ended],
  [LegState.Ending]: [LegState.Ended],
  [LegState.Ended]: [],
};

/** What the leg needs from the plugin: SIP and REST actions on this call. */
export interface LegControl {
  /** SIP BYE; rejects if the proxy did not confirm. */
  bye(): Promise<void>;
  /** REST DELETE of the telephony session, when the SIP leg is gone. */
  dropSession(): Promise<void>;
  /** REST blind transfer. */
  transfer(to: string): Promise<void>;
  /** REST bridge of this party with another call's party (warm transfer). */
  bridge(other: { telephonySessionId: string; partyId: string }): Promise<void>;
  /** Release media and bookkeeping. Idempotent. */
  dispose(): void;
}

export class RcCallLeg implements CallLeg {
  readonly info: CallInfo;
  readonly media: MediaPort;
  private _state = LegState.Ringing;
  private dtmfCb: ((d: string) => void) | undefined;
  private endedCb: ((r: HangupReason) => void) | undefined;
  private endedFired = false;
  private pendingEnd: HangupReason | undefined;
  private audio: RtpAudio | undefined;
  private control: LegControl | undefined;
  private endWaiters: ((r: HangupReason) => void)[] = [];
  endReason: HangupReason | undefined;

  constructor(info: CallInfo) {
    this.info = info;
    const leg = this;
    this.media = {
      get inputRate() {
        return leg.audio?.pcmRate ?? 8000;
      },
      get outputRate() {
        return leg.audio?.pcmRate ?? 8000;
      },
      frameMs: FRAME_MS,
      setReceiver: (cb) => leg.audio?.setReceiver(cb),
      write: (frame: AudioFrame) => {
        if (leg._state !== LegState.Active || !leg.audio) return;
        if (frame.sampleRate !== leg.audio.pcmRate) {
          throw new VoicebotError('VB_ERR_AUDIO_FORMAT', {
            where: `ringcentral call ${info.id} write()`,
            got: `${frame.sampleRate} Hz`,
            expected: `${leg.audio.pcmRate} Hz`,
          });
        }
        leg.audio.write(frame);
      },
      // Nothing is queued inside the port: the engine paces frames in real time.
      clear: () => undefined,
    };
  }

  get state(): LegState {
    return this._state;
  }

  /** The one place state changes; an illegal move is a bug and throws. */
  transition(to: LegState, action: string): void {
    if (!ALLOWED[this._state].includes(to)) {
      throw new VoicebotError('VB_ERR_CALL_STATE', { callId: this.info.id, action, state: this._state });
    }
    this._state = to;
  }

  /** @internal Bind media and control once SIP answered. */
  activate(audio: RtpAudio, control: LegControl): void {
    this.audio = audio;
    this.control = control;
    audio.setDtmfReceiver((d) => this.dtmfCb?.(d));
    this.transition(LegState.Active, 'activate');
  }

  onDtmf(cb: ((digit: string) => void) | undefined): void {
    this.dtmfCb = cb;
  }

  onEnded(cb: ((reason: HangupReason) => void) | undefined): void {
    this.endedCb = cb;
    if (cb && this.endedFired && this.endReason) cb(this.endReason);
  }

  /** Resolves when the call is over, however it ended. */
  whenEnded(): Promise<HangupReason> {
    if (this.endReason) return Promise.resolve(this.endReason);
    return new Promise((r) => this.endWaiters.push(r));
  }

  private requireActive(action: string): void {
    if (this._state !== LegState.Active) {
      throw new VoicebotError('VB_ERR_CALL_STATE', { callId: this.info.id, action, state: this._state });
    }
  }

  async sendDtmf(digits: string): Promise<void> {
    this.requireActive('sendDtmf');
    await this.audio!.sendDtmf(digits);
  }

  async transfer(to: string, opts: TransferOptions = {}): Promise<void> {
    this.requireActive('transfer');
    this.transition(LegState.Transferring, 'transfer');
    try {
      await this.control!.transfer(to);
    } catch (e) {
      if (this._state === LegState.Transferring) this.transition(LegState.Active, 'transfer failed');
      throw new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: this.info.id, to, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
    }
    if (this._state !== LegState.Transferring) return;
    this.pendingEnd = 'transferred';
    // RingCentral drops the bot's leg with a BYE once the transfer is placed; if
    // it does not within the timeout, leave the call ourselves.
    const timeoutMs = opts.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
      this.whenEnded().then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!gone && this._state === LegState.Transferring) await this.leave('transferred');
  }

  /**
   * @internal Connect this call's far end with another call's and leave (warm
   * transfer). RingCentral drops the bot's leg with a BYE; the leg ends `transferred`.
   */
  async bridge(other: { telephonySessionId: string; partyId: string }): Promise<void> {
    this.requireActive('bridge');
    this.transition(LegState.Transferring, 'bridge');
    try {
      await this.control!.bridge(other);
    } catch (e) {
      if (this._state === LegState.Transferring) this.transition(LegState.Active, 'bridge failed');
      throw new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: this.info.id, to: other.telephonySessionId, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
    }
    if (this._state === LegState.Transferring) this.pendingEnd = 'transferred';
  }

  /** @internal The platform connected this call elsewhere: its coming BYE means `transferred`. */
  markTransferred(): void {
    if (this._state === LegState.Active) this.pendingEnd = 'transferred';
  }

  async hangup(reason: HangupReason = 'bot-hangup'): Promise<void> {
    // Idempotent (the conformance contract): a flow may hang up a call the caller already left.
    if (this._state === LegState.Ended) return;
    if (this._state === LegState.Ending) {
      await this.whenEnded();
      return;
    }
    this.requireActive('hangup');
    await this.leave(reason);
  }

  private async leave(reason: HangupReason): Promise<void> {
    this.transition(LegState.Ending, 'hangup');
    try {
      await this.control!.bye();
    } catch {
      // The SIP leg is unusable (socket down, no reply): drop the call over REST instead.
      await this.control!.dropSession().catch(() => undefined);
    }
    // A shutdown is the plugin's decision, not the engine's: the engine must hear of it (contract: onEnded fires for shutdown).
    this.finish(reason, reason === 'shutdown');
  }

  /**
   * @internal The far side or the network ended the call (BYE, CANCEL, webhook
   * Disconnected). `notify` is false for endings the bot asked for.
   */
  finish(reason: HangupReason, notify = true): void {
    if (this._state === LegState.Ended) return;
    const final = this.pendingEnd ?? reason;
    this.transition(LegState.Ended, 'end');
    this.endReason = final;
    this.control?.dispose();
    for (const w of this.endWaiters.splice(0)) w(final);
    if (notify && !this.endedFired) {
      this.endedFired = true;
      this.endedCb?.(final);
    }
  }
}
