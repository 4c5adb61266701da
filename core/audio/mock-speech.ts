/**
 * "Mock speech": text carried as audio, so end-to-end tests can assert what
 * was said through the real audio path (G.711, resampling, Opus, RTP).
 *
 * Each UTF-8 byte is two nibbles; each nibble is a dual tone (one of 4 low ×
 * 4 high frequencies, like DTMF but on its own grid, all inside the 300–3400
 * Hz telephone band) for 40 ms followed by 20 ms of silence. A start and an
 * end marker frame the utterance. Decoding classifies 10 ms blocks with
 * Goertzel filters and uses the silent gaps for timing, so it needs no clock
 * sync and tolerates leading silence, gain changes and codec delay.
 */

const LOW = [400, 700, 1000, 1300, 1600];
const HIGH = [2000, 2300, 2600, 2900];
const MARK = 4; // LOW[4] is only used by markers
const START = { lo: MARK, hi: 0 };
const END = { lo: MARK, hi: 3 };
export const TONE_MS = 40;
export const GAP_MS = 20;
export const SYMBOL_MS = TONE_MS + GAP_MS;
const AMP = 0.22 * 32767;
const RAMP_MS = 3;

function writeSymbol(out: Int16Array, at: number, rate: number, lo: number, hi: number): number {
  const n = Math.round((rate * TONE_MS) / 1000);
  const ramp = Math.round((rate * RAMP_MS) / 1000);
  const wl = (2 * Math.PI * LOW[lo]) / rate;
  const wh = (2 * Math.PI * HIGH[hi]) / rate;
  for (let i = 0; i < n; i++) {
    let g = 1;
    if (i < ramp) g = 0.5 - 0.5 * Math.cos((Math.PI * i) / ramp);
    else if (i >= n - ramp) g = 0.5 - 0.5 * Math.cos((Math.PI * (n - 1 - i)) / ramp);
    out[at + i] = Math.round(AMP * g * (Math.sin(wl * i) + Math.sin(wh * i)));
  }
  return at + Math.round((rate * SYMBOL_MS) / 1000);
}

/** Audio for `text` at `sampleRate`: (2 + 2·bytes) symbols of 60 ms. */
export function encodeMockSpeech(text: string, sampleRate: number): Int16Array {
  const bytes = new TextEncoder().encode(text);
  const perSymbol = Math.round((sampleRate * SYMBOL_MS) / 1000);
  const out = new Int16Array(perSymbol * (2 + bytes.length * 2));
  let at = writeSymbol(out, 0, sampleRate, START.lo, START.hi);
  for (const b of bytes) {
    at = writeSymbol(out, at, sampleRate, b >> 6, (b >> 4) & 3);
    at = writeSymbol(out, at, sampleRate, (b >> 2) & 3, b & 3);
  }
  writeSymbol(out, at, sampleRate, END.lo, END.hi);
  return out;
}

/**
 * The same audio as encodeMockSpeech, produced on demand: `read()` fills the
 * next samples. A long text costs nothing up front (the softphone plays typed
 * text frame by frame and must not synthesize a minute of audio in one go).
 */
export class MockSpeechStream {
  /** Total samples of the utterance. */
  readonly length: number;
  private readonly codes: Uint8Array;
  private readonly perSymbol: number;
  private readonly waves: Int16Array[];
  private pos = 0;

  constructor(text: string, sampleRate: number) {
    const bytes = new TextEncoder().encode(text);
    this.codes = new Uint8Array(2 + bytes.length * 2);
    this.codes[0] = START.lo * 4 + START.hi;
    bytes.forEach((b, i) => {
      this.codes[1 + 2 * i] = (b >> 6) * 4 + ((b >> 4) & 3);
      this.codes[2 + 2 * i] = ((b >> 2) & 3) * 4 + (b & 3);
    });
    this.codes[this.codes.length - 1] = END.lo * 4 + END.hi;
    this.perSymbol = Math.round((sampleRate * SYMBOL_MS) / 1000);
    this.waves = symbolWaves(sampleRate);
    this.length = this.perSymbol * this.codes.length;
  }

  /** Samples not read yet. */
  get remaining(): number {
    return this.length - this.pos;
  }

  /** Copies up to out.length next samples into `out`; returns how many. */
  read(out: Int16Array): number {
    let n = 0;
    while (n < out.length && this.pos < this.length) {
      const sym = Math.floor(this.pos / this.perSymbol);
      const at = this.pos - sym * this.perSymbol;
      const take = Math.min(out.length - n, this.perSymbol - at);
      out.set(this.waves[this.codes[sym]].subarray(at, at + take), n);
      n += take;
      this.pos += take;
    }
    return n;
  }
}

const waveCache = new Map<number, Int16Array[]>();

/** Every symbol (tone then gap) at `rate`, indexed lo·4 + hi; built once per rate. */
function symbolWaves(rate: number): Int16Array[] {
  let w = waveCache.get(rate);
  if (!w) {
    const per = Math.round((rate * SYMBOL_MS) / 1000);
    w = Array.from({ length: LOW.length * 4 }, (_, code) => {
      const out = new Int16Array(per);
      writeSymbol(out, 0, rate, code >> 2, code & 3);
      return out;
    });
    waveCache.set(rate, w);
  }
  return w;
}

