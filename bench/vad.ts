/**
 * `npm run bench -- --only=vad`: accuracy of each VAD on the generated
 * labelled set (bench/vad/labelled-set.ts) and its CPU per call-second.
 */
import type { VadPlugin } from '../core/plugins/vad.js';
import { EnergyVad } from '../plugins/energy/vad.js';
import { FvadVad } from '../plugins/fvad/index.js';
import { SileroVad, locateSilero } from '../plugins/silero/index.js';
import { makeLabelledSet, type LabelledClip, type LineFormat } from './vad/labelled-set.js';
import { scoreVad, type VadScore } from './vad/score.js';
import { round } from './stats.js';

export interface VadBenchRow {
  vad: string;
  format: LineFormat;
  /** `all`: the whole labelled set; `quiet`: only clean speech and a quiet line (what most calls are), where a gate saves inference. */
  lines: 'all' | 'quiet';
  /** Clips run side by side, as concurrent calls (copies of the set). */
  calls: number;
  precision: number;
  recall: number;
  falseOnsetsPerMinNoise: number;
  noiseCalledSpeech: number;
  regionsFound: number;
  onsetDelayP50Ms: number;
  onsetDelayP90Ms: number;
  cpuMsPerCallSecond: number;
}

interface Candidate {
  name: string;
  make: () => VadPlugin;
  settle?: (v: VadPlugin) => Promise<void>;
}

export function vadCandidates(): Candidate[] {
  const out: Candidate[] = [
    { name: 'energy', make: () => new EnergyVad() },
    { name: 'fvad (mode 3)', make: () => new FvadVad({ mode: 3 }) },
    { name: 'fvad (mode 1)', make: () => new FvadVad({ mode: 1 }) },
  ];
  let silero = true;
  try {
    locateSilero();
  } catch {
    silero = false;
  }
  if (silero) {
    const settle = (v: VadPlugin): Promise<void> => (v as SileroVad).flush();
    out.push({ name: 'silero (fvad gate)', make: () => new SileroVad(), settle });
    out.push({ name: 'silero (no gate)', make: () => new SileroVad({ gate: 'none' }), settle });
  }
  return out;
}

export function toRow(vad: string, format: LineFormat, lines: VadBenchRow['lines'], calls: number, s: VadScore): VadBenchRow {
  return {
    vad,
    format,
    lines,
    calls,
    precision: round(s.precision, 3),
    recall: round(s.recall, 3),
    falseOnsetsPerMinNoise: round(s.falseOnsetsPerMin, 1),
    noiseCalledSpeech: round(s.noiseSpeechFraction, 3),
    regionsFound: round(s.regionsFound, 3),
    onsetDelayP50Ms: Math.round(s.onsetDelayP50),
    onsetDelayP90Ms: Math.round(s.onsetDelayP90),
    cpuMsPerCallSecond: round(s.cpuMsPerCallSecond, 3),
  };
}

export async function runVadBench(opts: { quick: boolean }): Promise<VadBenchRow[]> {
  const clips: LabelledClip[] = await makeLabelledSet(opts.quick ? { snrsDb: [10], noiseSeconds: 10 } : {});
  const rows: VadBenchRow[] = [];
  // Copies of the set run side by side so CPU per call-second is measured at some concurrency (silero batches across calls).
  const copies = opts.quick ? 1 : 4;
  for (const c of vadCandidates()) {
    for (const format of ['16k', '8k-ulaw'] as const) {
      for (const lines of ['all', 'quiet'] as const) {
        const set = clips.filter((x) => x.format === format && (lines === 'all' || x.noise === 'none'));
        const calls = Array.from({ length: copies * (lines === 'quiet' ? 4 : 1) }, () => set).flat();
        const vad = c.make();
        await vad.start();
        try {
          const s = await scoreVad(vad, calls, { settle: c.settle && (() => c.settle!(vad)) });
          rows.push(toRow(c.name, format, lines, calls.length, s));
        } finally {
          await vad.stop();
        }
      }
    }
  }
  return rows;
}
