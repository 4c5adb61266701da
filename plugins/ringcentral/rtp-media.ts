import { createRequire } from 'node:module';
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtpHeader,
  RtpPacket,
  type RTCRtpTransceiver,
  type RTCPeerConnectionConfig,
} from 'werift';
import { mulawDecode, mulawEncode } from '../../core/plugin-api.js';
import type { AudioFrame } from '../../core/plugin-api.js';
import { FRAME_MS, JitterBuffer, sleep } from '../../core/plugin-api.js';

// opusscript is CommonJS with `export =` typings; createRequire keeps NodeNext happy.
const require = createRequire(import.meta.url);
type OpusScriptCtor = new (rate: number, channels?: number, application?: number) => {
  encode(buf: Buffer, frameSize: number): Buffer;
  decode(buf: Buffer): Buffer;
  delete(): void;
};
const OpusScript = require('opusscript') as OpusScriptCtor & { Application: { VOIP: number; AUDIO: number } };

export const PT_OPUS = 111;
export const PT_PCMU = 0;
export const PT_DTMF = 101;
/** Packets held behind a gap before it counts as lost: at most 40 ms added, and only when packets arrive out of order. */
const JITTER_DEPTH = 2;
/** Opus decodes straight to 16 kHz: what speech models want, and 3x less resampling than 48 kHz. */
export const OPUS_PCM_RATE = 16000;

export function audioCodecs(): RTCRtpCodecParameters[] {
  return [
    new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: PT_OPUS }),
    new RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: PT_PCMU }),
    new RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 8000, channels: 1, payloadType: PT_DTMF }),
  ];
}

export interface PeerOptions {
  /** Loopback ICE: werift skips 127.0.0.1 host candidates unless told. */
  loopback?: boolean;
  /** host:port STUN servers; empty means none (offline / loopback). */
  stunServers?: string[];
  /** Restrict the codecs offered/accepted (first is preferred). */
  codecs?: ('opus' | 'pcmu')[];
}

export function createPeer(opts: PeerOptions = {}): RTCPeerConnection {
  const wanted = opts.codecs ?? ['opus', 'pcmu'];
  const all = audioCodecs();
  const pick = (m: string) => all.find((c) => c.mimeType.toLowerCase() === m)!;
  const codecs = [
    ...wanted.map((w) => pick(w === 'opus' ? 'audio/opus' : 'audio/pcmu')),
    pick('audio/telephone-event'),
  ];
  const config: RTCPeerConnectionConfig = {
    codecs: { audio: codecs },
    iceServers: (opts.stunServers ?? []).map((s) => ({ urls: `stun:${s}` })),
    iceUseIpv6: false,
    headerExtensions: { audio: [] },
  };
  if (opts.loopback) config.iceAdditionalHostAddresses = ['127.0.0.1'];
  return new RTCPeerConnection(config);
}

/** Non-trickle signalling (SIP carries one SDP each way): wait until every candidate is in the SDP. */
export async function gatheringComplete(pc: RTCPeerConnection, timeoutMs = 5000): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(done, timeoutMs);
    const sub = pc.iceGatheringStateChange.subscribe((s) => {
      if (s === 'complete') done();
    });
    function done() {
      clearTimeout(t);
      sub.unSubscribe();
      resolve();
    }
  });
}

const DTMF_EVENTS = '0123456789*#ABCD';

export function dtmfDigitFromEvent(code: number): string | undefined {
  return DTMF_EVENTS[code];
}

/** RFC 4733 payload: event, E bit + volume, 16-bit duration. */
export function dtmfPayload(digit: string, end: boolean, duration: number): Buffer {
  const code = DTMF_EVENTS.indexOf(digit.toUpperCase());
  if (code < 0) throw new Error(`not a DTMF digit: ${digit}`);
  const b = Buffer.alloc(4);
  b[0] = code;
  b[1] = (end ? 0x80 : 0) | 10;
  b.writeUInt16BE(Math.min(duration, 0xffff), 2);
  return b;
}

export interface ParsedDtmf {
  digit: string;
  end: boolean;
  timestamp: number;
}

export function parseDtmf(rtp: RtpPacket): ParsedDtmf | undefined {
  const p = rtp.payload;
  if (p.length < 4) return undefined;
  const digit = dtmfDigitFromEvent(p[0]!);
  if (digit === undefined) return undefined;
  return { digit, end: (p[1]! & 0x80) !== 0, timestamp: rtp.header.timestamp };
}

/**
 * One audio m-line over werift: decodes what arrives to PCM16 frames, encodes
 * frames written to it, and carries RFC 4733 DTMF both ways. Used by the
 * plugin (answerer) and by the test caller (offerer).
 */