/** ms from the start of the audio to where the character at `charIndex` (UTF-16 index, ASCII-exact) starts. */
export function mockSpeechOffsetMs(text: string, charIndex: number): number {
  const bytesBefore = new TextEncoder().encode(text.slice(0, charIndex)).length;
  return SYMBOL_MS * (1 + 2 * bytesBefore);
}

export function mockSpeechDurationMs(text: string): number {
  return SYMBOL_MS * (2 + 2 * new TextEncoder().encode(text).length);
}

const NONE = -1;
const GAP = -2;

/**
 * Streaming decoder. push() any number of samples; take() returns the
 * utterances completed since the last call. Interim text is in `partial`.
 */
export class MockSpeechDecoder {
  readonly sampleRate: number;
  private readonly block: number;
  private readonly coeffLow: Float64Array;
  private readonly coeffHigh: Float64Array;
  private readonly buf: Float64Array;
  private fill = 0;
  private runClass = GAP;
  private runLen = 0;
  private inUtterance = false;
  private nibbles: number[] = [];
  private bytes: number[] = [];
  private done: string[] = [];

  constructor(sampleRate: number) {
    this.sampleRate = sampleRate;
    this.block = Math.round(sampleRate / 100);
    const c = (f: number): number => 2 * Math.cos((2 * Math.PI * f) / sampleRate);
    this.coeffLow = Float64Array.from(LOW, c);
    this.coeffHigh = Float64Array.from(HIGH, c);
    this.buf = new Float64Array(this.block);
  }

  /** Text decoded so far in the current utterance. */
  get partial(): string {
    return this.inUtterance ? new TextDecoder().decode(Uint8Array.from(this.bytes)) : '';
  }

  /** True between a start marker and its end marker. */
  get active(): boolean {
    return this.inUtterance;
  }

  push(samples: Int16Array): void {
    for (let i = 0; i < samples.length; i++) {
      this.buf[this.fill++] = samples[i];
      if (this.fill === this.block) {
        this.fill = 0;
        this.onBlock(this.classify());
      }
    }
  }

  take(): string[] {
    const d = this.done;
    this.done = [];
    return d;
  }

  reset(): void {
    this.fill = 0;
    this.runClass = GAP;
    this.runLen = 0;
    this.inUtterance = false;
    this.nibbles = [];
    this.bytes = [];
    this.done = [];
  }

  private power(coeff: number): number {
    let s1 = 0;
    let s2 = 0;
    const b = this.buf;
    for (let i = 0; i < b.length; i++) {
      const s0 = b[i] + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    return s1 * s1 + s2 * s2 - coeff * s1 * s2;
  }

  private classify(): number {
    let energy = 0;
    for (let i = 0; i < this.buf.length; i++) energy += this.buf[i] * this.buf[i];
    const rms = Math.sqrt(energy / this.buf.length);
    if (rms < 400) return GAP;
    const lo = this.best(this.coeffLow);
    const hi = this.best(this.coeffHigh);
    if (lo < 0 || hi < 0) return NONE;
    return lo * 4 + hi;
  }

  /** Index of the dominant frequency of a group, or -1 when none clearly dominates. */
  private best(coeffs: Float64Array): number {
    let bi = -1;
    let bp = 0;
    let second = 0;
    for (let i = 0; i < coeffs.length; i++) {
      const p = this.power(coeffs[i]);
      if (p > bp) {
        second = bp;
        bp = p;
        bi = i;
      } else if (p > second) second = p;
    }
    return bp > 4 * second ? bi : -1;
  }

  private onBlock(cls: number): void {
    if (cls === this.runClass || (cls === NONE && this.runClass >= 0)) {
      this.runLen++;
      return;
    }
    if (cls === GAP) this.endSymbol();
    this.runClass = cls;
    this.runLen = 1;
  }

  private endSymbol(): void {
    const cls = this.runClass;
    if (cls < 0 || this.runLen < 2) return;
    const lo = cls >> 2;
    const hi = cls & 3;
    if (lo === START.lo && hi === START.hi) {
      this.inUtterance = true;
      this.nibbles = [];
      this.bytes = [];
      return;
    }
    if (!this.inUtterance) return;
    if (lo === END.lo && hi === END.hi) {
      this.done.push(new TextDecoder().decode(Uint8Array.from(this.bytes)));
      this.inUtterance = false;
      this.bytes = [];
      this.nibbles = [];
      return;
    }
    if (lo === MARK) return;
    this.nibbles.push((lo << 2) | hi);
    if (this.nibbles.length === 2) {
      this.bytes.push((this.nibbles[0] << 4) | this.nibbles[1]);
      this.nibbles = [];
    }
  }
}

/** Every utterance in a buffer, joined by a space. */
export function decodeMockSpeech(samples: Int16Array, sampleRate: number): string {
  const d = new MockSpeechDecoder(sampleRate);
  d.push(samples);
  // Flush: a trailing gap closes the last symbol.
  d.push(new Int16Array(Math.round((sampleRate * GAP_MS * 2) / 1000)));
  return d.take().join(' ');
}
