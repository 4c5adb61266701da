import { beforeAll, describe, expect, it } from 'vitest';
import { mulawDecode } from '../../core/audio/g711.js';
import type { AudioFrame } from '../../core/audio/frame.js';
import { VadPlugin, type VadCapabilities, type VadDetector, type VadEvent } from '../../core/plugins/vad.js';
import { makeLabelledSet, type LabelledClip, type Region } from '../../bench/vad/labelled-set.js';
import { scoreVad } from '../../bench/vad/score.js';

let clips: LabelledClip[];
beforeAll(async () => {
  clips = await makeLabelledSet({ snrsDb: [10], noiseSeconds: 4, noises: ['none', 'white', 'beeps'] });
}, 60_000);

function dbfs(a: Int16Array, from: number, to: number): number {
  let acc = 0;
  for (let i = from; i < to; i++) acc += a[i] * a[i];
  return 10 * Math.log10(acc / (to - from) / 32768 ** 2);
}

describe('labelled VAD set', () => {
  it('has speech clips with ground truth and noise-only clips without, at 16 kHz and 8 kHz μ-law', () => {
    const speech = clips.filter((c) => c.speech.length);
    const noise = clips.filter((c) => !c.speech.length);
    expect(speech.length).toBe(3 * 2);
    expect(noise.length).toBe(3 * 2);
    for (const c of speech) {
      const durMs = (c.audio.length / c.sampleRate) * 1000;
      // 1.5 s lead of noise only, two phrases.
      expect(c.speech[0].startMs).toBeGreaterThanOrEqual(1500);
      expect(c.speech[c.speech.length - 1].endMs).toBeLessThan(durMs);
      const voiced = c.speech.reduce((a, r) => a + r.endMs - r.startMs, 0);
      expect(voiced).toBeGreaterThan(1000);
    }
    const ulaw = new Set(mulawDecode(Uint8Array.from({ length: 256 }, (_, i) => i)));
    for (const c of clips.filter((x) => x.format === '8k-ulaw')) {
      expect(c.sampleRate).toBe(8000);
      expect(c.audio.every((v) => ulaw.has(v))).toBe(true);
    }
  });

  it('mixes noise at the stated SNR and noise-only clips at the stated level', () => {
    const c = clips.find((x) => x.noise === 'white' && x.speech.length && x.format === '16k')!;
    const r = c.sampleRate / 1000;
    const noiseDb = dbfs(c.audio, 100 * r, 1400 * r);
    const g = c.speech[0];
    const speechDb = dbfs(c.audio, g.startMs * r, g.endMs * r);
    // Speech ≈ −20 dBFS over its whole phrase (pauses included in a region lower it), noise 10 dB below.
    expect(speechDb - noiseDb).toBeGreaterThan(7);
    expect(speechDb - noiseDb).toBeLessThan(14);
    const n = clips.find((x) => x.noise === 'white' && !x.speech.length && x.format === '16k')!;
    expect(dbfs(n.audio, 0, n.audio.length)).toBeCloseTo(-25, 0);
  });
});

/** Reads the truth (or is always on, or flickers once a second): the scorer must mark each as it is. */
class OracleDetector implements VadDetector {
  speaking = false;
  probability = 0;
  private t = 0;
  constructor(
    private readonly mode: 'oracle' | 'always' | 'flicker',
    private readonly regions: readonly Region[],
  ) {}
  process(f: AudioFrame): VadEvent {
    const mid = this.t + 10;
    this.t += (f.samples.length / f.sampleRate) * 1000;
    const want = this.mode === 'always' ? true : this.mode === 'flicker' ? Math.floor(mid / 1000) % 2 === 1 : this.regions.some((r) => mid >= r.startMs && mid < r.endMs);
    if (want === this.speaking) return 'none';
    this.speaking = want;
    return want ? 'speech-start' : 'speech-end';
  }
  reset(): void {}
}

class OracleVad extends VadPlugin {
  readonly capabilities: VadCapabilities = { sampleRates: [8000, 16000] };
  truth: Region[][] = [];
  private next = 0;
  constructor(private readonly mode: 'oracle' | 'always' | 'flicker') {
    super('oracle');
  }
  protected _createDetector(): VadDetector {
    return new OracleDetector(this.mode, this.truth[this.next++] ?? []);
  }
}

describe('VAD scorer', () => {
  it('gives the truth itself precision and recall 1, onsets at once, no false onsets', async () => {
    const v = new OracleVad('oracle');
    v.truth = clips.map((c) => c.speech);
    const s = await scoreVad(v, clips);
    expect(s.precision).toBe(1);
    expect(s.recall).toBe(1);
    expect(s.falseOnsetsPerMin).toBe(0);
    expect(s.regionsFound).toBe(1);
    expect(s.onsetDelayP90).toBeLessThanOrEqual(20);
  });

  it('scores an always-on VAD at the speech fraction and a 1 s flicker at 30 onsets per minute of noise', async () => {
    const always = await scoreVad(new OracleVad('always'), clips);
    expect(always.recall).toBe(1);
    expect(always.precision).toBeLessThan(0.6);
    expect(always.precision).toBeGreaterThan(0.2);
    const flicker = await scoreVad(new OracleVad('flicker'), clips);
    expect(flicker.falseOnsetsPerMin).toBeGreaterThan(25);
    expect(flicker.falseOnsetsPerMin).toBeLessThan(35);
  });
});
