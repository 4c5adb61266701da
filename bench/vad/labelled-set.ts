/**
 * A labelled VAD test set made on the spot (nothing downloaded): Flite speech
 * in several voices mixed with line noises at several SNRs, at 16 kHz PCM and
 * at 8 kHz through G.711 μ-law, with the ground-truth speech regions.
 */
import { mulawDecode, mulawEncode } from '../../core/audio/g711.js';
import { resample } from '../../core/audio/resampler.js';
import { FliteEngine, type FliteVoice } from '../../plugins/flite/engine.js';

export type NoiseKind = 'none' | 'white' | 'brown' | 'beeps' | 'tone' | 'clicks';
export const NOISE_KINDS: readonly NoiseKind[] = ['none', 'white', 'brown', 'beeps', 'tone', 'clicks'];
export type LineFormat = '16k' | '8k-ulaw';
export const LINE_FORMATS: readonly LineFormat[] = ['16k', '8k-ulaw'];

/** ms, [start, end). */
export interface Region {
  startMs: number;
  endMs: number;
}

export interface LabelledClip {
  name: string;
  noise: NoiseKind;
  /** Speech-to-noise ratio in dB (speech clips), or the noise level in dBFS (noise-only clips). */
  snrDb?: number;
  levelDbfs?: number;
  format: LineFormat;
  sampleRate: number;
  audio: Int16Array;
  /** Ground truth; empty for noise-only clips. */
  speech: Region[];
}

export const VOICES: readonly FliteVoice[] = ['slt', 'rms', 'awb', 'kal16'];
const PHRASES = [
  'I would like to book a table for two, please.',
  'My account number is five five five, zero one two three.',
  'Yes.',
  'Could you tell me when the store opens tomorrow morning?',
  'No, that is not what I asked for.',
  'Transfer me to billing.',
];
const RATE = 16000;

/** Deterministic PRNG (mulberry32): the set is the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rms(x: Float32Array | Int16Array, from = 0, to = x.length): number {
  let acc = 0;
  for (let i = from; i < to; i++) acc += x[i] * x[i];
  return Math.sqrt(acc / Math.max(1, to - from));
}

/** Unit-RMS noise of `kind` (float, ±) — `tone`/`beeps` are scaled to unit RMS over their on-time. */
export function makeNoise(kind: NoiseKind, n: number, rate: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  const r = rng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
  switch (kind) {
    case 'none':
      return out;
    case 'white':
      for (let i = 0; i < n; i++) out[i] = gauss();
      break;
    case 'brown': {
      // Integrated white noise with a leak (≈20 Hz corner), plus a slow swell: street rumble.
      let y = 0;
      const leak = 1 - (2 * Math.PI * 20) / rate;
      for (let i = 0; i < n; i++) {
        y = leak * y + gauss();
        out[i] = y * (1 + 0.3 * Math.sin((2 * Math.PI * 0.3 * i) / rate));
      }
      break;
    }
    case 'beeps': {
      // 60 ms of 1 kHz every 500 ms (a softphone's fake microphone, a call-waiting tone).
      const period = rate / 2;
      const on = (rate * 60) / 1000;
      for (let i = 0; i < n; i++) out[i] = i % period < on ? Math.SQRT2 * Math.sin((2 * Math.PI * 1000 * i) / rate) : 0;
      return out;
    }
    case 'tone':
      for (let i = 0; i < n; i++) out[i] = Math.SQRT2 * Math.sin((2 * Math.PI * 440 * i) / rate);
      return out;
    case 'clicks': {
      // 2 ms decaying impulses, 150–450 ms apart (a bad handset cord, keyboard).
      let next = Math.floor(r() * rate * 0.3);
      const len = (rate * 2) / 1000;
      while (next < n) {
        const sign = r() < 0.5 ? -1 : 1;
        for (let k = 0; k < len && next + k < n; k++) out[next + k] = sign * 6 * Math.exp(-k / (len / 4)) * (1 - 2 * r() * 0.3);
        next += Math.floor(rate * (0.15 + 0.3 * r()));
      }
      return out;
    }
  }
  const g = 1 / (rms(out) || 1);
  for (let i = 0; i < n; i++) out[i] *= g;
  return out;
}

/** Speech regions of clean audio: 10 ms blocks within 35 dB of the loudest, gaps under 250 ms bridged. */
export function speechRegions(clean: Int16Array, rate: number, offsetMs = 0): Region[] {
  const block = rate / 100;
  const levels: number[] = [];
  for (let i = 0; i + block <= clean.length; i += block) levels.push(rms(clean, i, i + block));
  const peak = Math.max(...levels, 1);
  const floor = peak * 10 ** (-35 / 20);
  const out: Region[] = [];
  let start = -1;
  let lastOn = -1;
  levels.forEach((l, b) => {
    if (l < floor) return;
    if (start < 0 || b - lastOn > 25) {
      if (start >= 0) out.push({ startMs: offsetMs + start * 10, endMs: offsetMs + (lastOn + 1) * 10 });
      start = b;
    }
    lastOn = b;
  });
  if (start >= 0) out.push({ startMs: offsetMs + start * 10, endMs: offsetMs + (lastOn + 1) * 10 });
  return out;
}

/** Flite output trimmed to its first and last voiced 10 ms block. */
function trim(s: Int16Array, rate: number): Int16Array {
  const r = speechRegions(s, rate);
  if (!r.length) return s;
  const a = Math.max(0, ((r[0].startMs - 10) * rate) / 1000);
  const b = Math.min(s.length, ((r[r.length - 1].endMs + 10) * rate) / 1000);
  return s.subarray(a, b);
}

