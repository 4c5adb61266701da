import type { WebSocket } from 'ws';
import { FRAME_MS, isSupportedRate, type AudioFrame } from '../../core/plugin-api.js';
import type { CallEvent } from '../../core/plugin-api.js';
import { VoicebotError } from '../../core/plugin-api.js';
import type { Logger } from '../../core/plugin-api.js';
import { LegState, TelephonyLeg } from '../../core/plugin-api.js';
import type { MediaPort } from '../../core/plugin-api.js';
import type { CallInfo, CallLeg, HangupReason, IncomingCall, TransferOptions } from '../../core/plugin-api.js';
import { MockSpeechStream } from '../../core/plugin-api.js';
import { DTMF_DIGITS, MAX_MESSAGE_BYTES, type ClientLimits, type ServerMessage } from './protocol.js';

type FrameCb = ((frame: AudioFrame) => void) | undefined;

/** Silence after typed text, so the engine's end-of-speech timer sees the caller stop. */
const SAY_TAIL_MS = 1000;
/** Bot audio queued in the socket beyond this many ms is dropped (a stalled page must not grow memory). */
const MAX_BUFFERED_MS = 5000;
/** Caller audio may run this far ahead of real time (network bunching); more is dropped. */
const MAX_AUDIO_AHEAD_MS = 10_000;
/** How long bot → page DTMF waits for the page's ack. */
const DTMF_ACK_MS = 2000;
/** After the call ends the socket stays open this long for the last events (bot.said, call.ended). */
const LINGER_MS = 3000;

export interface LocalCallHost {
  readonly logger: Logger;
  readonly limits: ClientLimits;
  /** Called once when the call is over (any reason). */
  forget(call: LocalCall): void;
}

/**
 * One softphone call: the IncomingCall offered to the core, the answered
 * CallLeg, and its MediaPort, over one WebSocket. Caller audio arrives in any
 * chunking and is re-framed to 20 ms; typed text is mock speech played into
 * the caller audio by a drift-corrected 20 ms clock.
 */
export class LocalCall extends TelephonyLeg implements IncomingCall, MediaPort {
  readonly info: CallInfo;
  readonly media: MediaPort = this;
  readonly inputRate: number;
  readonly outputRate: number;
  readonly frameMs = FRAME_MS;
  /** Transfers the bot asked for (simulated on the local line). */
  readonly transfers: string[] = [];
  private engineRx: FrameCb;
  private readonly frameLen: number;
  private readonly inBuf: Int16Array;
  private inFill = 0;
  private readonly inFrame: AudioFrame;
  private inSamples = 0;
  private say: { audio: MockSpeechStream; tail: number; t0: number; sent: number; timer: NodeJS.Timeout } | undefined;
  private readonly sayQueue: MockSpeechStream[] = [];
  private dtmfSeq = 0;
  private readonly dtmfAcks = new Map<number, () => void>();
  private dropped = 0;
  private linger: NodeJS.Timeout | undefined;
  private sawCallEnded = false;
  private answeredAt = 0;
  private droppedIn = 0;

  constructor(
    info: CallInfo,
    sampleRate: number,
    private readonly ws: WebSocket,
    private readonly host: LocalCallHost,
  ) {
    super(info.id);
    if (!isSupportedRate(sampleRate)) throw new Error(`unsupported rate ${sampleRate}`);
    this.info = info;
    this.inputRate = this.outputRate = sampleRate;
    this.frameLen = (sampleRate * FRAME_MS) / 1000;
    this.inBuf = new Int16Array(this.frameLen);
    this.inFrame = { samples: this.inBuf, sampleRate, timestampMs: 0 };
  }

  get limits(): ClientLimits {
    return this.host.limits;
  }

  /** Caller audio chunks dropped for running ahead of real time. */
  get droppedCallerChunks(): number {
    return this.droppedIn;
  }

