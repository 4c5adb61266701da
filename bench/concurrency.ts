import { runJob, type ConcurrencyJob, type Who } from './jobs.js';
import { END_OF_SPEECH_MS, type BenchOpts } from './latency.js';
import { spread } from './stats.js';
import type { WindowResult } from './window.js';

/**
 * The real-time rule, both directions, per frame where it arrives:
 * caller frames reach the bot at most CALLER_LATE_P99_MS late (p99), bot
 * frames reach the caller with gap jitter at most BOT_JITTER_P99_MS (p99),
 * and no call ends.
 */
export const CALLER_LATE_P99_MS = 50;
export const BOT_JITTER_P99_MS = 20;

export function onTime(r: WindowResult): boolean {
  return r.callerLateP99Ms <= CALLER_LATE_P99_MS && r.botJitterP99Ms <= BOT_JITTER_P99_MS && r.callsEnded === 0;
}

const num = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);
const list = (name: string): number[] | undefined => process.env[name]?.split(',').map(Number);

/**
 * Knobs (environment):
 *   VB_LEVELS      voicebot call counts, comma-separated (default 250,500,1000,1500,2000; --quick 250)
 *   VB_PEER_LEVELS LiveKit session counts with --peers (default 10,25,50,100; --quick 25)
 *   VB_RUNS        runs per level, each in a fresh process (default 3; --quick 1)
 *   VB_MEASURE_MS  measured window per run (default 5000; --quick 3000), after VB_WARMUP_MS (default 3000)
 *   VB_TURN_EVERY_MS  pause from a turn's trigger (580 ms after the caller stops) to the next turn (default 4000)
 */
function knobs(opts: BenchOpts) {
  return {
    levels: list('VB_LEVELS') ?? (opts.quick ? [250] : [250, 500, 1000, 1500, 2000]),
    peerLevels: list('VB_PEER_LEVELS') ?? (opts.quick ? [25] : [10, 25, 50, 100]),
    runs: num('VB_RUNS') ?? (opts.quick ? 1 : 3),
    measureMs: num('VB_MEASURE_MS') ?? (opts.quick ? 3000 : 5000),
    warmupMs: num('VB_WARMUP_MS') ?? 3000,
    turnEveryMs: num('VB_TURN_EVERY_MS') ?? 4000,
  };
}

export interface ConcurrencyRow {
  framework: string;
  calls: number;
  /** Runs on time / runs. */
  sustained: string;
  callerLateP99Ms: string;
  botJitterP99Ms: string;
  eventLoopLagP99Ms: string;
  cpuPctOfCore: string;
  simPctOfBusy: string;
  heapKBPerCall: string;
  rssKBPerCall: string;
  secondsBetweenTurnsPerCall: string;
  runs: WindowResult[];
}

function row(framework: string, calls: number, runs: WindowResult[]): ConcurrencyRow {
  const f = (k: keyof WindowResult, d = 1): string => spread(runs.map((r) => r[k] as number), d);
  return {
    framework,
    calls,
    sustained: `${runs.filter(onTime).length}/${runs.length}`,
    callerLateP99Ms: f('callerLateP99Ms'),
    botJitterP99Ms: f('botJitterP99Ms'),
    eventLoopLagP99Ms: f('eventLoopLagP99Ms'),
    cpuPctOfCore: f('cpuPctOfCore', 0),
    simPctOfBusy: f('simPctOfBusy', 0),
    heapKBPerCall: f('heapKBPerCall', 0),
    rssKBPerCall: f('rssKBPerCall', 0),
    secondsBetweenTurnsPerCall: f('secondsBetweenTurnsPerCall', 2),
    runs,
  };
}

/** A level holds when the majority of its runs are on time; the ramp stops at the first level that does not. */
const holds = (runs: WindowResult[]): boolean => runs.filter(onTime).length * 2 > runs.length;

/**
 * Concurrent calls per process, each level's runs in fresh child processes
 * (so memory per call is against that process's own baseline), voicebot and
 * (with --peers) LiveKit alternating run by run.
 */
export async function runConcurrencyBench(opts: BenchOpts): Promise<ConcurrencyRow[]> {
  const k = knobs(opts);
  const job = (calls: number): ConcurrencyJob => ({ mode: 'concurrency', calls, warmupMs: k.warmupMs, measureMs: k.measureMs, turnEveryMs: k.turnEveryMs, endOfSpeechMs: END_OF_SPEECH_MS });
  const ramps: { who: Who; label: string; levels: number[]; rows: ConcurrencyRow[]; stopped: boolean }[] = [{ who: 'ours', label: 'voicebot', levels: k.levels, rows: [], stopped: false }];
  if (opts.peers) ramps.push({ who: 'livekit', label: 'LiveKit agents 1.9', levels: k.peerLevels, rows: [], stopped: false });
  const steps = Math.max(...ramps.map((r) => r.levels.length));
  for (let i = 0; i < steps; i++) {
    const runs = new Map<(typeof ramps)[number], WindowResult[]>();
    for (let r = 0; r < k.runs; r++) {
      for (const ramp of ramps) {
        const n = ramp.levels[i];
        if (ramp.stopped || n === undefined) continue;
        const timeout = k.warmupMs + k.measureMs + 120_000;
        const res = await runJob<WindowResult>(ramp.who, job(n), timeout).catch((e: Error) => {
          process.stdout.write(`  ${ramp.label} ${n}: ${e.message}\n`);
          return undefined;
        });
        const l = runs.get(ramp) ?? [];
        if (res) l.push(res);
        runs.set(ramp, l);
      }
    }
    for (const [ramp, l] of runs) {
      const n = ramp.levels[i];
      ramp.rows.push(row(ramp.label, n, l));
      if (!holds(l)) ramp.stopped = true;
    }
  }
  return ramps.flatMap((r) => r.rows);
}

/** Highest level that held, per framework (for the peer summary). */
export function highestSustained(rows: ConcurrencyRow[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) {
    const [ok, of] = r.sustained.split('/').map(Number);
    if (ok * 2 > of) out.set(r.framework, Math.max(out.get(r.framework) ?? 0, r.calls));
  }
  return out;
}
