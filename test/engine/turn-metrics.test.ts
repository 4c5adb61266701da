import { describe, expect, it } from 'vitest';
import type { TurnMetrics } from '../../core/engine/events.js';
import { TurnMetricsTracker } from '../../core/engine/turn-metrics.js';

describe('TurnMetricsTracker', () => {
  it('measures a turn from the caller stopping to the first bot frame on the wire', () => {
    const out: TurnMetrics[] = [];
    const t = new TurnMetricsTracker((m) => out.push(m));
    t.open(1000, 1600, 1650);
    const d = t.current;
    t.mark(d, 'llmStartAt', 1650);
    t.mark(d, 'llmFirstAt', 1900);
    t.mark(d, 'llmFirstAt', 2500); // only the first counts
    t.mark(d, 'ttsStartAt', 1910);
    t.mark(d, 'ttsFirstAt', 2010);
    t.onWire(2020);
    t.onWire(2040);
    expect(out).toEqual([
      { turn: 1, endOfUtteranceMs: 600, sttMs: 50, llmTtftMs: 250, ttsTtfbMs: 100, llmToTtsMs: 10, ttsToWireMs: 10, e2eMs: 1020, overheadMs: 20 },
    ]);
  });

  it('a reply still running for an older turn does not write into the newer one; an unanswered turn is flushed', () => {
    const out: TurnMetrics[] = [];
    const t = new TurnMetricsTracker((m) => out.push(m));
    t.open(0, 500, 520);
    const old = t.current;
    t.open(1000, 1500, 1510); // the caller spoke again before the bot answered
    t.mark(old, 'ttsFirstAt', 1600);
    t.onWire(1610);
    expect(out).toEqual([{ turn: 1, endOfUtteranceMs: 500, sttMs: 20 }]);
    t.flush();
    expect(out[1]).toEqual({ turn: 2, endOfUtteranceMs: 500, sttMs: 10 });
    expect(t.turns).toBe(2);
  });
});
