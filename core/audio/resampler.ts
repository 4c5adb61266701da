import { VoicebotError } from '../errors/index.js';
import { SAMPLE_RATES, isSupportedRate } from './frame.js';

/**
 * Rational-ratio polyphase resampler with a Blackman-windowed sinc low-pass,
 * streaming: filter history is kept between calls, so 20 ms frames join
 * without clicks and frame-by-frame output equals one-shot output.
 */

const ZERO_CROSSINGS = 8;
/** Passband edge as a fraction of the lower Nyquist: keeps 3.4 kHz telephone band at 8 kHz. */
const CUTOFF = 0.92;

interface Design {
  up: number;
  down: number;
  /** Taps per phase. */
  taps: number;
  /** phases[p * taps + k] = h[p + k * up]. */
  phases: Float32Array;
  delaySamples: number;
}

const designs = new Map<string, Design>();

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function design(from: number, to: number): Design {
  const key = `${from}>${to}`;
  const cached = designs.get(key);
  if (cached) return cached;
  const g = gcd(from, to);
  const up = to / g;
  const down = from / g;
  const rate = from * up;
  const fc = (CUTOFF * 0.5 * Math.min(from, to)) / rate;
  let n = Math.ceil(ZERO_CROSSINGS / fc);
  n = Math.ceil(n / up) * up;
  const taps = n / up;
  const h = new Float64Array(n);
  const mid = (n - 1) / 2;
  for (let i = 0; i < n; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (n - 1));
    h[i] = sinc * w;
  }
  // Normalise DC gain per phase to exactly 1 so levels survive every ratio.
  const phases = new Float32Array(n);
  for (let p = 0; p < up; p++) {
    let sum = 0;
    for (let k = 0; k < taps; k++) sum += h[p + k * up];
    for (let k = 0; k < taps; k++) phases[p * taps + k] = h[p + k * up] / sum;
  }
  const d: Design = { up, down, taps, phases, delaySamples: mid / down };
  designs.set(key, d);
  return d;
}

function checkRate(rate: number, where: string): void {
  if (!isSupportedRate(rate)) {
    throw new VoicebotError('VB_ERR_AUDIO_FORMAT', { where, got: `${rate} Hz`, expected: `one of ${SAMPLE_RATES.join('/')} Hz` });
  }
}

export class Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Group delay at the output rate, in samples. */
  readonly delaySamples: number;
  private readonly d: Design;
  /** Last taps-1 inputs, then room for the next input. */
  private buf: Float32Array;
  private out: Int16Array;
  /** Next output position on the upsampled grid, relative to the current input's first sample. */
  private t = 0;

  constructor(fromRate: number, toRate: number) {
    checkRate(fromRate, 'resampler input');
    checkRate(toRate, 'resampler output');
    this.fromRate = fromRate;
    this.toRate = toRate;
    this.d = design(fromRate, toRate);
    this.delaySamples = fromRate === toRate ? 0 : this.d.delaySamples;
    this.buf = new Float32Array(this.d.taps - 1 + 960);
    this.out = new Int16Array(960);
  }

  /** Returns a view into a reused buffer: valid until the next call. */
  process(input: Int16Array): Int16Array {
    if (this.fromRate === this.toRate) return input;
    const { up, down, taps, phases } = this.d;
    const hist = taps - 1;
    if (this.buf.length < hist + input.length) {
      const nb = new Float32Array(hist + input.length);
      nb.set(this.buf.subarray(0, hist));
      this.buf = nb;
    }
    const buf = this.buf;
    for (let i = 0; i < input.length; i++) buf[hist + i] = input[i];
    const end = input.length * up;
    const maxOut = Math.ceil((end - this.t) / down) + 1;
    if (this.out.length < maxOut) this.out = new Int16Array(maxOut);
    const out = this.out;
    let n = 0;
    let t = this.t;
    while (t < end) {
      const base = (t / up) | 0;
      const p = t - base * up;
      const off = p * taps;
      let acc = 0;
      // buf index of x[base - k] is hist + base - k
      let j = hist + base;
      for (let k = 0; k < taps; k++) acc += phases[off + k] * buf[j--];
      const v = acc < 0 ? acc - 0.5 : acc + 0.5;
      out[n++] = v > 32767 ? 32767 : v < -32768 ? -32768 : v | 0;
      t += down;
    }
    this.t = t - end;
    buf.copyWithin(0, input.length, input.length + hist);
    return out.subarray(0, n);
  }

  reset(): void {
    this.buf.fill(0);
    this.t = 0;
  }
}

/** One-shot conversion of a whole buffer (allocates). */
export function resample(input: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) return input.slice();
  return new Resampler(fromRate, toRate).process(input).slice();
}