const speechCache = new Map<string, Int16Array>();

/** One phrase in one voice at 16 kHz, trimmed (8 kHz voices are resampled). */
export async function fliteSpeech(engine: FliteEngine, voice: FliteVoice, text: string): Promise<Int16Array> {
  const key = `${voice}|${text}`;
  let s = speechCache.get(key);
  if (!s) {
    const r = await engine.synthesize({ voice, text, speed: 1 });
    s = trim(r.sampleRate === RATE ? r.samples : resample(r.samples, r.sampleRate, RATE), RATE);
    speechCache.set(key, s);
  }
  return s;
}

function toFormat(pcm16k: Int16Array, format: LineFormat): { audio: Int16Array; sampleRate: number } {
  if (format === '16k') return { audio: pcm16k, sampleRate: RATE };
  const a8 = resample(pcm16k, RATE, 8000);
  return { audio: mulawDecode(mulawEncode(a8)), sampleRate: 8000 };
}

function toInt16(x: Float32Array): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(x[i])));
  return out;
}

export interface SetOptions {
  /** Speech-to-noise ratios for the noisy speech clips (default 20, 10, 5 dB). */
  snrsDb?: readonly number[];
  /** Seconds of each noise-only clip (default 20). */
  noiseSeconds?: number;
  formats?: readonly LineFormat[];
  noises?: readonly NoiseKind[];
  /** Flite engine (default: a private one, shut down when the set is made). */
  engine?: FliteEngine;
}

/** Speech at about −20 dBFS RMS (a typical phone level). */
const SPEECH_RMS = 32768 * 10 ** (-20 / 20);
/** Noise-only clip levels: the lines the issue measured (white −25, street −28 dBFS), beeps/tone/clicks as loud as the line allows them. */
export const NOISE_LEVELS_DBFS: Record<NoiseKind, number> = { none: -70, white: -25, brown: -28, beeps: -20, tone: -25, clicks: -25 };

/**
 * Speech clips: 1.5 s of noise, two phrases (rotating voices) 0.8 s apart,
 * 1.2 s of noise after, per noise kind × SNR (clean speech once, with a −70
 * dBFS hiss). Noise-only clips: `noiseSeconds` of each noise at the line
 * levels above. Each at every format.
 */
export async function makeLabelledSet(opts: SetOptions = {}): Promise<LabelledClip[]> {
  const snrs = opts.snrsDb ?? [20, 10, 5];
  const formats = opts.formats ?? LINE_FORMATS;
  const noises = opts.noises ?? NOISE_KINDS;
  const engine = opts.engine ?? new FliteEngine();
  const clips: LabelledClip[] = [];
  try {
    let k = 0;
    const conditions: { noise: NoiseKind; snr?: number }[] = [];
    for (const noise of noises) for (const snr of noise === 'none' ? [undefined] : snrs) conditions.push({ noise, snr });
    for (const { noise, snr } of conditions) {
      const parts: Int16Array[] = [];
      for (let p = 0; p < 2; p++) {
        const voice = VOICES[(k + p) % VOICES.length];
        parts.push(await fliteSpeech(engine, voice, PHRASES[(k * 2 + p) % PHRASES.length]));
      }
      k++;
      const lead = RATE * 1.5;
      const gap = RATE * 0.8;
      const tail = RATE * 1.2;
      const n = lead + parts[0].length + gap + parts[1].length + tail;
      const clean = new Int16Array(n);
      const speech: Region[] = [];
      let at = lead;
      for (const part of parts) {
        const g = SPEECH_RMS / (rms(part, 0, part.length) || 1);
        const scaled = toInt16(Float32Array.from(part, (v) => v * g));
        clean.set(scaled, at);
        speech.push(...speechRegions(scaled, RATE, (at * 1000) / RATE));
        at += part.length + gap;
      }
      const speechRms = SPEECH_RMS;
      const noiseRms = noise === 'none' ? 32768 * 10 ** (-70 / 20) : speechRms * 10 ** (-(snr as number) / 20);
      const nz = makeNoise(noise === 'none' ? 'white' : noise, n, RATE, 1000 + k);
      const mix = new Float32Array(n);
      for (let i = 0; i < n; i++) mix[i] = clean[i] + nz[i] * noiseRms;
      const pcm = toInt16(mix);
      for (const format of formats) {
        const { audio, sampleRate } = toFormat(pcm, format);
        clips.push({ name: `speech+${noise}${snr === undefined ? '' : `@${snr}dB`} ${format}`, noise, snrDb: snr, format, sampleRate, audio, speech });
      }
    }
    const secs = opts.noiseSeconds ?? 20;
    for (const noise of noises) {
      const n = RATE * secs;
      const level = 32768 * 10 ** (NOISE_LEVELS_DBFS[noise] / 20);
      const nz = makeNoise(noise === 'none' ? 'white' : noise, n, RATE, 7 + NOISE_KINDS.indexOf(noise));
      const pcm = toInt16(Float32Array.from(nz, (v) => v * level));
      for (const format of formats) {
        const { audio, sampleRate } = toFormat(pcm, format);
        clips.push({ name: `${noise} only ${format}`, noise, levelDbfs: NOISE_LEVELS_DBFS[noise], format, sampleRate, audio, speech: [] });
      }
    }
  } finally {
    if (!opts.engine) await engine.shutdown();
  }
  return clips;
}
