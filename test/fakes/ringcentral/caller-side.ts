import type { AudioFrame } from '../../../core/audio/frame.js';
import type { CallerSide, HangupReason } from '../../../core/plugins/telephony.js';
import type { CallEnd, FakeCall, FakeRingCentral, PlaceCallOptions } from './index.js';

const REASON: Record<CallEnd, HangupReason> = {
  'caller-bye': 'caller-hangup',
  'caller-cancel': 'caller-hangup',
  'bot-bye': 'bot-hangup',
  rejected: 'rejected',
  transferred: 'transferred',
  dropped: 'bot-hangup',
};

/**
 * The fake's caller as the core's `CallerSide`, so suites written against the
 * mock telephony (conformance, flows) can drive a RingCentral call too.
 */
export class FakeCallerSide implements CallerSide {
  readonly sentDtmf: string[] = [];
  readonly transfers: string[] = [];
  readonly ended: Promise<HangupReason>;
  readonly answered: Promise<void>;
  private receiver: ((f: AudioFrame) => void) | undefined;

  constructor(
    private readonly fake: FakeRingCentral,
    readonly call: FakeCall,
  ) {
    this.ended = call.ended.then((e) => REASON[e]);
    this.answered = call.answered;
    call.keepReceived = false;
    call.audio.setReceiver((f) => this.receiver?.(f));
    call.audio.setDtmfReceiver((d) => this.sentDtmf.push(d));
    // Transfers the bot asks for arrive at the fake's REST API.
    const seen = new Set<number>();
    const pick = () => {
      this.fake.requests.forEach((r, i) => {
        if (seen.has(i) || !r.path.endsWith(`/sessions/${call.sessionId}/parties/${call.partyId}/transfer`)) return;
        seen.add(i);
        const b = JSON.parse(r.body || '{}') as { phoneNumber?: string; extensionNumber?: string };
        this.transfers.push(b.phoneNumber ?? b.extensionNumber ?? '');
      });
    };
    const watch = () => void this.fake.waitFor(() => {
      pick();
      return call.endReason !== undefined;
    });
    watch();
  }

  get callId(): string {
    return this.call.callId;
  }

  get sampleRate(): number {
    return this.call.audio.pcmRate;
  }

  setReceiver(onFrame: ((frame: AudioFrame) => void) | undefined): void {
    this.receiver = onFrame;
  }

  write(frame: AudioFrame): void {
    this.call.write(frame);
  }

  pressDtmf(digits: string): void {
    void this.call.pressDtmf(digits);
  }

  hangup(): void {
    this.call.hangup();
  }
}

/** Place a call through the fake and wrap it as a CallerSide. */
export async function placeCallerSide(fake: FakeRingCentral, opts: PlaceCallOptions = {}): Promise<FakeCallerSide> {
  return new FakeCallerSide(fake, await fake.placeCall(opts));
}
