/**
 * `npm run bench -- --only=turns [--peers]`: turn-taking.
 *
 * - v2v: voice-to-voice (caller's last speech sample → first bot sample at
 *   the caller) with modelled provider delays, per endpointing mode (fixed
 *   timer, word-aware, preemptive) and STT shape (streaming, batch), through
 *   the same harness as the `v2v` section (bench/latency.ts, child processes,
 *   simulated callers on real time); with `--peers` LiveKit agents 1.9 with
 *   and without preemptive generation, interleaved in the same run.
 * - barge: false and missed barge-ins per VAD on the labelled audio set
 *   (bench/turns-barge.ts).
 */
import { MODELLED, runJob, type BargeJob, type Breakdown, type TurnsJob, type TurnsResult } from './jobs.js';
import { END_OF_SPEECH_MS, interleaved, type BenchOpts, type Variant } from './latency.js';
import { median, percentile, round, spread } from './stats.js';
import type { BargeRow } from './turns-barge.js';

/** What the caller says each turn: a complete answer, as a hosted STT would punctuate it. */
export const CALLER_TEXT = 'Yes.';
/** Word-aware endpointing as the brief's shape sets it: 200 ms after a complete-looking turn, up to 1.5 s mid-phrase. */
export const TURN = { minEndpointMs: 200, maxEndpointMs: 1500 };
/** STT shapes: streaming final 200 ms after the audio that completed it; batch answer 400 ms after the request. */
const STT_SHAPES = [
  { stt: 'streaming' as const, sttMs: MODELLED.sttMs, label: `streaming, final +${MODELLED.sttMs} ms` },
  { stt: 'batch' as const, sttMs: 400, label: 'batch, +400 ms' },
];

type Mode = 'fixed' | 'word-aware' | 'preemptive' | 'livekit' | 'livekit-preemptive' | 'livekit-preflight';

interface TurnVariant extends Variant {
  mode: Mode;
  stt: 'streaming' | 'batch';
}

const MODE_LABEL: Record<Mode, string> = {
  fixed: `fixed timer (timeouts.endOfSpeech ${END_OF_SPEECH_MS}ms)`,
  'word-aware': `word-aware (turn.minEndpoint ${TURN.minEndpointMs}ms / maxEndpoint ${TURN.maxEndpointMs}ms, endOfSpeech ${END_OF_SPEECH_MS}ms)`,
  preemptive: 'word-aware + turn.preemptive',
  livekit: `endpointing.minDelay ${END_OF_SPEECH_MS}ms`,
  'livekit-preemptive': `minDelay ${END_OF_SPEECH_MS}ms + preemptiveGeneration`,
  'livekit-preflight': `minDelay ${END_OF_SPEECH_MS}ms + preemptiveGeneration, interims as PREFLIGHT_TRANSCRIPT`,
};

function variants(peers: boolean, stt: 'streaming' | 'batch'): TurnVariant[] {
  const ours = (mode: Mode, job: Partial<TurnsJob>): TurnVariant => ({ label: 'voicebot', who: 'ours', mode, stt, job: { stt, ...job } });
  const lk = (mode: Mode, preemptive: boolean, preflight = false): TurnVariant => ({ label: 'LiveKit agents 1.9', who: 'livekit', mode, stt, preemptive, job: { stt, preflight } });
  const out = [ours('fixed', {}), ours('word-aware', { turn: TURN }), ours('preemptive', { turn: { ...TURN, preemptive: true } })];
  if (peers) out.push(lk('livekit', false), lk('livekit-preemptive', true));
  // Only a streaming STT has interims to send early.
  if (peers && stt === 'streaming') out.push(lk('livekit-preflight', true, true));
  return out;
}

export interface TurnsV2vRow {
  part: 'v2v';
  stt: string;
  framework: string;
  mode: string;
  /** Turns measured over all rounds. */
  n: number;
  /** Over all turns of all rounds. */
  p50Ms: number | string;
  p25Ms?: number;
  p75Ms?: number;
  /** Each round's p50: median (min–max). */
  roundP50Ms?: string;
  endpointingMs?: number;
  sttMs?: number;
  llmMs?: number;
  ttsMs?: number;
  frameworkMs?: number;
  /** voicebot rows: our p50 ÷ LiveKit's, per round, median (min–max). */
  oursOverLk?: string;
  oursOverLkPreemptive?: string;
  /** Against LiveKit with preflight transcripts (streaming STT only). */
  oursOverLkPreflight?: string;
  /** Replies that began before the endpoint was reported (early starts). */
  early?: number;
  /** voicebot: turns whose reply used the generation started before the endpoint. */
  preemptiveTurns?: number;
  /** Why the variant did not run (e.g. this tree's config validation refuses the mode). */
  skipped?: string;
  runs?: TurnsResult[];
}