  /** Typed texts accepted and not finished playing (the one playing included). */
  get queuedSays(): number {
    return this.sayQueue.length + (this.say ? 1 : 0);
  }

  /**
   * Control messages are never dropped, but a page that stopped reading must
   * not grow our memory: past the audio budget plus one maximal message the
   * socket is cut (its close ends the call like a hang-up).
   */
  send(msg: ServerMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.maxBufferedBytes + MAX_MESSAGE_BYTES) {
      this.host.logger.warn({ callId: this.info.id, bufferedBytes: this.ws.bufferedAmount }, 'softphone stopped reading; closing its socket');
      this.ws.terminate();
      return;
    }
    this.ws.send(JSON.stringify(msg));
  }

  private get maxBufferedBytes(): number {
    return (this.outputRate * 2 * MAX_BUFFERED_MS) / 1000;
  }

  // ── IncomingCall ──────────────────────────────────────────────────────
  async answer(): Promise<CallLeg> {
    this.sm.beginAnswer();
    this.sm.transition(LegState.Active, 'answer');
    this.answeredAt = performance.now();
    this.send({ type: 'answered', callId: this.info.id });
    return this;
  }

  async reject(reason: 'busy' | 'decline' | 'unavailable' = 'decline'): Promise<void> {
    if (this.sm.ended) return;
    if (this.sm.answered) throw this.sm.stateError('reject');
    this.send({ type: 'rejected', reason });
    this.finish('rejected', false);
  }

  // ── MediaPort ─────────────────────────────────────────────────────────
  setReceiver(cb: FrameCb): void {
    this.engineRx = cb;
  }

  write(frame: AudioFrame): void {
    if (!this.sm.carriesMedia) return;
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.maxBufferedBytes) {
      if (this.dropped++ === 0) this.host.logger.warn({ callId: this.info.id }, 'softphone is not reading audio; dropping bot frames');
      return;
    }
    const s = frame.samples;
    // Copy: the engine reuses its frame buffers.
    this.ws.send(Buffer.from(s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength)));
  }

  clear(): void {
    this.send({ type: 'clear' });
  }

  // ── CallLeg ───────────────────────────────────────────────────────────
  /** Resolves when the page acknowledged the digits (or after 2 s). */
  async sendDtmf(digits: string): Promise<void> {
    this.sm.assertActive('sendDtmf');
    const id = ++this.dtmfSeq;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, DTMF_ACK_MS);
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.dtmfAcks.delete(id);
        resolve();
      }
      this.dtmfAcks.set(id, done);
      this.send({ type: 'dtmf', digits, id });
    });
  }

  /** Simulated: the page shows the transfer, then the call ends with reason `transferred`. */
  async transfer(to: string, _opts?: TransferOptions): Promise<void> {
    this.sm.transition(LegState.Transferring, 'transfer');
    this.transfers.push(to);
    this.host.logger.info({ callId: this.info.id, to }, 'transfer (simulated on the local line)');
    this.send({ type: 'transfer', to });
    this.finish('transferred', false);
  }

  async hangup(reason: HangupReason = 'bot-hangup'): Promise<void> {
    this.finish(reason, false);
  }

  // ── from the page ─────────────────────────────────────────────────────
  /** Caller audio (PCM16 LE bytes); delivered to the engine in 20 ms frames. */
  onAudio(bytes: Buffer): void {
    if (this.sm.state !== LegState.Active || this.say) return; // typed text has the line
    let n = bytes.length >> 1;
    // A client sending faster than real time would make the engine run ahead (CPU for every call on
    // the process): past the slack, its audio is dropped.
    const allowed = Math.floor(((performance.now() - this.answeredAt + MAX_AUDIO_AHEAD_MS) * this.inputRate) / 1000) - this.inSamples - this.inFill;
    if (n > allowed) {
      if (this.droppedIn++ === 0) this.host.logger.warn({ callId: this.info.id }, 'softphone sends audio faster than real time; dropping the excess');
      n = Math.max(0, allowed);
    }
    for (let i = 0; i < n; i++) {
      this.inBuf[this.inFill++] = bytes.readInt16LE(2 * i);
      if (this.inFill === this.frameLen) this.emitFrame();
    }
  }

  private emitFrame(): void {
    this.inFill = 0;
    this.inFrame.timestampMs = (this.inSamples * 1000) / this.inputRate;
    this.inSamples += this.frameLen;
    this.engineRx?.(this.inFrame);
  }

  onDtmfFromCaller(digits: string): void {
    if (!DTMF_DIGITS.test(digits)) return;
    for (const d of digits) this.emitDtmf(d);
  }

  onAck(id: number): void {
    this.dtmfAcks.get(id)?.();
  }

  /**
   * Typed text: mock speech at the line rate, then silence, paced in real
   * time. Synthesized frame by frame as it plays, and at most
   * limits.maxQueuedSays texts wait: the rest are refused (`false`).
   */
  onSay(text: string): boolean {
    if (this.sm.state !== LegState.Active || !text.trim()) return true;
    if (this.queuedSays >= this.limits.maxQueuedSays) return false;
    const audio = new MockSpeechStream(text, this.inputRate);
    this.send({ type: 'saying', text, ms: Math.round(((audio.length + this.sayTailSamples) * 1000) / this.inputRate) });
    this.sayQueue.push(audio);
    if (!this.say) this.nextSay();
    return true;
  }

  private get sayTailSamples(): number {
    return (this.inputRate * SAY_TAIL_MS) / 1000;
  }

  private nextSay(): void {
    const audio = this.sayQueue.shift();
    if (!audio) {
      this.say = undefined;
      return;
    }
    this.inFill = 0;
    const t0 = performance.now();
    const timer = setInterval(() => this.sayTick(), FRAME_MS / 2);
    this.say = { audio, tail: this.sayTailSamples, t0, sent: 0, timer };
    this.sayTick();
  }

  private sayTick(): void {
    const s = this.say;
    if (!s) return;
    // Drift-corrected: as many frames as wall time says are due.
    const due = Math.floor((performance.now() - s.t0) / FRAME_MS) + 1;
    while (s.sent < due && s.audio.remaining + s.tail > 0) {
      this.inBuf.fill(0);
      const n = s.audio.read(this.inBuf);
      s.tail = Math.max(0, s.tail - (this.frameLen - n));
      s.sent++;
      this.emitFrame();
      if (this.say !== s) return; // the call ended inside the engine callback
    }
    if (s.audio.remaining + s.tail <= 0) {
      clearInterval(s.timer);
      this.nextSay();
    }
  }

  /** The caller hung up or the socket closed. */
  onCallerGone(reason: HangupReason): void {
    this.finish(reason, true);
  }

  /** Call events for the page's live view. */
  onEvent(ev: CallEvent): void {
    this.send({ type: 'event', event: ev });
    if (ev.type === 'call.ended') {
      this.sawCallEnded = true;
      if (this.sm.ended) this.closeSocket();
    }
  }

  /** Ends from outside the bot (shutdown): notifies onEnded, closes the socket now. */
  end(reason: HangupReason): void {
    this.finish(reason, true);
    this.closeSocket();
  }

  protected release(reason: HangupReason): void {
    this.engineRx = undefined;
    if (this.say) clearInterval(this.say.timer);
    this.say = undefined;
    this.sayQueue.length = 0;
    for (const done of [...this.dtmfAcks.values()]) done();
    this.send({ type: 'ended', reason });
    this.host.forget(this);
    // Keep the socket briefly for the last events (the app's call.ended closes it sooner).
    if (this.sawCallEnded) this.closeSocket();
    else {
      this.linger = setTimeout(() => this.closeSocket(), LINGER_MS);
      this.linger.unref();
    }
  }

  closeSocket(): void {
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(1000, 'call ended');
  }
}
