import type { WordTiming } from '../plugins/tts.js';
import { LinkedAbort } from './abort.js';
import type { InterruptionOverride } from './interruption.js';

/** One TTS request's audio on the outbound timeline (pacer ms). */
export interface Segment {
  text: string;
  /** respond() round it belongs to (say: 0). */
  round: number;
  /** Pacer timeline ms where its first sample plays; -1 until audio arrived. */
  startMs: number;
  /** Audio synthesized so far. */
  durationMs: number;
  words: WordTiming[];
  complete: boolean;
}

/**
 * One bot utterance (a say/play/respond): its cancellation, its audio
 * segments, and how it ended — enough to say exactly what the caller heard.
 */
export class Playback {
  readonly bargeIn: boolean;
  /** The step's own interruption rule, if it has one. */
  readonly interruption: InterruptionOverride | undefined;
  readonly link: LinkedAbort;
  readonly segments: Segment[] = [];
  /** The caller cut in (barge-in). */
  interrupted = false;
  /** Audio stopped early (barge-in, abort, hangup, error). */
  stopped = false;
  /** Pacer timeline ms reached when audio stopped. */
  heardUntilMs = Infinity;
  /** Paused or ducked by an interruption onset (the audio waits, nothing is dropped). */
  held: 'pause' | 'duck' | undefined;
  drained: (() => void) | undefined;

  constructor(bargeIn: boolean | InterruptionOverride, ...signals: (AbortSignal | undefined)[]) {
    this.bargeIn = bargeIn !== false;
    this.interruption = typeof bargeIn === 'object' ? bargeIn : undefined;
    this.link = new LinkedAbort(...signals);
  }

  get signal(): AbortSignal {
    return this.link.signal;
  }

  /** What the caller heard of round `round` (every round when undefined). */
  playedText(round?: number): string {
    const parts: string[] = [];
    for (const s of this.segments) {
      if (round !== undefined && s.round !== round) continue;
      const t = heardText(s, this.heardUntilMs);
      if (t) parts.push(t);
    }
    return parts.join(' ');
  }
}

/**
 * The words of `seg` that played completely before `untilMs`: by the TTS
 * word timings when there are any, else by the share of the segment's audio
 * that played, rounded down to a whole word.
 */
export function heardText(seg: Segment, untilMs: number): string {
  if (seg.startMs < 0) return '';
  const heard = untilMs - seg.startMs;
  if (heard >= seg.durationMs && seg.complete) return seg.text;
  if (heard <= 0) return '';
  const text = seg.text;
  let cut = 0;
  if (seg.words.length) {
    let cursor = 0;
    for (const w of seg.words) {
      const at = text.indexOf(w.word, cursor);
      if (at < 0) break;
      cursor = at + w.word.length;
      if (w.endMs <= heard) cut = cursor;
      else break;
    }
  } else if (seg.durationMs > 0) {
    const chars = Math.floor((text.length * Math.min(heard, seg.durationMs)) / seg.durationMs);
    if (chars >= text.length) return text;
    const space = text.lastIndexOf(' ', chars);
    cut = text[chars] === ' ' ? chars : space < 0 ? 0 : space;
  }
  return text.slice(0, cut).trim();
}
