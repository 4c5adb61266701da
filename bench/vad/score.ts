/**
 * Scores VADs on a labelled set: clips are fed like concurrent calls (frame
 * i of every clip, then frame i+1), so a VAD that batches across calls
 * (silero) is measured the way it runs, with `settle()` between frames
 * standing for the 20 ms a live line leaves.
 */
import type { AudioFrame } from '../../core/audio/frame.js';
import { resample } from '../../core/audio/resampler.js';
import type { VadDetector, VadPlugin } from '../../core/plugins/vad.js';
import type { LabelledClip, Region } from './labelled-set.js';

const FRAME_MS = 20;
/** A speech-start this long before a region still counts as that region's onset. */
const ONSET_SLACK_MS = 100;

export interface VadScore {
  /** Frames the VAD called speech that were speech / all it called speech. */
  precision: number;
  /** Speech frames the VAD called speech / all speech frames. */
  recall: number;
  /** speech-start events per minute of noise-only audio. */
  falseOnsetsPerMin: number;
  /** Frames of noise-only audio called speech / all of them (a VAD stuck "speaking" on noise cuts every prompt). */
  noiseSpeechFraction: number;
  /** speech-start events in speech clips outside any region. */
  falseOnsetsInSpeechClips: number;
  /** Regions with a speech-start near their start / all regions. */
  regionsFound: number;
  /** Median and p90 ms from region start to speech-start (found regions only). */
  onsetDelayP50: number;
  onsetDelayP90: number;
  /** CPU ms (process, all threads) per second of call audio. */
  cpuMsPerCallSecond: number;
  audioSeconds: number;
}

interface Run {
  clip: LabelledClip;
  d: VadDetector;
  audio: Int16Array;
  rate: number;
  speaking: Uint8Array;
  onsets: number[];
}

export interface ScoreOptions {
  /** Awaited between frame steps (e.g. SileroVad.flush). */
  settle?: () => Promise<void>;
}

function inRegion(t: number, rs: readonly Region[]): boolean {
  return rs.some((r) => t >= r.startMs && t < r.endMs);
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Per-clip frame decisions and onsets for one VAD (the plugin is started by the caller). */
export async function runClips(vad: VadPlugin, clips: readonly LabelledClip[], o: ScoreOptions = {}): Promise<{ runs: Run[]; cpuMs: number }> {
  const runs: Run[] = clips.map((clip) => {
    const rates = vad.capabilities.sampleRates;
    const rate = rates.includes(clip.sampleRate) ? clip.sampleRate : rates.includes(16000) ? 16000 : rates[0];
    const audio = rate === clip.sampleRate ? clip.audio : resample(clip.audio, clip.sampleRate, rate);
    const frames = Math.floor(audio.length / ((rate * FRAME_MS) / 1000));
    return { clip, d: vad.createDetector({ sampleRate: rate }), audio, rate, speaking: new Uint8Array(frames), onsets: [] };
  });
  const maxFrames = Math.max(...runs.map((r) => r.speaking.length));
  const frame: AudioFrame = { samples: new Int16Array(0), sampleRate: 0, timestampMs: 0 };
  const cpu0 = process.cpuUsage();
  for (let f = 0; f < maxFrames; f++) {
    for (const r of runs) {
      if (f >= r.speaking.length) continue;
      const n = (r.rate * FRAME_MS) / 1000;
      frame.samples = r.audio.subarray(f * n, f * n + n);
      frame.sampleRate = r.rate;
      frame.timestampMs = f * FRAME_MS;
      if (r.d.process(frame) === 'speech-start') r.onsets.push((f + 1) * FRAME_MS);
      r.speaking[f] = r.d.speaking ? 1 : 0;
    }
    if (o.settle) await o.settle();
  }
  const c = process.cpuUsage(cpu0);
  return { runs, cpuMs: (c.user + c.system) / 1000 };
}

/** Scores one VAD over the clips. */
export async function scoreVad(vad: VadPlugin, clips: readonly LabelledClip[], o: ScoreOptions = {}): Promise<VadScore> {
  const { runs, cpuMs } = await runClips(vad, clips, o);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let noiseMs = 0;
  let noiseOnsets = 0;
  let noiseSpeaking = 0;
  let strayOnsets = 0;
  let regions = 0;
  let found = 0;
  const delays: number[] = [];
  let audioMs = 0;
  for (const r of runs) {
    const rs = r.clip.speech;
    audioMs += r.speaking.length * FRAME_MS;
    if (!rs.length) {
      noiseMs += r.speaking.length * FRAME_MS;
      noiseOnsets += r.onsets.length;
      for (const v of r.speaking) noiseSpeaking += v;
      continue;
    }
    for (let f = 0; f < r.speaking.length; f++) {
      const truth = inRegion(f * FRAME_MS + FRAME_MS / 2, rs);
      if (r.speaking[f]) truth ? tp++ : fp++;
      else if (truth) fn++;
    }
    for (const t of r.onsets) if (!rs.some((g) => t >= g.startMs - ONSET_SLACK_MS && t < g.endMs)) strayOnsets++;
    for (const g of rs) {
      // Short regions inside one phrase (a word after a pause) may fall in the hangover of the last: only phrase starts are scored.
      if (rs.some((o2) => o2 !== g && o2.endMs <= g.startMs && g.startMs - o2.endMs < 500)) continue;
      regions++;
      const t = r.onsets.find((x) => x >= g.startMs - ONSET_SLACK_MS && x < g.endMs);
      if (t === undefined) continue;
      found++;
      delays.push(Math.max(0, t - g.startMs));
    }
  }
  delays.sort((a, b) => a - b);
  return {
    precision: tp + fp ? tp / (tp + fp) : 1,
    recall: tp + fn ? tp / (tp + fn) : 1,
    falseOnsetsPerMin: noiseMs ? noiseOnsets / (noiseMs / 60000) : 0,
    noiseSpeechFraction: noiseMs ? (noiseSpeaking * FRAME_MS) / noiseMs : 0,
    falseOnsetsInSpeechClips: strayOnsets,
    regionsFound: regions ? found / regions : 1,
    onsetDelayP50: pct(delays, 50),
    onsetDelayP90: pct(delays, 90),
    cpuMsPerCallSecond: cpuMs / (audioMs / 1000),
    audioSeconds: audioMs / 1000,
  };
}
