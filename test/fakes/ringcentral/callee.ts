import type { AudioFrame } from '../../../core/audio/frame.js';
import { resample } from '../../../core/audio/resampler.js';
import { createPeer, gatheringComplete, RtpAudio } from '../../../plugins/ringcentral/rtp-media.js';
import { header, serializeSip, token, type SipMsg } from './sip-wire.js';

/** PCM16 mono with its rate. */
export interface Pcm {
  samples: Int16Array;
  rate: number;
}

/**
 * How the fake callee of an outbound call behaves. `human`: a short greeting,
 * then it listens (line silence). `machine`: a long greeting, an optional
 * beep, then it records. Both keep sending 20 ms frames as a phone line does.
 */
export type CalleeBehaviour =
  | { kind: 'human' | 'machine'; greeting?: Pcm; beep?: boolean; ringMs?: number; /** line noise RMS after and under the greeting */ noise?: number; codecs?: ('opus' | 'pcmu')[] }
  | { kind: 'busy' | 'decline'; ringMs?: number }
  | { kind: 'no-answer' };

/** One INVITE the registered WebPhone sent (the first, unauthenticated, one included). */
export interface OutboundInvite {
  callId: string;
  /** Number in the Request-URI. */
  to: string;
  /** P-Asserted-Identity number, when the bot set a caller id. */
  callerId?: string;
  authorized: boolean;
}

export const BEEP_HZ = 1000;
export const BEEP_MS = 400;

/** A speech-like stand-in when a test brings no greeting: voiced syllables at about 4 per second. */
export function syntheticSpeech(rate: number, ms: number): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const syllable = Math.max(0, Math.sin(2 * Math.PI * 4 * t)) ** 0.5;
    const f0 = 120 + 20 * Math.sin(2 * Math.PI * 0.7 * t);
    let v = 0;
    for (let h = 1; h <= 6; h++) v += Math.sin(2 * Math.PI * f0 * h * t) / h;
    out[i] = Math.round(5000 * syllable * v);
  }
  return out;
}

export function beepTone(rate: number, ms = BEEP_MS, hz = BEEP_HZ, amp = 9000): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** Answers an outbound INVITE with werift media and plays its part on a 20 ms clock. */
export class FakeCalleeMedia {
  readonly audio: RtpAudio;
  /** ms after media came up at which the beep ended (machine with beep), else undefined. */
  beepEndMs: number | undefined;
  /** ms after media came up at which the greeting (and beep) ended. */
  greetingEndMs: number | undefined;
  /** Bot audio at the callee with arrival time (ms since media up). */
  readonly heard: { atMs: number; frame: AudioFrame }[] = [];
  /** RFC 4733 digits the bot sent, with arrival time (ms since media up). */
  readonly digits: { digit: string; atMs: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;

  constructor(readonly behaviour: Extract<CalleeBehaviour, { kind: 'human' | 'machine' }>) {
    this.audio = new RtpAudio(createPeer({ loopback: true, codecs: behaviour.codecs ?? ['opus', 'pcmu'] }));
  }

  async answerSdp(offer: string): Promise<string> {
    const pc = this.audio.pc;
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    await gatheringComplete(pc);
    return pc.localDescription!.sdp;
  }

  /** Start the line: greeting, beep, then silence/noise until stop(). */
  start(): void {
    const rate = this.audio.pcmRate;
    const b = this.behaviour;
    const greeting = b.greeting
      ? b.greeting.rate === rate ? b.greeting.samples : resample(b.greeting.samples, b.greeting.rate, rate)
      : syntheticSpeech(rate, b.kind === 'human' ? 700 : 5000);
    const parts = [greeting];
    const beep = b.kind === 'machine' && b.beep !== false;
    if (beep) parts.push(new Int16Array(Math.round(rate * 0.3)), beepTone(rate));
    const total = parts.reduce((n, p) => n + p.length, 0);
    const script = new Int16Array(total);
    let off = 0;
    for (const p of parts) {
      script.set(p, off);
      off += p.length;
    }
    this.greetingEndMs = (total * 1000) / rate;
    if (beep) this.beepEndMs = this.greetingEndMs;
    const n = (rate * 20) / 1000;
    const frame = new Int16Array(n);
    let pos = 0;
    let seed = 12345;
    this.startedAt = performance.now();
    this.audio.setReceiver((f) => this.heard.push({ atMs: performance.now() - this.startedAt, frame: { ...f, samples: f.samples.slice() } }));
    this.audio.setDtmfReceiver((digit) => this.digits.push({ digit, atMs: performance.now() - this.startedAt }));
    let due = this.startedAt;
    const tick = () => {
      for (let i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const noise = b.noise ? Math.round(((seed / 0x7fffffff) * 2 - 1) * b.noise * 1.7) : 0;
        const v = (pos < script.length ? script[pos]! : 0) + noise;
        frame[i] = Math.max(-32768, Math.min(32767, v));
        pos++;
      }
      this.audio.write({ samples: frame, sampleRate: rate, timestampMs: due - this.startedAt });
      due += 20;
      this.timer = setTimeout(tick, Math.max(0, due - performance.now()));
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    void this.audio.close();
  }
}

/** The response to an INVITE with our To tag. */
export function inviteResponse(invite: SipMsg, code: number, reason: string, toTag: string, extra: [string, string][] = [], body = ''): string {
  const to = header(invite, 'To') ?? '';
  const headers: [string, string][] = [
    ['Via', header(invite, 'Via') ?? ''],
    ['From', header(invite, 'From') ?? ''],
    ['To', code === 100 || /;tag=/.test(to) ? to : `${to};tag=${toTag}`],
    ['Call-Id', header(invite, 'Call-Id') ?? ''],
    ['CSeq', header(invite, 'CSeq') ?? ''],
    ...extra,
  ];
  return serializeSip(`SIP/2.0 ${code} ${reason}`, headers, body);
}

export function newTag(): string {
  return token(5);
}
