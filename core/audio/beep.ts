/**
 * Voicemail beep detection: a steady single tone. Each 20 ms frame is tested
 * with the Goertzel algorithm at candidate frequencies 25 Hz apart; a frame is
 * tonal when one candidate holds most of the frame's energy. A beep is a run
 * of tonal frames at (nearly) one frequency; it is reported when it ends.
 * Works at any rate (8 and 16 kHz phone audio); pure and allocation-free per frame.
 */

export interface BeepDetectorOptions {
  sampleRate: number;
  /** Lowest / highest beep frequency, Hz (default 350–2100: the tones answering machines use). */
  minHz?: number;
  maxHz?: number;
  /** Shortest tone that counts, ms (default 120; speech never holds one pure pitch this long). */
  minToneMs?: number;
  /** Share of the frame's energy at the tone's frequency (0..1, default 0.6). */
  purity?: number;
  /** Quietest tone, dBFS (default -40). */
  minDbfs?: number;
}

export interface Beep {
  hz: number;
  /** ms the tone lasted. */
  durationMs: number;
}

interface Coeffs {
  hz: number;
  coeff: number;
}

export class BeepDetector {
  private readonly coeffs: Coeffs[];
  private readonly minToneMs: number;
  private readonly purity: number;
  private readonly minPower: number;
  private runHz = 0;
  private runMs = 0;

  constructor(opts: BeepDetectorOptions) {
    const lo = opts.minHz ?? 350;
    const hi = Math.min(opts.maxHz ?? 2100, opts.sampleRate / 2 - 100);
    this.coeffs = [];
    for (let hz = lo; hz <= hi; hz += 25) this.coeffs.push({ hz, coeff: 2 * Math.cos((2 * Math.PI * hz) / opts.sampleRate) });
    this.minToneMs = opts.minToneMs ?? 120;
    this.purity = opts.purity ?? 0.6;
    const amp = 32768 * 10 ** ((opts.minDbfs ?? -40) / 20);
    this.minPower = amp * amp;
  }

  /**
   * Dominant tone of one frame and the share of energy it holds, or hz 0 when
   * the frame is too quiet. Exposed for tests and the AMD measurement.
   */
  analyse(samples: Int16Array): { hz: number; purity: number } {
    const n = samples.length;
    let energy = 0;
    for (let i = 0; i < n; i++) energy += samples[i]! * samples[i]!;
    if (n === 0 || energy / n < this.minPower) return { hz: 0, purity: 0 };
    let bestHz = 0;
    let best = 0;
    for (const c of this.coeffs) {
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const s0 = samples[i]! + c.coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      const power = s1 * s1 + s2 * s2 - c.coeff * s1 * s2;
      if (power > best) {
        best = power;
        bestHz = c.hz;
      }
    }
    // A pure tone on a bin gives |X|² = N·Σx²/2: normalise so that is 1.
    return { hz: bestHz, purity: (2 * best) / (n * energy) };
  }

  /** Feed one frame; returns the beep when a tone long enough just ended with this frame. */
  push(samples: Int16Array, frameMs: number): Beep | undefined {
    const { hz, purity } = this.analyse(samples);
    const tonal = hz > 0 && purity >= this.purity;
    if (tonal && this.runMs > 0 && Math.abs(hz - this.runHz) <= 50) {
      this.runMs += frameMs;
      return undefined;
    }
    const ended = this.runMs >= this.minToneMs ? { hz: this.runHz, durationMs: this.runMs } : undefined;
    this.runHz = tonal ? hz : 0;
    this.runMs = tonal ? frameMs : 0;
    return ended;
  }

  /** A tone still sounding at the end of the input (e.g. the recording starts under it). */
  get sounding(): Beep | undefined {
    return this.runMs >= this.minToneMs ? { hz: this.runHz, durationMs: this.runMs } : undefined;
  }

  reset(): void {
    this.runHz = 0;
    this.runMs = 0;
  }
}
