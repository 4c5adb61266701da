import type { TurnMetrics } from './events.js';

/** Timestamps (Clock ms) of one caller turn as the engine sees them happen. */
export interface TurnDraft {
  turn: number;
  speechEndAt: number;
  endpointAt: number;
  finalAt: number;
  llmStartAt?: number;
  llmFirstAt?: number;
  ttsStartAt?: number;
  ttsFirstAt?: number;
  /** The reply's LLM request was started before the endpoint (settings.turn.preemptive). */
  preemptive?: boolean;
}

type Mark = 'llmStartAt' | 'llmFirstAt' | 'ttsStartAt' | 'ttsFirstAt';

/**
 * Per-turn latencies: a turn opens when the caller's final transcript
 * arrives and closes at the first bot frame on the wire after its first TTS
 * audio (or when the next turn opens, or the call ends, without one). Work
 * marks the draft it started under, so a reply still running for an older
 * turn never writes into a newer one.
 */
export class TurnMetricsTracker {
  private draft: TurnDraft | undefined;
  private count = 0;

  constructor(private readonly publish: (tm: TurnMetrics) => void) {}

  get turns(): number {
    return this.count;
  }

  /** The open turn (a token for mark()), if any. */
  get current(): TurnDraft | undefined {
    return this.draft;
  }

  /** A final transcript arrived: closes the previous turn and opens the next. Returns its number. */
  open(speechEndAt: number, endpointAt: number, finalAt: number): number {
    this.flush();
    this.draft = { turn: ++this.count, speechEndAt, endpointAt, finalAt };
    return this.count;
  }

  /** Records `at` for `what` once, on `draft` while it is still the open turn. */
  mark(draft: TurnDraft | undefined, what: Mark, at: number): void {
    if (draft !== undefined && draft === this.draft && draft[what] === undefined) draft[what] = at;
  }

  /** The open turn's reply uses a generation started before its endpoint. */
  markPreemptive(draft: TurnDraft | undefined): void {
    if (draft !== undefined && draft === this.draft) draft.preemptive = true;
  }

  /** A bot frame went out at `at`: closes the turn once its reply audio reached the wire. */
  onWire(at: number): void {
    if (this.draft?.ttsFirstAt !== undefined) this.close(at);
  }

  /** Closes an open turn without bot audio (it still reports its listening side). */
  flush(): void {
    if (this.draft) this.close(undefined);
  }

  private close(firstFrameAt: number | undefined): void {
    const m = this.draft!;
    this.draft = undefined;
    this.publish(summarize(m, firstFrameAt));
  }
}

export function summarize(m: TurnDraft, firstFrameAt: number | undefined): TurnMetrics {
  const r = (x: number): number => Math.round(x * 10) / 10;
  const tm: TurnMetrics = { turn: m.turn, endOfUtteranceMs: r(m.endpointAt - m.speechEndAt), sttMs: r(m.finalAt - m.endpointAt) };
  if (m.llmStartAt !== undefined && m.llmFirstAt !== undefined) tm.llmTtftMs = r(m.llmFirstAt - m.llmStartAt);
  if (m.ttsStartAt !== undefined && m.ttsFirstAt !== undefined) tm.ttsTtfbMs = r(m.ttsFirstAt - m.ttsStartAt);
  if (m.llmFirstAt !== undefined && m.ttsStartAt !== undefined && m.ttsStartAt >= m.llmFirstAt) tm.llmToTtsMs = r(m.ttsStartAt - m.llmFirstAt);
  if (firstFrameAt !== undefined && m.ttsFirstAt !== undefined) tm.ttsToWireMs = r(firstFrameAt - m.ttsFirstAt);
  if (m.preemptive) tm.preemptive = true;
  if (firstFrameAt !== undefined) {
    tm.e2eMs = r(firstFrameAt - m.speechEndAt);
    // The LLM's share of the wait: what it took after the final (all of it, unless it was started before).
    const llmWait = m.llmStartAt !== undefined && m.llmFirstAt !== undefined ? Math.max(0, m.llmFirstAt - Math.max(m.llmStartAt, m.finalAt)) : 0;
    tm.overheadMs = r(tm.e2eMs - (tm.endOfUtteranceMs ?? 0) - (tm.sttMs ?? 0) - llmWait - (tm.ttsTtfbMs ?? 0));
  }
  return tm;
}
