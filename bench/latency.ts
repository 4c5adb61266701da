import { MODELLED, runJob, type Breakdown, type TurnsJob, type TurnsResult, type Who } from './jobs.js';
import { median, percentile, round, spread } from './stats.js';

/** Configured endpointing delay (voicebot `endOfSpeech`, LiveKit `endpointing.minDelay`). */
export const END_OF_SPEECH_MS = 200;

export interface Variant {
  label: string;
  who: Who;
  preemptive?: boolean;
  /** Job fields of this variant only (the turns bench's STT shape, endpointing mode). */
  job?: Partial<TurnsJob>;
}

const OURS: Variant = { label: 'voicebot', who: 'ours' };
const LK: Variant = { label: 'LiveKit agents 1.9', who: 'livekit' };
const LK_PRE: Variant = { label: 'LiveKit agents 1.9, preemptive generation', who: 'livekit', preemptive: true };

export interface BenchOpts {
  quick: boolean;
  peers: boolean;
}

function sizes(opts: BenchOpts): { calls: number; turns: number; rounds: number } {
  return opts.quick ? { calls: 5, turns: 3, rounds: 1 } : { calls: 20, turns: 3, rounds: 3 };
}

/** Runs every variant once per round, alternating, so machine load drifts over all of them alike. */
export async function interleaved(variants: Variant[], job: Omit<TurnsJob, 'preemptive'>, rounds: number): Promise<Map<Variant, TurnsResult[]>> {
  const out = new Map<Variant, TurnsResult[]>(variants.map((v) => [v, []]));
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      out.get(v)!.push(await runJob<TurnsResult>(v.who, { ...job, ...v.job, preemptive: v.preemptive }, job.timeoutMs + 30_000));
    }
  }
  return out;
}

export interface LatencyRow {
  framework: string;
  turns: number;
  p50Ms: string;
  p99Ms: string;
  /** Turns whose reply began before the endpoint was due: no framework latency for them (LiveKit under load commits a turn on the transcript before its lagging VAD ends the speech). */
  early: number;
  /** Peer's p50 / ours, median of the per-round ratios. */
  vsOursP50?: string;
  vsOursP99?: string;
}

const per = (runs: TurnsResult[], pick: (r: TurnsResult) => number[], p: number): number[] => runs.map((r) => percentile(pick(r), p));

function ratio(peer: number[], ours: number[]): string {
  const rs = peer.map((x, i) => x / ours[i]).filter(Number.isFinite);
  return rs.length ? `${spread(rs, 1)}×` : '—';
}

function rows(variants: Variant[], got: Map<Variant, TurnsResult[]>, pick: (r: TurnsResult) => number[]): LatencyRow[] {
  const ours = got.get(OURS)!;
  return variants.map((v) => {
    const runs = got.get(v)!;
    const row: LatencyRow = {
      framework: v.label,
      turns: runs.reduce((n, r) => n + pick(r).length, 0),
      p50Ms: spread(per(runs, pick, 50), 2),
      p99Ms: spread(per(runs, pick, 99), 2),
      early: runs.reduce((n, r) => n + r.early, 0),
    };
    if (v !== OURS) {
      row.vsOursP50 = ratio(per(runs, pick, 50), per(ours, pick, 50));
      row.vsOursP99 = ratio(per(runs, pick, 99), per(ours, pick, 99));
    }
    return row;
  });
}

/**
 * Framework latency per turn: zero-delay fake services, 8 kHz line, measured
 * from the moment the endpoint is due (voicebot: the caller frame that
 * completes endpointing; LiveKit: its endpointing timer's due time) to the
 * first bot frame at the caller. Figures: median (min–max) over rounds of
 * each round's p50/p99.
 */
export async function runLatencyBench(opts: BenchOpts): Promise<LatencyRow[]> {
  const { calls, turns, rounds } = sizes(opts);
  const variants = opts.peers ? [OURS, LK] : [OURS];
  const got = await interleaved(variants, { mode: 'turns', calls, turns, endOfSpeechMs: END_OF_SPEECH_MS, timeoutMs: 120_000 }, rounds);
  return rows(variants, got, (r) => r.framework);
}

export interface V2vRow extends LatencyRow {
  endpointingMs: number;
  sttMs: number;
  llmMs: number;
  ttsMs: number;
  frameworkMs: number;
}

const STAGES = ['endpointing', 'stt', 'llm', 'tts', 'framework'] as const;

/**
 * Voice-to-voice with modelled provider delays (STT 200 ms, LLM first token
 * 350 ms + 20 ms/token, TTS first byte 150 ms): caller's last speech sample →
 * first bot sample at the caller, and its median breakdown per stage (the
 * stages' medians need not add up to the total's median).
 */
export async function runV2vBench(opts: BenchOpts): Promise<V2vRow[]> {
  const { calls, turns, rounds } = sizes(opts);
  const variants = opts.peers ? [OURS, LK, LK_PRE] : [OURS];
  const got = await interleaved(variants, { mode: 'turns', calls, turns, endOfSpeechMs: END_OF_SPEECH_MS, delays: MODELLED, timeoutMs: 180_000 }, rounds);
  const base = rows(variants, got, (r) => r.v2v);
  return variants.map((v, i) => {
    const b: Breakdown[] = got.get(v)!.flatMap((r) => r.breakdown);
    const stage = (k: (typeof STAGES)[number]): number => round(median(b.map((x) => x[k])), 1);
    return { ...base[i], endpointingMs: stage('endpointing'), sttMs: stage('stt'), llmMs: stage('llm'), ttsMs: stage('tts'), frameworkMs: stage('framework') };
  });
}
