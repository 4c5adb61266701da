import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VadPlugin } from '../../core/plugins/vad.js';
import { EnergyVad } from '../../plugins/energy/vad.js';
import { FvadVad } from '../../plugins/fvad/index.js';
import { SileroVad, locateSilero } from '../../plugins/silero/index.js';
import { makeLabelledSet, type LabelledClip } from '../../bench/vad/labelled-set.js';
import { scoreVad, type VadScore } from '../../bench/vad/score.js';

let sileroMissing: string | undefined;
try {
  locateSilero();
} catch (e) {
  sileroMissing = (e as Error).message;
}

/**
 * Floors, not figures: each VAD on the generated set (10 dB SNR, the issue's
 * line noises), compared with each other. The measured table is in README
 * ("Voice activity detection", from `npm run bench -- --only=vad`).
 */
let clips: LabelledClip[];
const scores = new Map<string, { all: VadScore; clean: VadScore }>();
const started: VadPlugin[] = [];

async function score(name: string, vad: VadPlugin, settle?: () => Promise<void>): Promise<void> {
  await vad.start();
  started.push(vad);
  scores.set(name, {
    all: await scoreVad(vad, clips, { settle }),
    clean: await scoreVad(vad, clips.filter((c) => c.noise === 'none' && c.speech.length), { settle }),
  });
}

beforeAll(async () => {
  clips = await makeLabelledSet({ snrsDb: [10], noiseSeconds: 10 });
  await score('energy', new EnergyVad());
  await score('fvad', new FvadVad());
  if (!sileroMissing) {
    const s = new SileroVad();
    await score('silero', s, () => s.flush());
  }
}, 180_000);
afterAll(async () => {
  for (const v of started) await v.stop();
});

describe('VAD accuracy on the labelled set', () => {
  it('every VAD hears clean speech (frame recall ≥ 0.8, every phrase start found)', () => {
    for (const [name, s] of scores) {
      expect(s.clean.recall, name).toBeGreaterThanOrEqual(0.8);
      expect(s.clean.regionsFound, name).toBe(1);
    }
  });

  it('fvad calls less noise speech than energy inside the speech clips (higher frame precision)', () => {
    expect(scores.get('fvad')!.all.precision).toBeGreaterThan(scores.get('energy')!.all.precision);
  });

  it.skipIf(!!sileroMissing)(`silero: far fewer false onsets and noise frames than energy and fvad, and a prompt onset${sileroMissing ? ` (skipped: ${sileroMissing})` : ''}`, () => {
    const s = scores.get('silero')!.all;
    const e = scores.get('energy')!.all;
    const f = scores.get('fvad')!.all;
    expect(s.falseOnsetsPerMin).toBeLessThan(e.falseOnsetsPerMin / 4);
    expect(s.falseOnsetsPerMin).toBeLessThan(f.falseOnsetsPerMin / 4);
    expect(s.noiseSpeechFraction).toBeLessThan(0.05);
    // Energy stays "speaking" through loud white noise: the greeting-cutting bug.
    expect(e.noiseSpeechFraction).toBeGreaterThan(0.3);
    expect(s.precision).toBeGreaterThan(e.precision);
    expect(s.regionsFound).toBeGreaterThan(0.9);
    expect(s.onsetDelayP50).toBeLessThan(250);
  });
});
