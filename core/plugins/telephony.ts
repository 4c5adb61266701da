import { VoicebotError } from '../errors/index.js';
import { PluginBase } from './base.js';
import type { MediaPort } from './media-port.js';

export interface TelephonyCapabilities {
  /** Can transfer a call to another number. */
  transfer: boolean;
  /** Can send DTMF digits to the far end. */
  sendDtmf: boolean;
  /** Reports caller DTMF digits. */
  receiveDtmf: boolean;
  /** Can place simulated/real inbound calls on demand (mock, local softphone). */
  placeCalls: boolean;
  /** Can call a number (dial()): the bot places the call. */
  outbound?: boolean;
  /** Can connect two of its calls and drop out (bridge(): warm transfer). */
  bridge?: boolean;
}

/** Who placed the call: the far end (inbound) or the bot (outbound, dial()). */
export type CallDirection = 'inbound' | 'outbound';

export interface CallInfo {
  /** Unique within the process. */
  id: string;
  /** Caller number or URI. */
  from: string;
  /** Called number or URI; routes: match on it. */
  to: string;
  /** Provider-specific facts (SIP headers, session ids), for logs and handlers. */
  meta: Record<string, string>;
  /** Absent means inbound. */
  direction?: CallDirection;
}

export type HangupReason =
  | 'caller-hangup'
  | 'bot-hangup'
  | 'transferred'
  | 'max-duration'
  | 'error'
  | 'rejected'
  | 'shutdown';

export interface TransferOptions {
  mode?: 'blind';
  /** ms to wait for the far end before reporting failure. */
  timeoutMs?: number;
}

/**
 * An answered call: audio plus call control. Methods after the call ended
 * reject with VB_ERR_CALL_STATE.
 */
export interface CallLeg {
  readonly info: CallInfo;
  readonly media: MediaPort;
  /** Caller pressed a key. One listener; undefined detaches. */
  onDtmf(cb: ((digit: string) => void) | undefined): void;
  /** The call ended for any reason other than this leg's own hangup()/transfer() (far side, network, shutdown). Fires at most once. */
  onEnded(cb: ((reason: HangupReason) => void) | undefined): void;
  sendDtmf(digits: string): Promise<void>;
  transfer(to: string, opts?: TransferOptions): Promise<void>;
  hangup(reason?: HangupReason): Promise<void>;
}

/** A ringing call offered to the core. */
export interface IncomingCall {
  readonly info: CallInfo;
  /** Answer exactly once; a second call rejects with VB_ERR_CALL_ALREADY_ANSWERED. */
  answer(): Promise<CallLeg>;
  /** Decline politely (no route accepts the call). */
  reject(reason?: 'busy' | 'decline' | 'unavailable'): Promise<void>;
}

export interface TelephonyHandler {
  /** Called for every inbound call; the core decides answer or reject. */
  onIncomingCall(call: IncomingCall): void;
  /** Registration/connection state changes, for logs and events. */
  onStateChange?(state: string, detail?: string): void;
}

/** A call the bot places (outbound capability). */
export interface DialOptions {
  /** Number (E.164 or digits) or extension to call. */
  to: string;
  /** Caller id shown to the callee; default: the provider's configured one. */
  callerId?: string;
  /** ms to ring before giving up with VB_ERR_OUTBOUND_NO_ANSWER (default 30000). */
  ringTimeoutMs?: number;
  /** Aborting cancels a ringing call (rejects with VB_ERR_CANCELLED). */
  signal?: AbortSignal;
  meta?: Record<string, string>;
  /** Called once the call has its id, before the far end answers. */
  onRinging?: (info: CallInfo) => void;
}

/** Options for placing a simulated inbound call (placeCalls capability). */
export interface PlaceCallOptions {
  from?: string;
  to?: string;
  meta?: Record<string, string>;
  /** Rate of the simulated leg in Hz (8000 for a phone line). */
  sampleRate?: number;
}

/** The far (caller) side of a placed call, driven by tests and `voicebot simulate`. */
export interface CallerSide {
  readonly callId: string;
  /** Bot audio arriving at the caller; valid only during the callback. */
  setReceiver(onFrame: ((frame: import('../audio/frame.js').AudioFrame) => void) | undefined): void;
  /** Caller audio toward the bot (the caller paces it). */
  write(frame: import('../audio/frame.js').AudioFrame): void;
  readonly sampleRate: number;
  pressDtmf(digits: string): void;
  hangup(): void;
  /** Resolves when the call ended, with the reason. */
  readonly ended: Promise<HangupReason>;
  /** Resolves when the bot answered. */
  readonly answered: Promise<void>;
  /** Digits the bot sent, and transfers it asked for (recorded by the fake/mock). */
  readonly sentDtmf: string[];
  readonly transfers: string[];
}

export abstract class TelephonyPlugin extends PluginBase {
  readonly slot = 'telephony' as const;
  abstract readonly capabilities: TelephonyCapabilities;
  private handler: TelephonyHandler | undefined;

  /** Route inbound calls to `handler`, then start (register, listen). */
  async listen(handler: TelephonyHandler): Promise<void> {
    this.handler = handler;
    await this.start();
  }

  protected get callHandler(): TelephonyHandler | undefined {
    return this.handler;
  }

  /** Place a simulated inbound call. Only with capabilities.placeCalls. */
  placeCall(opts: PlaceCallOptions = {}): CallerSide {
    return this._placeCall(opts);
  }

  protected _placeCall(_opts: PlaceCallOptions): CallerSide {
    throw new Error(`${this.provider} cannot place calls`);
  }

  /**
   * Call a number (capabilities.outbound). Resolves with the answered leg,
   * `info.direction` 'outbound', which the caller runs like an answered inbound
   * leg; rejects with VB_ERR_OUTBOUND_BUSY / _NO_ANSWER / _DECLINED / _FAILED,
   * or VB_ERR_CANCELLED when `signal` aborted it while ringing.
   */
  dial(opts: DialOptions): Promise<CallLeg> {
    return this._dial(opts);
  }

  protected _dial(_opts: DialOptions): Promise<CallLeg> {
    return Promise.reject(new VoicebotError('VB_ERR_OUTBOUND_UNSUPPORTED', { provider: this.provider }));
  }

  /**
   * Connect the far ends of two live calls of this plugin and leave both
   * (capabilities.bridge; warm transfer). Both legs then end with reason
   * `transferred`, each reported through its onEnded.
   */
  bridge(a: CallInfo, b: CallInfo): Promise<void> {
    return this._bridge(a, b);
  }

  protected _bridge(_a: CallInfo, _b: CallInfo): Promise<void> {
    return Promise.reject(new VoicebotError('VB_ERR_PLUGIN_UNSUPPORTED', { provider: this.provider, slot: 'telephony', feature: 'bridging two calls (warm transfer)' }));
  }
}
