import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { ensureLivekit } from './jobs.js';
import { table } from './stats.js';
import '../entry/builtins.js'; // the built-in providers, as the CLI registers them

/**
 * `npm run bench [-- --quick] [-- --peers] [-- --only=a,b]`: every benchmark,
 * a table per section on stdout, all figures in bench/results/latest.json.
 * `--peers` installs bench/peers/livekit on first use and measures LiveKit
 * agents-js in the same invocation, interleaved with voicebot.
 */
const quick = process.argv.includes('--quick');
const peers = process.argv.includes('--peers');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const opts = { quick, peers };

interface Section {
  name: string;
  run: () => Promise<Record<string, unknown>[]>;
}

const SECTIONS: Section[] = [
  { name: 'dsp', run: async () => (await import('./dsp.js')).runDspBench(opts) as never },
  { name: 'latency', run: async () => (await import('./latency.js')).runLatencyBench(opts) as never },
  { name: 'v2v', run: async () => (await import('./latency.js')).runV2vBench(opts) as never },
  { name: 'rtp', run: async () => (await import('./rtp-latency.js')).runRtpLatencyBench(opts) as never },
  { name: 'concurrency', run: async () => (await import('./concurrency.js')).runConcurrencyBench(opts) as never },
  { name: 'startup', run: async () => (await import('./startup.js')).runStartupBench(opts) as never },
  { name: 'vad', run: async () => (await import('./vad.js')).runVadBench(opts) as never },
  { name: 'turns', run: async () => (await import('./turns.js')).runTurnsBench(opts) as never },
  { name: 'fleet', run: async () => (await import('./fleet.js')).runFleetBench(opts) as never },
];

if (peers) ensureLivekit();
const dir = new URL('../../bench/results/', import.meta.url);
const latest = new URL('latest.json', dir);
// `--only=` refreshes some sections and keeps the others from the last run.
const previous: Record<string, unknown> = only && existsSync(latest) ? JSON.parse(readFileSync(latest, 'utf8')) : {};
const results: Record<string, unknown> = {
  ...previous,
  date: new Date().toISOString(),
  quick,
  peers,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  loadAvgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
};
const t0 = performance.now();
// Sections measured by this invocation (with --only, latest.json also carries older ones).
const fresh: Record<string, unknown> = {};
for (const s of SECTIONS) {
  if (only && !only.includes(s.name)) continue;
  process.stdout.write(`\n## ${s.name}\n`);
  const ts = performance.now();
  try {
    const rows = await s.run();
    results[s.name] = rows;
    fresh[s.name] = rows;
    // Raw per-run figures stay in the JSON; the table shows the summaries (one table per `part` where a section has several).
    const parts = [...new Set(rows.map((r) => r.part))];
    for (const p of parts) process.stdout.write(table(rows.filter((r) => r.part === p).map(({ runs: _runs, part: _part, ...r }) => r)));
    process.stdout.write(`(${s.name}: ${Math.round((performance.now() - ts) / 1000)} s, load average ${loadavg()[0].toFixed(2)})\n`);
  } catch (e) {
    results[s.name] = { error: (e as Error).message };
    process.stdout.write(`failed: ${(e as Error).message}\n`);
  }
}
if (peers) {
  // The peer comparison in one table, from this invocation's sections only (nothing re-measured, nothing older).
  const { peerSummary } = await import('./summary.js');
  const rows = peerSummary(fresh);
  results.peerSummary = rows;
  process.stdout.write(`\n## vs LiveKit agents 1.9 (same run)\n${table(rows as never)}`);
}
results.loadAvgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
results.totalSeconds = Math.round((performance.now() - t0) / 1000);
mkdirSync(dir, { recursive: true });
writeFileSync(latest, JSON.stringify(results, null, 2) + '\n');
writeFileSync(new URL(`run-${(results.date as string).replace(/[:.]/g, '-')}.json`, dir), JSON.stringify(results, null, 2) + '\n');
process.stdout.write(`\nwrote bench/results/latest.json (${results.totalSeconds} s)\n`);
