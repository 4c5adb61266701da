import { describe, expect, it } from 'vitest';
import { turnsMarkdown } from '../../bench/turns-table.js';

const base = {
  date: '2026-12-02T00:10:00.000Z',
  machine: { cpus: 2, cpuModel: 'AMD EPYC', memGiB: 24, node: 'v20.20.2' },
  loadAvgAtStart: [9.5],
  loadAvgAtEnd: [8.1],
};

describe('turns table for README', () => {
  it('prints measured rows with spread, n and ratios, skipped modes with their reason, and the run it came from', () => {
    const md = turnsMarkdown({
      ...base,
      turns: [
        { part: 'v2v', stt: 'streaming', framework: 'voicebot', mode: 'fixed', n: 90, p50Ms: 904.8, p25Ms: 900.1, p75Ms: 910.2, roundP50Ms: '904 (903–906)', endpointingMs: 380, sttMs: 0, llmMs: 371, ttsMs: 151, frameworkMs: 0.5, oursOverLk: '1.13 (1.1–1.2)×', oursOverLkPreemptive: '1.15 (1.1–1.2)×' },
        { part: 'v2v', stt: 'streaming', framework: 'voicebot', mode: 'word-aware', n: 0, p50Ms: '—', skipped: 'config refused | VB_ERR_CONFIG_UNKNOWN_KEY' },
        { part: 'barge', vad: 'energy', policy: 'bargeIn on', noiseMin: 2, falseStopsPerMinNoise: 5, falseStopsByNoise: 'white 7.5', botHeardOnNoisePct: 40.9, phrases: 3, missed: 0, unscored: 9, stopDelayP50Ms: 310, stopDelayP90Ms: 313 },
        { part: 'barge', vad: 'silero', policy: '—', skipped: 'VB_ERR_VAD_SILERO_MISSING' },
        { part: 'barge', vad: 'fvad', policy: 'defaults', noiseMin: 2, falseStopsPerMinNoise: 4, falseCutsPerMinNoise: 1, falsePausesPerMinNoise: 3, falseStopsByNoise: 'white 6', botHeardOnNoisePct: 80 },
      ],
    });
    expect(md).toContain('Run 2026-12-02 00:10 UTC, 2-core AMD EPYC, 24 GiB, Node v20.20.2, load average 9.5 → 8.1.');
    expect(md).toContain('| streaming | voicebot | fixed | 90 | 904.8 (900.1–910.2) | 904 (903–906) | 380 | 0 | 371 | 151 | 0.5 | 1.13 (1.1–1.2)× / 1.15 (1.1–1.2)× / — |');
    // A pipe inside a reason must not split the Markdown cell.
    expect(md).toContain('| streaming | voicebot | word-aware | — | skipped: config refused / VB_ERR_CONFIG_UNKNOWN_KEY |');
    expect(md).toContain('| energy | bargeIn on | 2 | 5 | white 7.5 | 40.9 % | 3 | 0 | 9 | 310 / 313 |');
    expect(md).toContain('| silero | skipped: VB_ERR_VAD_SILERO_MISSING |');
    // Cuts and pauses apart; no speech figures where the words rule decides.
    expect(md).toContain('| fvad | defaults | 2 | 4 (1 / 3) | white 6 | 80 % | n/a (words rule');
  });

  it('says so when the file has no turns section or the section failed', () => {
    expect(turnsMarkdown(base)).toMatch(/^no turns section/);
    expect(turnsMarkdown({ ...base, turns: { error: 'boom' } })).toContain('failed: boom');
  });
});
