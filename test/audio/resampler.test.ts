import { describe, expect, it } from 'vitest';
import { Resampler, resample } from '../../core/audio/resampler.js';
import { rms } from '../../core/audio/mix.js';

function sine(freq: number, rate: number, ms: number, amp = 10000): Int16Array {
  const n = (rate * ms) / 1000;
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate));
  return s;
}

/** Goertzel power of one frequency, normalised to amplitude. */
function toneAmplitude(s: Int16Array, freq: number, rate: number): number {
  const k = (2 * Math.cos((2 * Math.PI * freq) / rate));
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < s.length; i++) {
    const s0 = s[i] + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / s.length;
}

const PAIRS: [number, number][] = [
  [8000, 16000], [16000, 8000], [8000, 48000], [48000, 8000], [16000, 24000], [24000, 16000], [16000, 48000], [48000, 16000], [24000, 48000], [48000, 24000],
];

describe('Resampler', () => {
  for (const [from, to] of PAIRS) {
    it(`${from} → ${to} keeps a 1 kHz sine's frequency and level`, () => {
      const out = resample(sine(1000, from, 500), from, to);
      expect(out.length).toBe((to * 500) / 1000);
      const steady = out.subarray(out.length / 4, (out.length * 3) / 4);
      const amp = toneAmplitude(steady, 1000, to);
      expect(20 * Math.log10(amp / 10000)).toBeGreaterThan(-1);
      expect(20 * Math.log10(amp / 10000)).toBeLessThan(1);
      // The energy is at 1 kHz, not somewhere else.
      expect(toneAmplitude(steady, 1300, to)).toBeLessThan(amp / 20);
      expect(rms(steady)).toBeGreaterThan(10000 / Math.SQRT2 - 300);
    });
  }

  it('attenuates a tone above the target Nyquist by at least 40 dB (48k → 8k, 6 kHz)', () => {
    const out = resample(sine(6000, 48000, 500), 48000, 8000);
    const steady = out.subarray(200, out.length - 200);
    expect(20 * Math.log10(rms(steady) / (10000 / Math.SQRT2))).toBeLessThan(-40);
  });

  it('frame-by-frame equals one-shot, with exact frame sizes', () => {
    for (const [from, to] of PAIRS) {
      const input = sine(440, from, 400);
      const whole = resample(input, from, to);
      const r = new Resampler(from, to);
      const inFrame = from / 50;
      const parts: number[] = [];
      for (let i = 0; i < input.length; i += inFrame) {
        const o = r.process(input.subarray(i, i + inFrame));
        expect(o.length).toBe(to / 50);
        parts.push(...o);
      }
      expect(Int16Array.from(parts)).toEqual(whole);
    }
  });

  it('rejects an unsupported rate with a coded error', () => {
    expect(() => new Resampler(44100, 16000)).toThrow(/VB_ERR_AUDIO_FORMAT|44100/);
  });
});
