import type { AudioFrame } from '../../core/plugin-api.js';
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from '../../core/plugin-api.js';
import { VoicebotError } from '../../core/plugin-api.js';
import { LegState, TelephonyLeg } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import type { MediaPort } from '../../core/plugin-api.js';
import {
  TelephonyPlugin,
  type CallerSide,
  type CallInfo,
  type CallLeg,
  type DialOptions,
  type HangupReason,
  type IncomingCall,
  type PlaceCallOptions,
  type TelephonyCapabilities,
  type TransferOptions,
} from '../../core/plugin-api.js';
import { FRAME_MS, realClock, sleep, type Clock, type PluginContext } from '../../core/plugin-api.js';

export interface MockTelephonyOptions {
  /** What the simulated line does to audio: G.711 μ-law (default), A-law, or linear. */
  codec?: 'pcmu' | 'pcma' | 'l16';
  /** Rate of simulated legs (default 8000, a phone line). */
  sampleRate?: number;
  /** ms a transfer takes before the leg ends. */
  transferLatencyMs?: number;
  /** Numbers whose transfer fails (to exercise onFail). */
  failTransfersTo?: string[];
  /** dial(): numbers that do not answer as a person would (default: every number answers at once). */
  dialOutcomes?: Record<string, 'busy' | 'no-answer' | 'decline'>;
}

type FrameCb = ((frame: AudioFrame) => void) | undefined;

/** Passes frames through the line codec with reused buffers, like a real G.711 leg. */
class LineCodec {
  private bytes = new Uint8Array(0);
  private pcm = new Int16Array(0);
  private readonly frame: AudioFrame = { samples: new Int16Array(0), sampleRate: 0, timestampMs: 0 };
  constructor(private readonly codec: 'pcmu' | 'pcma' | 'l16') {}

  apply(f: AudioFrame): AudioFrame {
    if (this.codec === 'l16') return f;
    const n = f.samples.length;
    if (this.bytes.length < n) {
      this.bytes = new Uint8Array(n);
      this.pcm = new Int16Array(n);
    }
    const enc = this.codec === 'pcmu' ? mulawEncode(f.samples, this.bytes) : alawEncode(f.samples, this.bytes);
    this.frame.samples = this.codec === 'pcmu' ? mulawDecode(enc, this.pcm) : alawDecode(enc, this.pcm);
    this.frame.sampleRate = f.sampleRate;
    this.frame.timestampMs = f.timestampMs;
    return this.frame;
  }
}

class MockCall extends TelephonyLeg implements IncomingCall, MediaPort, CallerSide {
  readonly info: CallInfo;
  readonly media: MediaPort = this;
  readonly sampleRate: number;
  readonly inputRate: number;
  readonly outputRate: number;
  readonly frameMs = FRAME_MS;
  readonly sentDtmf: string[] = [];
  readonly transfers: string[] = [];
  readonly ended: Promise<HangupReason> = this.whenEnded();
  readonly answered: Promise<void>;
  private resolveAnswered!: () => void;
  private engineRx: FrameCb;
  private callerRx: FrameCb;
  private readonly toEngine: LineCodec;
  private readonly toCaller: LineCodec;

  constructor(
    info: CallInfo,
    sampleRate: number,
    codec: 'pcmu' | 'pcma' | 'l16',
    private readonly owner: MockTelephony,
  ) {
    super(info.id);
    this.info = info;
    this.sampleRate = this.inputRate = this.outputRate = sampleRate;
    this.toEngine = new LineCodec(codec);
    this.toCaller = new LineCodec(codec);
    this.answered = new Promise((r) => (this.resolveAnswered = r));
  }

  get callId(): string {
    return this.info.id;
  }

  // IncomingCall
  async answer(): Promise<CallLeg> {
    this.sm.beginAnswer();
    this.sm.transition(LegState.Active, 'answer');
    this.owner.answers++;
    this.resolveAnswered();
    return this;
  }

  async reject(): Promise<void> {
    if (this.sm.answered) throw this.sm.stateError('reject');
    this.finish('rejected', false);
  }

