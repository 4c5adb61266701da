/**
 * `node dist/bench/turns-table.js [file]`: the `turns` section of
 * bench/results/latest.json (or `file`) as the Markdown tables README
 * "Benchmarks" quotes, with the run's date, machine and load.
 */
import { readFileSync } from 'node:fs';
import type { BargeRow } from './turns-barge.js';
import type { TurnsV2vRow } from './turns.js';

interface Results {
  date: string;
  machine: { cpus: number; cpuModel?: string; memGiB: number; node: string };
  loadAvgAtStart: number[];
  loadAvgAtEnd?: number[];
  turns?: (TurnsV2vRow | BargeRow)[] | { error: string };
}

export function turnsMarkdown(r: Results): string {
  const rows = Array.isArray(r.turns) ? r.turns : [];
  if (!rows.length) return `no turns section in this file${r.turns && 'error' in r.turns ? ` (failed: ${r.turns.error})` : ''}\n`;
  const m = r.machine;
  const out: string[] = [
    `Run ${r.date.slice(0, 16).replace('T', ' ')} UTC, ${m.cpus}-core ${m.cpuModel ?? ''}, ${m.memGiB} GiB, Node ${m.node}, load average ${r.loadAvgAtStart[0]} → ${r.loadAvgAtEnd?.[0] ?? '?'}.`,
    '',
    '| STT | framework | mode | n | p50 (p25–p75) ms | per-round p50 ms | endpointing | STT | LLM | TTS | framework | ours ÷ LiveKit (plain / preemptive / preflight) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const x of rows.filter((y): y is TurnsV2vRow => y.part === 'v2v')) {
    if (x.skipped) {
      out.push(`| ${x.stt} | ${x.framework} | ${x.mode} | — | skipped: ${x.skipped.replace(/\|/g, '/')} | | | | | | | |`);
      continue;
    }
    const ratio = x.oursOverLk || x.oursOverLkPreemptive ? [x.oursOverLk, x.oursOverLkPreemptive, x.oursOverLkPreflight].map((v) => v ?? '—').join(' / ') : '';
    out.push(
      `| ${x.stt} | ${x.framework} | ${x.mode} | ${x.n} | ${x.p50Ms} (${x.p25Ms}–${x.p75Ms}) | ${x.roundP50Ms} | ${x.endpointingMs} | ${x.sttMs} | ${x.llmMs} | ${x.ttsMs} | ${x.frameworkMs} | ${ratio} |`,
    );
  }
  out.push('', '| VAD | barge-in rule | noise min | false stops /min noise (cuts / pauses) | by noise kind (/min) | bot heard on noise | phrases scored | missed | not scored | stop delay p50 / p90 ms |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const x of rows.filter((y): y is BargeRow => y.part === 'barge')) {
    if (x.skipped) {
      out.push(`| ${x.vad} | skipped: ${x.skipped.replace(/\|/g, '/')} | | | | | | | | |`);
      continue;
    }
    out.push(
      `| ${x.vad} | ${x.policy} | ${x.noiseMin} | ${x.falseStopsPerMinNoise}${x.falseCutsPerMinNoise === undefined ? '' : ` (${x.falseCutsPerMinNoise} / ${x.falsePausesPerMinNoise})`} | ${x.falseStopsByNoise} | ${x.botHeardOnNoisePct} % | ` +
        (x.phrases === undefined ? 'n/a (words rule: the mock STT hears no words in Flite speech) | | | |' : `${x.phrases} | ${x.missed} | ${x.unscored} | ${x.stopDelayP50Ms ?? '—'} / ${x.stopDelayP90Ms ?? '—'} |`),
    );
  }
  return out.join('\n') + '\n';
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const file = process.argv[2] ?? new URL('../../bench/results/latest.json', import.meta.url);
  process.stdout.write(turnsMarkdown(JSON.parse(readFileSync(file, 'utf8')) as Results));
}