export class RtpAudio {
  readonly pc: RTCPeerConnection;
  readonly transceiver: RTCRtpTransceiver;
  private encoder: InstanceType<OpusScriptCtor> | undefined;
  private decoder: InstanceType<OpusScriptCtor> | undefined;
  private seq = Math.floor(Math.random() * 0xffff);
  private ts = Math.floor(Math.random() * 0x7fffffff);
  private onAudio: ((f: AudioFrame) => void) | undefined;
  private onDigit: ((d: string) => void) | undefined;
  private seenDtmf = new Set<number>();
  private rxMs = 0;
  private closed = false;
  /** Outgoing audio is dropped while muted (the WebPhone's mute/hold). */
  muted = false;
  /**
   * Fault injection for the test caller: swap every Nth audio packet with the
   * next one, drop every Mth. Never set on the bot's side.
   */
  outboundFault: { swapEvery?: number; dropEvery?: number } | undefined;
  private faultCount = 0;
  private swapped: RtpPacket | undefined;
  /** Reorders what the network shuffled; gaps it gives up on are concealed with silence. */
  readonly jitter = new JitterBuffer<RtpPacket>({
    depth: JITTER_DEPTH,
    onPacket: (rtp) => this.handle(rtp),
    onLoss: (n) => this.conceal(n),
  });
  private lastRate = 0;
  private silence: Int16Array | undefined;
  /** Serialises DTMF so two sendDtmf calls never interleave events. */
  private dtmfChain: Promise<void> = Promise.resolve();
  private dtmfSending = false;

