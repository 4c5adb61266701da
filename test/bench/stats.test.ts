import { describe, expect, it } from 'vitest';
import { Histogram, percentile, spread } from '../../bench/stats.js';
import { onTime } from '../../bench/concurrency.js';
import type { WindowResult } from '../../bench/window.js';

describe('bench statistics', () => {
  it('the histogram gives the same nearest-rank percentiles as the sorted sample, to its 0.1 ms bin', () => {
    const h = new Histogram();
    const xs: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const v = ((i * 7919) % 1000) / 20; // 0 … 49.95 ms, shuffled
      xs.push(v);
      h.add(v);
    }
    for (const p of [50, 90, 99]) expect(Math.abs(h.percentile(p) - percentile(xs, p))).toBeLessThanOrEqual(0.1);
    h.add(5000);
    expect(h.percentile(100)).toBe(5000);
    expect(h.count).toBe(1001);
    h.reset();
    expect(h.count).toBe(0);
    expect(Number.isNaN(h.percentile(50))).toBe(true);
  });

  it('spread reports median (min–max) and skips runs that produced no figure', () => {
    expect(spread([3, 1, 2, NaN])).toBe('2 (1–3)');
    expect(spread([])).toBe('—');
  });

  it('a run is on time only when both directions are and no call ended', () => {
    const ok = { callerLateP99Ms: 50, botJitterP99Ms: 20, callsEnded: 0 } as WindowResult;
    expect(onTime(ok)).toBe(true);
    expect(onTime({ ...ok, callerLateP99Ms: 50.1 })).toBe(false);
    expect(onTime({ ...ok, botJitterP99Ms: 20.1 })).toBe(false);
    expect(onTime({ ...ok, callsEnded: 1 })).toBe(false);
  });
});
