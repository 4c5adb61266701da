/**
 * The per-frame path of the WebSocket stream: encode/decode with reused
 * buffers, and a bounded sender. Plain callbacks only — this runs 50 times a
 * second per direction per call.
 */
import type { AudioFrame } from '../../core/plugin-api.js';
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from '../../core/plugin-api.js';
import { FRAME_MS } from '../../core/plugin-api.js';
import { frameBytes, type MediaFormat } from './protocol.js';

/** What FrameSender needs from a `ws` WebSocket (a fake in unit tests). */
export interface SendSocket {
  readonly bufferedAmount: number;
  send(data: Buffer, opts: { binary: boolean }, cb: (err?: Error) => void): void;
}

interface Slot {
  buf: Buffer;
  /** Int16 view of buf (l16), or undefined for G.711. */
  i16: Int16Array | undefined;
}

/**
 * Turns PCM16 frames into wire frames of exactly FRAME_MS in pooled buffers
 * and sends them with a bounded backlog:
 *
 * - while the socket holds less than half of maxBufferedMs (ws.bufferedAmount)
 *   a frame is sent at once;
 * - otherwise it waits in a queue of at most the other half; a full queue
 *   drops its OLDEST frame (real-time audio: late audio is worth less than
 *   new audio), counted in `dropped`.
 *
 * So at most ~maxBufferedMs of audio per direction waits in this process.
 * A pooled buffer returns to the pool in the socket's write callback (ws keeps
 * a reference to unmasked data until it is written), so no buffer is reused
 * while the kernel may still read it.
 */
export class FrameSender {
  readonly format: MediaFormat;
  readonly frameBytes: number;
  readonly frameSamples: number;
  /** Bytes allowed inside the socket before frames queue here. */
  readonly highWater: number;
  /** Frames the queue may hold. */
  readonly maxQueue: number;
  dropped = 0;
  sent = 0;
  private sock: SendSocket | undefined;
  private readonly pool: Slot[] = [];
  private readonly queue: Slot[] = [];
  /** Sends whose write callback has not run yet, oldest first (socket writes complete in order). */
  private inflight: Slot[] = [];
  private cur: Slot | undefined;
  private fill = 0;
  private readonly onDrop: ((n: number) => void) | undefined;

  constructor(format: MediaFormat, maxBufferedMs: number, onDrop?: (total: number) => void) {
    this.format = format;
    this.frameBytes = frameBytes(format);
    this.frameSamples = (format.sampleRate * FRAME_MS) / 1000;
    const budget = Math.max(2 * this.frameBytes, Math.round((maxBufferedMs / FRAME_MS) * this.frameBytes));
    this.highWater = Math.floor(budget / 2);
    this.maxQueue = Math.max(1, Math.floor(budget / 2 / this.frameBytes));
    this.onDrop = onDrop;
  }

  /** The socket frames go to; undefined while a stream is reconnecting (frames are dropped, uncounted). */
  setSocket(sock: SendSocket | undefined): void {
    this.sock = sock;
    // Frames queued for a dead socket are stale by the time a new one exists.
    this.discardQueue();
    // Callbacks of the old socket still arrive (with an error) and release their slots.
    this.inflight = [];
    this.fill = 0;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Encode `samples` (PCM16 at format.sampleRate) into wire frames; any length, re-chunked to FRAME_MS. */
  write(samples: Int16Array): void {
    if (!this.sock) return;
    let i = 0;
    const n = samples.length;
    while (i < n) {
      if (!this.cur) {
        this.cur = this.acquire();
        this.fill = 0;
      }
      const take = Math.min(n - i, this.frameSamples - this.fill);
      this.encodeInto(this.cur, samples, i, take, this.fill);
      this.fill += take;
      i += take;
      if (this.fill === this.frameSamples) {
        const s = this.cur;
        this.cur = undefined;
        this.push(s);
      }
    }
  }

  /** Drop everything queued and the partial frame (barge-in). Frames already in the socket are gone. */
  clear(): void {
    this.discardQueue();
    if (this.cur) this.release(this.cur);
    this.cur = undefined;
    this.fill = 0;
  }

  /** Send queued frames while the socket has room; call after any other send completes. */
  readonly flush = (): void => {
    const sock = this.sock;
    if (!sock) return;
    while (this.queue.length > 0 && sock.bufferedAmount + this.frameBytes <= this.highWater) this.sendNow(sock, this.queue.shift()!);
  };

  private push(s: Slot): void {
    const sock = this.sock;
    if (!sock) {
      this.release(s);
      return;
    }
    this.flush();
    if (this.queue.length === 0 && sock.bufferedAmount + this.frameBytes <= this.highWater) {
      this.sendNow(sock, s);
      return;
    }
    this.queue.push(s);
    if (this.queue.length > this.maxQueue) {
      this.release(this.queue.shift()!);
      this.dropped++;
      this.onDrop?.(this.dropped);
    }
  }

  private sendNow(sock: SendSocket, s: Slot): void {
    this.inflight.push(s);
    this.sent++;
    sock.send(s.buf, { binary: true }, this.onSent);
  }

  private readonly onSent = (): void => {
    const s = this.inflight.shift();
    if (s) this.release(s);
    this.flush();
  };

  private discardQueue(): void {
    while (this.queue.length) this.release(this.queue.pop()!);
  }

  private acquire(): Slot {
    const s = this.pool.pop();
    if (s) return s;
    const buf = Buffer.alloc(this.frameBytes);
    return { buf, i16: this.format.codec === 'l16' ? new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2) : undefined };
  }

  private release(s: Slot): void {
    // Bounded: the pool never holds more than the most ever in use at once.
    if (this.pool.length < this.maxQueue + 64) this.pool.push(s);
  }

  private encodeInto(s: Slot, src: Int16Array, from: number, count: number, at: number): void {
    if (s.i16) {
      s.i16.set(count === src.length ? src : src.subarray(from, from + count), at);
      return;
    }
    const part = count === src.length ? src : src.subarray(from, from + count);
    const out = at === 0 ? s.buf : s.buf.subarray(at, at + count);
    if (this.format.codec === 'pcmu') mulawEncode(part, out);
    else alawEncode(part, out);
  }
}

/**
 * Wire frame → AudioFrame in a reused buffer. Frames of any other size than
 * FRAME_MS are refused (returns undefined) so a broken peer cannot feed the
 * engine odd-sized audio.
 */
export class FrameDecoder {
  readonly format: MediaFormat;
  readonly frameBytes: number;
  private readonly pcm: Int16Array;
  private readonly bytes: Uint8Array;
  private readonly frame: AudioFrame;
  private t = 0;

  constructor(format: MediaFormat) {
    this.format = format;
    this.frameBytes = frameBytes(format);
    this.pcm = new Int16Array((format.sampleRate * FRAME_MS) / 1000);
    this.bytes = new Uint8Array(this.pcm.buffer);
    this.frame = { samples: this.pcm, sampleRate: format.sampleRate, timestampMs: 0 };
  }

  /** The frame is valid until the next decode(). */
  decode(data: Buffer): AudioFrame | undefined {
    if (data.length !== this.frameBytes) return undefined;
    const c = this.format.codec;
    if (c === 'l16') this.bytes.set(data);
    else if (c === 'pcmu') mulawDecode(data, this.pcm);
    else alawDecode(data, this.pcm);
    this.frame.timestampMs = this.t;
    this.t += FRAME_MS;
    return this.frame;
  }
}