  // MediaPort (engine side)
  setReceiver(cb: FrameCb): void {
    this.engineRx = cb;
  }

  write(frame: AudioFrame): void {
    if (this.sm.ended) return;
    this.callerRx?.(this.toCaller.apply(frame));
  }

  clear(): void {
    // Bot audio is delivered synchronously: nothing is queued in the line.
  }

  // CallLeg
  async sendDtmf(digits: string): Promise<void> {
    this.sm.assertActive('sendDtmf');
    this.sentDtmf.push(digits);
  }

  async transfer(to: string, _opts?: TransferOptions): Promise<void> {
    this.sm.transition(LegState.Transferring, 'transfer');
    const o = this.owner.options;
    if (o.transferLatencyMs) await sleep(o.transferLatencyMs, undefined, this.owner.clock);
    if (this.sm.ended) throw this.sm.stateError('transfer');
    if (o.failTransfersTo?.includes(to)) {
      this.sm.transition(LegState.Active, 'transfer failed');
      throw new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: this.info.id, to, detail: 'the far end did not answer (mock)' });
    }
    this.transfers.push(to);
    this.finish('transferred', false);
  }

  async hangup(reason: HangupReason = 'bot-hangup'): Promise<void> {
    this.finish(reason, false);
  }

  // CallerSide (the simulated far end)
  setCallerReceiver(cb: FrameCb): void {
    this.callerRx = cb;
  }

  callerWrite(frame: AudioFrame): void {
    if (!this.sm.carriesMedia) return;
    this.engineRx?.(this.toEngine.apply(frame));
  }

  pressDtmf(digits: string): void {
    for (const d of digits) this.emitDtmf(d);
  }

  callerHangup(): void {
    this.end('caller-hangup');
  }

  /** Ends from outside the bot (caller, shutdown): notifies onEnded. */
  end(reason: HangupReason): void {
    this.finish(reason, true);
  }

  protected release(): void {
    this.engineRx = undefined;
    this.owner.calls.delete(this.info.id);
  }
}

/** The caller's view of a MockCall, as the CallerSide contract names it. */
function callerSideOf(call: MockCall): CallerSide {
  return {
    callId: call.info.id,
    sampleRate: call.sampleRate,
    ended: call.ended,
    answered: call.answered,
    sentDtmf: call.sentDtmf,
    transfers: call.transfers,
    setReceiver: (cb) => call.setCallerReceiver(cb),
    write: (f) => call.callerWrite(f),
    pressDtmf: (d) => call.pressDtmf(d),
    hangup: () => call.callerHangup(),
  };
}


/**
 * Call ids are unique in the process, not per instance: the engine's metric router and other
 * process-wide maps are keyed by call id, and apps with their own mock line may run side by side.
 */
let callSeq = 0;
/**
 * Simulated phone line: placeCall() offers an inbound call to the core and
 * returns the caller's side, through which a test or `voicebot simulate`
 * speaks (PCM frames), presses keys and hangs up.
 */
export class MockTelephony extends TelephonyPlugin {
  readonly capabilities: TelephonyCapabilities = { transfer: true, sendDtmf: true, receiveDtmf: true, placeCalls: true, outbound: true, bridge: true };
  readonly options: MockTelephonyOptions;
  /** dial(): the simulated callee of each placed call, by call id (tests and `voicebot call` speak through it). */
  readonly farEnds = new Map<string, CallerSide>();
  /** bridge(): the call ids connected, in order. */
  readonly bridged: [string, string][] = [];
  /** dial(): every number dialled, with its caller id, in order. */
  readonly dialled: { to: string; callerId?: string }[] = [];
  readonly calls = new Map<string, MockCall>();
  /** Total answer() calls that succeeded (tests assert exactly-once). */
  answers = 0;

  /** Where transfer latency is waited out (PluginContext.clock). */
  readonly clock: Clock;

  constructor(options: MockTelephonyOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'mock') {
    super(provider);
    const clock = ctx.clock ?? realClock;
    this.options = options;
    this.clock = clock;
  }