  constructor(pc: RTCPeerConnection) {
    this.pc = pc;
    this.transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
    this.transceiver.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => this.receive(rtp));
    });
  }

  /** The codec negotiated for sending (valid once the SDP exchange is done). */
  get codec(): 'opus' | 'pcmu' {
    const c = this.transceiver.sender.codec;
    return c && c.mimeType.toLowerCase() === 'audio/pcmu' ? 'pcmu' : 'opus';
  }

  /** RTP clock of the negotiated audio codec (48 kHz for standard Opus, 8 kHz PCMU). */
  get clockRate(): number {
    return this.transceiver.sender.codec?.clockRate ?? (this.codec === 'pcmu' ? 8000 : 48000);
  }

  get pcmRate(): number {
    return this.codec === 'pcmu' ? 8000 : OPUS_PCM_RATE;
  }

  get connected(): boolean {
    return this.pc.connectionState === 'connected';
  }

  setReceiver(cb: ((f: AudioFrame) => void) | undefined): void {
    this.onAudio = cb;
  }

  setDtmfReceiver(cb: ((d: string) => void) | undefined): void {
    this.onDigit = cb;
  }

  /**
   * Payload types come from the offer, not from us: werift answers with the
   * offerer's numbers (RingCentral uses 109 for Opus), so map by negotiated mime type.
   */
  private kindOf(pt: number): 'opus' | 'pcmu' | 'dtmf' | undefined {
    const c = this.transceiver.codecs.find((x) => x.payloadType === pt);
    const mime = c?.mimeType.toLowerCase();
    if (mime === 'audio/opus') return 'opus';
    if (mime === 'audio/pcmu') return 'pcmu';
    if (mime === 'audio/telephone-event') return 'dtmf';
    if (c) return undefined;
    return pt === PT_OPUS ? 'opus' : pt === PT_PCMU ? 'pcmu' : pt === PT_DTMF ? 'dtmf' : undefined;
  }

  private get dtmfPt(): number {
    return this.transceiver.codecs.find((c) => c.mimeType.toLowerCase() === 'audio/telephone-event')?.payloadType ?? PT_DTMF;
  }

  private receive(rtp: RtpPacket): void {
    if (this.closed) return;
    // DTMF shares the stream's sequence numbers, so it goes through the buffer too (else it would look like loss).
    this.jitter.push(rtp.header.sequenceNumber, rtp);
  }

  private conceal(packets: number): void {
    const rate = this.lastRate || this.pcmRate;
    const n = (rate * FRAME_MS) / 1000;
    if (this.silence?.length !== n) this.silence = new Int16Array(n);
    for (let i = 0; i < packets; i++) this.emitFrames(this.silence, rate);
  }

  private handle(rtp: RtpPacket): void {
    if (this.closed) return;
    const kind = this.kindOf(rtp.header.payloadType);
    if (kind === 'dtmf') {
      const ev = parseDtmf(rtp);
      // The end packet is repeated (RFC 4733 §2.5.1.4): report each event once, by timestamp.
      if (!ev || !ev.end || this.seenDtmf.has(ev.timestamp)) return;
      this.seenDtmf.add(ev.timestamp);
      if (this.seenDtmf.size > 64) this.seenDtmf.delete(this.seenDtmf.values().next().value!);
      this.onDigit?.(ev.digit);
      return;
    }
    let samples: Int16Array;
    let rate: number;
    if (kind === 'pcmu') {
      samples = mulawDecode(rtp.payload);
      rate = 8000;
    } else if (kind === 'opus') {
      this.decoder ??= new OpusScript(OPUS_PCM_RATE, 1, OpusScript.Application.VOIP);
      let pcm: Buffer;
      try {
        pcm = this.decoder.decode(rtp.payload);
      } catch {
        return;
      }
      samples = new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
      rate = OPUS_PCM_RATE;
    } else {
      return;
    }
    this.lastRate = rate;
    this.emitFrames(samples, rate);
  }

  private pending: Int16Array | undefined;

  /** The MediaPort promises 20 ms frames; senders may pack 10, 40 or 60 ms per packet. */
  private emitFrames(samples: Int16Array, rate: number): void {
    const n = (rate * FRAME_MS) / 1000;
    if (!this.pending && samples.length === n) {
      this.emitOne(samples, rate);
      return;
    }
    let buf = samples;
    if (this.pending?.length) {
      buf = new Int16Array(this.pending.length + samples.length);
      buf.set(this.pending);
      buf.set(samples, this.pending.length);
    }
    let off = 0;
    for (; off + n <= buf.length; off += n) this.emitOne(buf.subarray(off, off + n), rate);
    this.pending = off < buf.length ? buf.slice(off) : undefined;
  }

  private emitOne(samples: Int16Array, rate: number): void {
    const frame: AudioFrame = { samples, sampleRate: rate, timestampMs: this.rxMs };
    this.rxMs += FRAME_MS;
    this.onAudio?.(frame);
  }

  /** Send one 20 ms frame at pcmRate. */
  write(frame: AudioFrame): void {
    if (this.closed || this.muted || !this.connected || this.dtmfSending) return;
    const codec = this.codec;
    let payload: Buffer;
    let tsStep: number;
    if (codec === 'pcmu') {
      payload = Buffer.from(mulawEncode(frame.samples));
      tsStep = frame.samples.length;
    } else {
      this.encoder ??= new OpusScript(OPUS_PCM_RATE, 1, OpusScript.Application.VOIP);
      const pcm = Buffer.from(frame.samples.buffer, frame.samples.byteOffset, frame.samples.byteLength);
      payload = this.encoder.encode(pcm, frame.samples.length);
      tsStep = (frame.samples.length * this.clockRate) / frame.sampleRate;
    }
    this.sendPacket(payload, false, tsStep);
  }

  private sendPacket(payload: Buffer, marker: boolean, tsStep: number, pt?: number): void {
    const header = new RtpHeader({
      sequenceNumber: (this.seq = (this.seq + 1) & 0xffff),
      timestamp: this.ts >>> 0,
      marker,
      payloadType: 0,
    });
    this.ts = (this.ts + tsStep) >>> 0;
    const sender = this.transceiver.sender as unknown as { codec?: RTCRtpCodecParameters; sendRtp(p: RtpPacket): Promise<void> };
    if (pt === undefined) {
      const packet = new RtpPacket(header, payload);
      const f = this.outboundFault;
      if (f) {
        const k = ++this.faultCount;
        if (f.dropEvery && k % f.dropEvery === 0) return;
        if (f.swapEvery && k % f.swapEvery === 0 && !this.swapped) {
          this.swapped = packet;
          return;
        }
      }
      void sender.sendRtp(packet);
      if (this.swapped && this.swapped !== packet) {
        const late = this.swapped;
        this.swapped = undefined;
        void sender.sendRtp(late);
      }
      return;
    }
    // werift stamps the sender codec's payload type on every packet; it reads it
    // synchronously, so swapping the codec around the call sends pt 101.
    const saved = sender.codec;
    const te = this.transceiver.codecs.find((c) => c.payloadType === pt) ??
      new RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 8000, payloadType: pt });
    sender.codec = te;
    try {
      void sender.sendRtp(new RtpPacket(header, payload));
    } finally {
      sender.codec = saved;
    }
  }

  /** RFC 4733 events, 100 ms each with 60 ms gaps, paced on timers. */
  sendDtmf(digits: string, toneMs = 100, gapMs = 60): Promise<void> {
    const run = async () => {
      for (const d of digits) {
        if (this.closed) return;
        this.dtmfSending = true;
        const eventTs = this.ts;
        const step = (this.clockRate * FRAME_MS) / 1000;
        const packets = Math.max(1, Math.round(toneMs / FRAME_MS));
        for (let i = 1; i <= packets; i++) {
          const dur = i * 160;
          const end = i === packets;
          for (let r = 0; r < (end ? 3 : 1); r++) {
            this.ts = eventTs;
            this.sendPacket(dtmfPayload(d, end, dur), i === 1 && r === 0, 0, this.dtmfPt);
          }
          await sleep(FRAME_MS);
        }
        this.ts = (eventTs + packets * step) >>> 0;
        this.dtmfSending = false;
        await sleep(gapMs);
      }
    };
    const p = this.dtmfChain.then(run, run);
    this.dtmfChain = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onAudio = undefined;
    this.onDigit = undefined;
    try {
      await this.pc.close();
    } catch {
      /* already closed */
    }
    this.encoder?.delete();
    this.decoder?.delete();
  }
}