const STAGES = ['endpointing', 'stt', 'llm', 'tts', 'framework'] as const;

function ratio(ours: TurnsResult[], peer: TurnsResult[] | undefined): string | undefined {
  if (!peer || ours.some((r) => r.skipped) || peer.some((r) => r.skipped)) return undefined;
  const rs = ours.map((r, i) => percentile(r.v2v, 50) / percentile(peer[i].v2v, 50)).filter(Number.isFinite);
  return rs.length ? `${spread(rs, 2)}×` : undefined;
}

function row(v: TurnVariant, sttLabel: string, runs: TurnsResult[]): TurnsV2vRow {
  const base: TurnsV2vRow = { part: 'v2v', stt: sttLabel, framework: v.label, mode: MODE_LABEL[v.mode], n: 0, p50Ms: '—' };
  const skipped = runs.find((r) => r.skipped)?.skipped;
  if (skipped) return { ...base, skipped };
  const all = runs.flatMap((r) => r.v2v);
  const b: Breakdown[] = runs.flatMap((r) => r.breakdown);
  const stage = (k: (typeof STAGES)[number]): number => round(median(b.map((x) => x[k])), 1);
  return {
    ...base,
    n: all.length,
    p50Ms: round(median(all), 1),
    p25Ms: round(percentile(all, 25), 1),
    p75Ms: round(percentile(all, 75), 1),
    roundP50Ms: spread(runs.map((r) => percentile(r.v2v, 50)), 1),
    endpointingMs: stage('endpointing'),
    sttMs: stage('stt'),
    llmMs: stage('llm'),
    ttsMs: stage('tts'),
    frameworkMs: stage('framework'),
    early: runs.reduce((n, r) => n + r.early, 0),
    ...(v.who === 'ours' ? { preemptiveTurns: runs.reduce((n, r) => n + (r.preemptiveTurns ?? 0), 0) } : {}),
    runs,
  };
}

function sizes(opts: BenchOpts): { calls: number; turns: number; rounds: number } {
  return opts.quick ? { calls: 4, turns: 3, rounds: 1 } : { calls: 10, turns: 3, rounds: 3 };
}

export async function runTurnsV2v(opts: BenchOpts): Promise<TurnsV2vRow[]> {
  const { calls, turns, rounds } = sizes(opts);
  const out: TurnsV2vRow[] = [];
  for (const shape of STT_SHAPES) {
    const vs = variants(opts.peers, shape.stt);
    const job = { mode: 'turns' as const, calls, turns, endOfSpeechMs: END_OF_SPEECH_MS, callerText: CALLER_TEXT, delays: { ...MODELLED, sttMs: shape.sttMs }, timeoutMs: 120_000 };
    const got = await interleaved(vs, job, rounds);
    const lk = vs.find((v) => v.mode === 'livekit');
    const lkPre = vs.find((v) => v.mode === 'livekit-preemptive');
    const lkFlight = vs.find((v) => v.mode === 'livekit-preflight');
    for (const v of vs) {
      const runs = got.get(v)!;
      const r = row(v, shape.label, runs);
      if (v.who === 'ours' && !r.skipped) {
        r.oursOverLk = ratio(runs, lk && got.get(lk));
        r.oursOverLkPreemptive = ratio(runs, lkPre && got.get(lkPre));
        r.oursOverLkPreflight = ratio(runs, lkFlight && got.get(lkFlight));
      }
      out.push(r);
    }
  }
  return out;
}

/** The VADs to measure: silero only where its optional packages are installed (turns-barge reports it skipped otherwise). */
const VADS = ['energy', 'fvad', 'silero'];

export async function runTurnsBench(opts: BenchOpts): Promise<(TurnsV2vRow | BargeRow)[]> {
  const v2v = await runTurnsV2v(opts);
  const job: BargeJob = { mode: 'barge', vads: VADS, quick: opts.quick, timeoutMs: 360_000 };
  const barge = await runJob<BargeRow[]>('ours', job, job.timeoutMs + 30_000);
  return [...v2v, ...barge];
}