  protected override _placeCall(opts: PlaceCallOptions): CallerSide {
    const handler = this.callHandler;
    if (!handler) throw new VoicebotError('VB_ERR_PLUGIN_UNSUPPORTED', { provider: this.provider, slot: 'telephony', feature: 'placing calls before listen()' });
    const id = `mock-${process.pid}-${++callSeq}`;
    const info: CallInfo = { id, from: opts.from ?? '+15550001111', to: opts.to ?? '+15550123', meta: { ...opts.meta } };
    const call = new MockCall(info, opts.sampleRate ?? this.options.sampleRate ?? 8000, this.options.codec ?? 'pcmu', this);
    this.calls.set(id, call);
    handler.onIncomingCall(call);
    return callerSideOf(call);
  }

  /** The same MockCall as placeCall(), placed the other way: the callee answers at once, or per dialOutcomes. */
  protected override async _dial(opts: DialOptions): Promise<CallLeg> {
    if (opts.signal?.aborted) throw new VoicebotError('VB_ERR_CANCELLED', { what: `call to ${opts.to}` });
    this.dialled.push({ to: opts.to, callerId: opts.callerId });
    const id = `mock-out-${process.pid}-${++callSeq}`;
    const info: CallInfo = { id, from: opts.callerId ?? '+15550123', to: opts.to, meta: { ...opts.meta }, direction: 'outbound' };
    opts.onRinging?.(info);
    const outcome = this.options.dialOutcomes?.[opts.to];
    if (outcome === 'busy') throw new VoicebotError('VB_ERR_OUTBOUND_BUSY', { to: opts.to, detail: '486 Busy Here (mock)' });
    if (outcome === 'decline') throw new VoicebotError('VB_ERR_OUTBOUND_DECLINED', { to: opts.to, detail: '603 Decline (mock)' });
    if (outcome === 'no-answer') throw new VoicebotError('VB_ERR_OUTBOUND_NO_ANSWER', { to: opts.to, timeoutMs: opts.ringTimeoutMs ?? 30_000 });
    const call = new MockCall(info, this.options.sampleRate ?? 8000, this.options.codec ?? 'pcmu', this);
    this.calls.set(id, call);
    const side = callerSideOf(call);
    this.farEnds.set(id, side);
    void call.ended.then(() => this.farEnds.delete(id));
    return call.answer();
  }

  /** Both calls end `transferred`, as if the line connected them and dropped the bot. */
  protected override async _bridge(a: CallInfo, b: CallInfo): Promise<void> {
    const ca = this.calls.get(a.id);
    const cb = this.calls.get(b.id);
    if (!ca || !cb) throw new VoicebotError('VB_ERR_CALL_NOT_FOUND', { callId: ca ? b.id : a.id });
    if (this.options.transferLatencyMs) await sleep(this.options.transferLatencyMs);
    this.bridged.push([a.id, b.id]);
    ca.end('transferred');
    cb.end('transferred');
  }

  protected override async _stop(): Promise<void> {
    for (const c of [...this.calls.values()]) c.end('shutdown');
  }
}

export const mockTelephonyPlugin = definePlugin<'telephony', MockTelephonyOptions>({
  slot: 'telephony',
  name: 'mock',
  virtualTime: true,
  description: 'Simulated phone line for tests, benchmarks and `voicebot simulate`',
  optionsSchema: {
    type: 'object',
    properties: {
      codec: { enum: ['pcmu', 'pcma', 'l16'], description: 'what the line does to audio (default pcmu)' },
      sampleRate: { enum: [8000, 16000, 24000, 48000], description: 'rate of the simulated line (default 8000)' },
      transferLatencyMs: { type: 'number', minimum: 0 },
      failTransfersTo: { type: 'array', items: { type: 'string' } },
      dialOutcomes: { type: 'object', additionalProperties: { enum: ['busy', 'no-answer', 'decline'] }, description: 'dial(): numbers that do not answer' },
    },
    additionalProperties: false,
  },
  create: (options, ctx) => new MockTelephony(options, ctx),
});
