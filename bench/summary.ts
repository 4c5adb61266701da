import { highestSustained, type ConcurrencyRow } from './concurrency.js';
import type { LatencyRow, V2vRow } from './latency.js';
import type { TurnsV2vRow } from './turns.js';

export interface SummaryRow {
  figure: string;
  voicebot: string;
  livekit: string;
  /** Latency rows: LiveKit ÷ voicebot (median of per-round ratios). Sessions row: voicebot ÷ LiveKit. */
  ratio: string;
}


/** Ratios to the peer from one invocation's sections; '—' where a section did not run or failed. */
export function peerSummary(results: Record<string, unknown>): SummaryRow[] {
  const out: SummaryRow[] = [];
  const lat = Array.isArray(results.latency) ? (results.latency as LatencyRow[]) : [];
  const ours = lat.find((r) => r.framework === 'voicebot');
  const lk = lat.find((r) => r.framework === 'LiveKit agents 1.9');
  if (ours && lk) {
    out.push({ figure: 'framework latency per turn, p50', voicebot: `${ours.p50Ms} ms`, livekit: `${lk.p50Ms} ms`, ratio: lk.vsOursP50 ?? '—' });
    out.push({ figure: 'framework latency per turn, p99', voicebot: `${ours.p99Ms} ms`, livekit: `${lk.p99Ms} ms`, ratio: lk.vsOursP99 ?? '—' });
  }
  const v2v = Array.isArray(results.v2v) ? (results.v2v as V2vRow[]) : [];
  const o = v2v.find((r) => r.framework === 'voicebot');
  for (const r of v2v) {
    if (!o || r === o) continue;
    out.push({ figure: `voice-to-voice p50, modelled delays (${r.framework.includes('preemptive') ? 'LiveKit preemptive' : 'LiveKit default'})`, voicebot: `${o.p50Ms} ms`, livekit: `${r.p50Ms} ms`, ratio: r.vsOursP50 ?? '—' });
  }
  const turns = Array.isArray(results.turns) ? (results.turns as TurnsV2vRow[]).filter((r) => r.part === 'v2v') : [];
  for (const r of turns) {
    if (r.framework !== 'voicebot' || r.skipped || !r.oursOverLkPreemptive) continue;
    const lk = turns.find((x) => x.stt === r.stt && x.framework !== 'voicebot' && x.mode.includes('preemptive'));
    out.push({ figure: `turns: voice-to-voice p50, STT ${r.stt}, voicebot ${r.mode} vs LiveKit preemptive (ratio voicebot ÷ LiveKit)`, voicebot: `${r.p50Ms} ms`, livekit: `${lk?.p50Ms ?? '—'} ms`, ratio: r.oursOverLkPreemptive });
  }
  const conc = Array.isArray(results.concurrency) ? (results.concurrency as ConcurrencyRow[]) : [];
  if (conc.length) {
    const best = highestSustained(conc);
    const a = best.get('voicebot') ?? 0;
    const b = best.get('LiveKit agents 1.9') ?? 0;
    out.push({ figure: 'calls per process on the real-time rule, highest level held (ratio voicebot ÷ LiveKit)', voicebot: String(a || 'none held'), livekit: String(b || 'none held'), ratio: a && b ? `${Math.round((a / b) * 10) / 10}×` : '—' });
  }
  return out;
}
