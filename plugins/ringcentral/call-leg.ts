import { FRAME_MS, type AudioFrame } from '../../core/plugin-api.js';
import { LegState, TelephonyLeg, VoicebotError } from '../../core/plugin-api.js';
import type { MediaPort } from '../../core/plugin-api.js';
import type { CallInfo, HangupReason, TransferOptions } from '../../core/plugin-api.js';
import type { RtpAudio } from './rtp-media.js';

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

export class RcCallLeg extends TelephonyLeg {
  readonly info: CallInfo;
  readonly media: MediaPort;
  private audio: RtpAudio | undefined;
  private control: LegControl | undefined;

  constructor(info: CallInfo) {
    super(info.id);
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
        if (leg.state !== LegState.Active || !leg.audio) return;
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

  /** @internal The answer-once guard (Ringing → Answering) before SIP answers. */
  beginAnswer(action = 'answer'): void {
    this.sm.beginAnswer(action);
  }

  /** @internal The leg was answered once (reject() is then refused). */
  get wasAnswered(): boolean {
    return this.sm.answered;
  }

  /** @internal Bind media and control once SIP answered. */
  activate(audio: RtpAudio, control: LegControl): void {
    this.audio = audio;
    this.control = control;
    audio.setDtmfReceiver((d) => this.emitDtmf(d));
    this.transition(LegState.Active, 'activate');
  }

  async sendDtmf(digits: string): Promise<void> {
    this.sm.assertActive('sendDtmf');
    await this.audio!.sendDtmf(digits);
  }

  async transfer(to: string, opts: TransferOptions = {}): Promise<void> {
    this.sm.assertActive('transfer');
    this.transition(LegState.Transferring, 'transfer');
    try {
      await this.control!.transfer(to);
    } catch (e) {
      if (this.state === LegState.Transferring) this.transition(LegState.Active, 'transfer failed');
      throw new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: this.info.id, to, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
    }
    if (this.state !== LegState.Transferring) return;
    this.endAs('transferred');
    // RingCentral drops the bot's leg with a BYE once the transfer is placed; if
    // it does not within the timeout, leave the call ourselves.
    const timeoutMs = opts.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const gone = await Promise.race([
      this.whenEnded().then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!gone && this.state === LegState.Transferring) await this.leave('transferred');
  }

  /**
   * @internal Connect this call's far end with another call's and leave (warm
   * transfer). RingCentral drops the bot's leg with a BYE; the leg ends `transferred`.
   */
  async bridge(other: { telephonySessionId: string; partyId: string }): Promise<void> {
    this.sm.assertActive('bridge');
    this.transition(LegState.Transferring, 'bridge');
    try {
      await this.control!.bridge(other);
    } catch (e) {
      if (this.state === LegState.Transferring) this.transition(LegState.Active, 'bridge failed');
      throw new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: this.info.id, to: other.telephonySessionId, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
    }
    if (this.state === LegState.Transferring) this.endAs('transferred');
  }

  /** @internal The platform connected this call elsewhere: its coming BYE means `transferred`. */
  markTransferred(): void {
    if (this.state === LegState.Active) this.endAs('transferred');
  }

  async hangup(reason: HangupReason = 'bot-hangup'): Promise<void> {
    // Idempotent (the conformance contract): a flow may hang up a call the caller already left.
    if (this.state === LegState.Ended) return;
    if (this.state === LegState.Ending) {
      await this.whenEnded();
      return;
    }
    this.sm.assertActive('hangup');
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

  /** The far side or the network ended the call (BYE, CANCEL, webhook Disconnected): finish() tells the engine. */
  protected release(): void {
    this.control?.dispose();
  }
}
