import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { table } from './stats.js';
import '../entry/builtins.js'; // the built-in providers, as the CLI registers them

/**
 * `npm run bench [-- --quick]`: every benchmark, a table per section on
 * stdout, and all figures in bench/results/latest.json.
 */
const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');

interface Section {
  name: string;
  run: (opts: { quick: boolean }) => Promise<Record<string, unknown>[]>;
}

const SECTIONS: Section[] = [
  { name: 'dsp', run: async (o) => (await import('./dsp.js')).runDspBench(o) as never },
  { name: 'latency', run: async (o) => (await import('./latency.js')).runLatencyBench(o) as never },
  { name: 'rtp', run: async (o) => (await import('./rtp-latency.js')).runRtpLatencyBench(o) as never },
  { name: 'concurrency', run: async (o) => (await import('./concurrency.js')).runConcurrencyBench(o) as never },
  { name: 'startup', run: async (o) => (await import('./startup.js')).runStartupBench(o) as never },
  { name: 'vad', run: async (o) => (await import('./vad.js')).runVadBench(o) as never },
  { name: 'fleet', run: async (o) => (await import('./fleet.js')).runFleetBench(o) as never },
];

const dir = new URL('../../bench/results/', import.meta.url);
const latest = new URL('latest.json', dir);
// `--only=` refreshes some sections and keeps the others from the last run.
const previous: Record<string, unknown> = only && existsSync(latest) ? JSON.parse(readFileSync(latest, 'utf8')) : {};
const results: Record<string, unknown> = {
  ...previous,
  date: new Date().toISOString(),
  quick,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
};
const t0 = performance.now();
for (const s of SECTIONS) {
  if (only && !only.includes(s.name)) continue;
  process.stdout.write(`\n## ${s.name}\n`);
  const ts = performance.now();
  try {
    const rows = await s.run({ quick });
    results[s.name] = rows;
    process.stdout.write(table(rows));
    process.stdout.write(`(${s.name}: ${Math.round((performance.now() - ts) / 1000)} s)\n`);
  } catch (e) {
    results[s.name] = { error: (e as Error).message };
    process.stdout.write(`failed: ${(e as Error).message}\n`);
  }
}
results.totalSeconds = Math.round((performance.now() - t0) / 1000);
mkdirSync(dir, { recursive: true });
writeFileSync(latest, JSON.stringify(results, null, 2) + '\n');
process.stdout.write(`\nwrote bench/results/latest.json (${results.totalSeconds} s)\n`);
