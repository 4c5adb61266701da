import '../entry/builtins.js'; // the built-in providers, as the CLI registers them
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { VoicebotApp } from '../core/app/app.js';
import { loadConfigText } from '../core/config/load.js';
import { silentLogger } from '../core/logging.js';
import { createDefaultRegistry } from '../core/plugins/registry.js';
import { MockTelephony } from '../plugins/mock/telephony.js';
import { SimCaller, runTicker } from './sim-caller.js';
import { round, table } from './stats.js';

/** Mock services with realistic latencies; 8 kHz μ-law line; a caller turn every few seconds. */
const CONFIG = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock, latencyMs: 300, script: [ { reply: "Okay, noted." } ] }
  tts: { provider: mock, latencyMs: 150 }
settings:
  timeouts: { endOfSpeech: 400ms, noInput: 60s, maxCall: 1h }
flows:
  main:
    steps:
      talk: { llm: { system: "bench", maxTurns: 100000 } }
`;

export interface ConcurrencyRow {
  calls: number;
  sustained: boolean;
  pacingJitterP50Ms: number;
  pacingJitterP99Ms: number;
  lateTicks: number;
  eventLoopLagP99Ms: number;
  cpuPctOfCorePerCall: number;
  heapKBPerCall: number;
  rssKBPerCall: number;
  callerTurns: number;
}

async function runLevel(n: number, measureMs: number): Promise<ConcurrencyRow> {
  const { config } = await loadConfigText(CONFIG, '/bench/concurrency.yaml', { env: {}, registry: createDefaultRegistry() });
  const tel = new MockTelephony('mock', { codec: 'pcmu' });
  const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
  await app.start();
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const callers: SimCaller[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const side = tel.placeCall();
    // Turns every 4 s, first ones spread over the first 4 s so the load is even.
    callers.push(new SimCaller(side, 'hello there', 29, 4000, t0 + 500 + ((i * 4000) / n), Number.MAX_SAFE_INTEGER));
  }
  const warmupEnd = t0 + 3000;
  const end = warmupEnd + measureMs;
  let measuring = false;
  let cpu0 = process.cpuUsage();
  let wall0 = 0;
  const lag = monitorEventLoopDelay({ resolution: 10 });
    let rssPeak = 0;
  await runTicker(callers, () => {
    const now = performance.now();
    if (!measuring && now >= warmupEnd) {
      measuring = true;
      app.clock.resetStats();
      lag.enable();
      cpu0 = process.cpuUsage();
      wall0 = now;
    }
    if (measuring && Math.floor(now / 1000) !== Math.floor((now - 20) / 1000)) {
      const m = process.memoryUsage();
      rssPeak = Math.max(rssPeak, m.rss);
    }
    return now >= end;
  });
  lag.disable();
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - wall0;
  // Retained heap with every call still live: collect first, so the figure is what calls hold, not garbage.
  global.gc?.();
  const live = process.memoryUsage();
  const row: ConcurrencyRow = {
    calls: n,
    sustained: false,
    pacingJitterP50Ms: app.clock.latenessPercentile(50),
    pacingJitterP99Ms: app.clock.latenessPercentile(99),
    lateTicks: app.clock.lateTicks,
    eventLoopLagP99Ms: round(lag.percentile(99) / 1e6, 1),
    cpuPctOfCorePerCall: round(((cpu.user + cpu.system) / 1000 / wall / n) * 100, 3),
    heapKBPerCall: round((live.heapUsed - heap0) / 1024 / n, 1),
    rssKBPerCall: round((Math.max(rssPeak, live.rss) - rss0) / 1024 / n, 1),
    callerTurns: callers.reduce((s, c) => s + c.stats.turns, 0),
  };
  row.sustained = row.pacingJitterP99Ms <= 10 && row.lateTicks === 0 && callers.every((c) => !c.ended);
  await app.stop();
  return row;
}

/**
 * Ramp concurrent simulated calls in one process until outbound pacing
 * jitter p99 exceeds 10 ms or the clock had to skip frames. The simulated
 * callers (50 frames/s each, μ-law both ways) run in the same process, so
 * the figures include their cost.
 */
export async function runConcurrencyBench(opts: { quick: boolean }): Promise<ConcurrencyRow[]> {
  const levels = process.env.VB_LEVELS ? process.env.VB_LEVELS.split(",").map(Number) : opts.quick ? [250] : [250, 500, 1000, 1500, 2000, 2500, 3000, 4000];
  const measureMs = opts.quick ? 3000 : 10000;
  const rows: ConcurrencyRow[] = [];
  for (const n of levels) {
    const row = await runLevel(n, measureMs);
    rows.push(row);
    if (!row.sustained) break;
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(table((await runConcurrencyBench({ quick: process.argv.includes('--quick') })) as never));
}
