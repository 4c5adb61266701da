import { WebSocket } from 'ws';
import type { AudioFrame } from '../../core/plugin-api.js';
import type { CallEvent } from '../../core/plugin-api.js';
import type { CallerSide, HangupReason } from '../../core/plugin-api.js';
import { PROTOCOL_VERSION, type ClientMessage, type ServerMessage } from './protocol.js';

export interface SoftphoneClientOptions {
  /** Rate of the audio this client sends and receives (default 16000). */
  sampleRate?: number;
  from?: string;
  to?: string;
  /** Extra headers for the upgrade request (e.g. an Origin, in tests). */
  headers?: Record<string, string>;
}

/**
 * A scriptable softphone: speaks the same protocol as the browser page over a
 * real WebSocket. Tests (and the plugin's placeCall) use it as the caller's
 * side of a local call.
 */
export class SoftphoneClient implements CallerSide {
  readonly sampleRate: number;
  readonly sentDtmf: string[] = [];
  readonly transfers: string[] = [];
  /** Every call event the server forwarded (live view). */
  readonly events: CallEvent[] = [];
  /** Server messages other than audio, in order. */
  readonly messages: ServerMessage[] = [];
  readonly ended: Promise<HangupReason>;
  readonly answered: Promise<void>;
  /** Resolves with the call id when the bot's line rings. */
  readonly ringing: Promise<string>;
  /** Resolves when the socket closed (for any reason). */
  readonly closed: Promise<void>;
  /** Audio frames received from the bot so far, and how many were not silent. */
  rxFrames = 0;
  rxVoicedFrames = 0;
  private id = '';
  private readonly ws: WebSocket;
  private receiver: ((frame: AudioFrame) => void) | undefined;
  private resolveEnded!: (r: HangupReason) => void;
  private resolveAnswered!: () => void;
  private resolveRinging!: (id: string) => void;
  private isAnswered = false;
  private isEnded = false;
  private rxSamples = 0;
  private readonly eventWaiters = new Set<() => void>();

  constructor(url: string, opts: SoftphoneClientOptions = {}) {
    this.sampleRate = opts.sampleRate ?? 16000;
    this.ended = new Promise((r) => (this.resolveEnded = r));
    this.answered = new Promise((r) => (this.resolveAnswered = r));
    this.ringing = new Promise((r) => (this.resolveRinging = r));
    this.ws = new WebSocket(url, { headers: opts.headers });
    this.closed = new Promise((r) => this.ws.once('close', () => r()));
    this.ws.on('open', () => this.send({ type: 'hello', version: PROTOCOL_VERSION, sampleRate: this.sampleRate, from: opts.from, to: opts.to }));
    this.ws.on('message', (data, isBinary) => (isBinary ? this.onAudio(data as Buffer) : this.onMessage(JSON.parse(String(data)) as ServerMessage)));
    this.ws.on('close', () => this.markEnded('error'));
    this.ws.on('error', () => {}); // close follows
  }

  get callId(): string {
    return this.id;
  }

  private send(msg: ClientMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private onMessage(m: ServerMessage): void {
    this.messages.push(m);
    switch (m.type) {
      case 'ringing':
        this.id = m.callId;
        this.resolveRinging(m.callId);
        break;
      case 'answered':
        this.isAnswered = true;
        this.resolveAnswered();
        break;
      case 'dtmf':
        this.sentDtmf.push(m.digits);
        this.send({ type: 'ack', id: m.id });
        break;
      case 'transfer':
        this.transfers.push(m.to);
        break;
      case 'event':
        this.events.push(m.event);
        break;
      case 'ended':
        this.markEnded(m.reason);
        break;
      default:
        break;
    }
    for (const w of [...this.eventWaiters]) w();
  }

  private markEnded(reason: HangupReason): void {
    if (this.isEnded) return;
    this.isEnded = true;
    this.resolveEnded(reason);
  }

  private onAudio(buf: Buffer): void {
    const n = buf.length >> 1;
    const samples = new Int16Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const v = buf.readInt16LE(2 * i);
      samples[i] = v;
      acc += v * v;
    }
    this.rxFrames++;
    if (n && Math.sqrt(acc / n) > 100) this.rxVoicedFrames++;
    const frame: AudioFrame = { samples, sampleRate: this.sampleRate, timestampMs: (this.rxSamples * 1000) / this.sampleRate };
    this.rxSamples += n;
    this.receiver?.(frame);
  }

  // ── CallerSide ────────────────────────────────────────────────────────
  setReceiver(onFrame: ((frame: AudioFrame) => void) | undefined): void {
    this.receiver = onFrame;
  }

  /** Caller audio; dropped until the bot answered. */
  write(frame: AudioFrame): void {
    if (!this.isAnswered || this.isEnded || this.ws.readyState !== WebSocket.OPEN) return;
    const s = frame.samples;
    this.ws.send(Buffer.from(s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength)));
  }

  pressDtmf(digits: string): void {
    this.send({ type: 'dtmf', digits });
  }

  /** Types text into the softphone: the bot hears it as mock speech. */
  say(text: string): void {
    this.send({ type: 'say', text });
  }

  hangup(): void {
    this.send({ type: 'hangup' });
  }

  /** Resolves with the first forwarded event that matches (or rejects after timeoutMs). */
  waitForEvent<T extends CallEvent>(pred: (e: CallEvent) => e is T, timeoutMs?: number): Promise<T>;
  waitForEvent(pred: (e: CallEvent) => boolean, timeoutMs?: number): Promise<CallEvent>;
  waitForEvent(pred: (e: CallEvent) => boolean, timeoutMs = 15_000): Promise<CallEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const e = this.events.find(pred);
        if (e) {
          clearTimeout(t);
          this.eventWaiters.delete(check);
          resolve(e);
        }
      };
      const t = setTimeout(() => {
        this.eventWaiters.delete(check);
        reject(new Error(`no matching call event within ${timeoutMs} ms; got ${this.events.map((e) => e.type).join(', ')}`));
      }, timeoutMs);
      this.eventWaiters.add(check);
      check();
    });
  }

  /** Closes the socket (a hang-up, if the call was still up). */
  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}
