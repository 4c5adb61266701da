import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CallerSide } from '../core/plugins/telephony.js';
import { SimCaller, WireStats, runTicker } from './sim-caller.js';
import { round } from './stats.js';

/** What one concurrency run reports (one process, one level). */
export interface WindowResult {
  calls: number;
  /** Caller frames: arrival at the bot minus their 20 ms schedule, per frame. */
  callerLateP50Ms: number;
  callerLateP99Ms: number;
  callerLateMaxMs: number;
  callerFrames: number;
  /** Bot frames at the caller: |gap − frame duration| between consecutive frames, per frame. */
  botJitterP50Ms: number;
  botJitterP99Ms: number;
  botFrames: number;
  eventLoopLagP99Ms: number;
  /** Process CPU (user+system) over the window, % of one core. */
  cpuPctOfCore: number;
  /** Share of the process's busy CPU samples spent in the simulated callers, the line and the fake services. */
  simPctOfBusy: number;
  heapKBPerCall: number;
  rssKBPerCall: number;
  /** Caller turns started in the window, and how often that is per call. */
  turns: number;
  secondsBetweenTurnsPerCall: number;
  callsEnded: number;
}

export interface WindowJob {
  calls: number;
  warmupMs: number;
  measureMs: number;
  /** ms from one turn's endpoint trigger to the caller's next turn (the trigger is the 29th silent frame, 580 ms after speech). */
  turnEveryMs: number;
  wire: WireStats;
  /** Script URL prefixes counted as simulation in the CPU profile. */
  profileSimUrls: string[];
  place: (i: number) => Promise<CallerSide>;
  stop: () => Promise<void>;
}

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string };
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/**
 * Busy samples of the last `windowMs` of the profile, split by where they were
 * taken (self time): simulation vs everything else. The profiler starts before
 * the calls (starting it stalls the process), so only the window's tail counts.
 */
function simShare(p: Profile, simUrls: string[], windowMs: number): number {
  const kind = new Map<number, 'idle' | 'sim' | 'other'>();
  for (const n of p.nodes) {
    const fn = n.callFrame.functionName;
    kind.set(n.id, fn === '(idle)' || fn === '(program)' ? 'idle' : simUrls.some((u) => n.callFrame.url.startsWith(u)) ? 'sim' : 'other');
  }
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  let busy = 0;
  let sim = 0;
  let fromEnd = 0;
  for (let i = samples.length - 1; i >= 0 && fromEnd <= windowMs * 1000; i--) {
    fromEnd += deltas[i] ?? 0;
    const k = kind.get(samples[i]);
    if (k === 'idle') continue;
    busy++;
    if (k === 'sim') sim++;
  }
  return busy ? round((sim / busy) * 100, 1) : NaN;
}

/**
 * Places `calls` lines, drives them with the simulated callers and measures
 * one window after a warm-up. Memory per call is taken against a baseline
 * from just before the first call in this (fresh) process.
 */
export async function measureWindow(j: WindowJob): Promise<WindowResult> {
  const profiling = !process.env.VB_NO_PROFILE;
  const inspector = new Session();
  inspector.connect();
  if (profiling) {
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 1000 });
    await inspector.post('Profiler.start');
  }
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const callers: SimCaller[] = [];
  const t0 = performance.now() + 500;
  for (let i = 0; i < j.calls; i++) {
    const side = await j.place(i);
    // First turns spread over one turn period, so the load is even.
    const c = new SimCaller(side, 'hello there', 29, j.turnEveryMs, t0 + (i * j.turnEveryMs) / j.calls, Number.MAX_SAFE_INTEGER);
    c.wire = j.wire;
    callers.push(c);
  }
  const start = performance.now();
  const warmupEnd = start + j.warmupMs;
  const end = warmupEnd + j.measureMs;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  let measuring = false;
  let cpu0 = process.cpuUsage();
  let wall0 = 0;
  let turns0 = 0;
  let rssPeak = 0;
  let lastMem = 0;
  await runTicker(callers, () => {
    const now = performance.now();
    if (!measuring && now >= warmupEnd) {
      measuring = true;
      j.wire.reset();
      lag.enable();
      cpu0 = process.cpuUsage();
      wall0 = now;
      turns0 = callers.reduce((s, c) => s + c.stats.turns, 0);
    }
    if (measuring && now - lastMem > 1000) {
      lastMem = now;
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    return now >= end;
  });
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - wall0;
  lag.disable();
  const { profile } = profiling ? ((await inspector.post('Profiler.stop')) as { profile: Profile }) : { profile: { nodes: [] } as Profile };
  inspector.disconnect();
  const turns = callers.reduce((s, c) => s + c.stats.turns, 0) - turns0;
  // Retained heap with every call still live: collect first, so the figure is what calls hold, not garbage.
  global.gc?.();
  const live = process.memoryUsage();
  const w = j.wire;
  const result: WindowResult = {
    calls: j.calls,
    callerLateP50Ms: w.callerLateness.percentile(50),
    callerLateP99Ms: w.callerLateness.percentile(99),
    callerLateMaxMs: round(w.callerLateness.maxValue, 1),
    callerFrames: w.callerLateness.count,
    botJitterP50Ms: w.botJitter.percentile(50),
    botJitterP99Ms: w.botJitter.percentile(99),
    botFrames: w.botJitter.count,
    eventLoopLagP99Ms: round(lag.percentile(99) / 1e6, 1),
    cpuPctOfCore: round(((cpu.user + cpu.system) / 1000 / wall) * 100, 1),
    simPctOfBusy: simShare(profile, j.profileSimUrls, wall),
    heapKBPerCall: round((live.heapUsed - heap0) / 1024 / j.calls, 1),
    rssKBPerCall: round((Math.max(rssPeak, live.rss) - rss0) / 1024 / j.calls, 1),
    turns,
    secondsBetweenTurnsPerCall: turns ? round((j.calls * wall) / 1000 / turns, 2) : NaN,
    callsEnded: callers.filter((c) => c.ended).length,
  };
  await j.stop();
  return result;
}
