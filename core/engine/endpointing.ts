/**
 * Word-aware endpointing: how much silence ends the caller's turn, judged
 * from what the recognizer has heard so far. The verdict is computed when the
 * transcript changes (judgeTranscript); the per-frame question ("has the
 * silence lasted long enough?") is arithmetic on it (Endpointer.waitMs).
 * README "Turn-taking" → "Endpointing" documents the tiers and the trade-off.
 */

/** The silence (ms) for each verdict. A fixed timer is min = max = noWords. */
export interface EndpointLimits {
  /** The words look complete. */
  minMs: number;
  /** Mid-phrase: trailing "and", digits still coming, an interim still changing. */
  maxMs: number;
  /** No words to judge (batch STT, or the recognizer has not caught up yet). */
  noWordsMs: number;
}

export type Verdict = 'none' | 'complete' | 'likely' | 'incomplete';

/** What the current listen tells about a complete answer. */
export interface TranscriptCues {
  /** Digits the listen expects (spoken digits count too). */
  numDigits?: number;
  /** The words already satisfy the listen (one of its routes matches them). */
  matches?: (text: string) => boolean;
}

/** An interim that changed more recently than this is still changing (the recognizer lags the audio). */
export const STABLE_MS = 150;
/**
 * Silence after which the words so far are worth a preemptive reply. Short on
 * purpose: a start that turns out early costs one cancelled LLM request (the
 * words change, it is discarded and started again), never a wrong reply.
 */
export const PREEMPT_AFTER_MS = 120;

/** A trailing word that promises more: conjunctions, prepositions, articles, possessives, "is", fillers. */
const CONTINUES = new Set([
  'and', 'or', 'but', 'because', 'with', 'to', 'for', 'of', 'from', 'at', 'in', 'on', 'by', 'about', 'into',
  'the', 'a', 'an', 'my', 'your', 'our', 'their', 'his', 'her', 'its', 'is', 'are', 'was', 'were', 'am',
  'um', 'uh', 'uhm', 'erm', 'er', 'hmm', 'if', 'than', 'plus', 'minus', 'dash', 'point',
]);
/** Words that announce a number: digits after them keep coming until a full number is heard. */
const NUMBER_CUE = /\b(number|phone|code|zip|postcode|account|card|pin|digits|extension|id|reference|order)\b/;
const DIGIT_WORD = /\b(zero|oh|one|two|three|four|five|six|seven|eight|nine)\b/g;
/** Digits of a phone number without a country code: a number cue with fewer digits is mid-number. */
const FULL_NUMBER_DIGITS = 10;

export function countDigits(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n + (text.match(DIGIT_WORD)?.length ?? 0);
}

/** The verdict on the words heard so far; pure. `final`: the recognizer finalized all of them. */
export function judgeTranscript(raw: string, final: boolean, cues: TranscriptCues = {}): Verdict {
  const text = raw.trim();
  if (!text) return 'none';
  const lower = text.toLowerCase();
  if (/[,;:\-–—]$/.test(text)) return 'incomplete';
  const words = lower.match(/[\p{L}\p{N}']+/gu) ?? [];
  const last = words[words.length - 1] ?? '';
  if (CONTINUES.has(last)) return 'incomplete';
  const digits = countDigits(lower);
  const endsInDigit = /(\d|\b(zero|oh|one|two|three|four|five|six|seven|eight|nine))[.!?]?$/.test(lower);
  if (cues.numDigits !== undefined && digits > 0) {
    if (digits >= cues.numDigits) return 'complete';
    if (endsInDigit) return 'incomplete';
  }
  if (endsInDigit && NUMBER_CUE.test(lower) && digits < FULL_NUMBER_DIGITS) return 'incomplete';
  if (cues.matches?.(text)) return 'complete';
  if (final && /[.!?…]["')\]]?$/.test(text)) return 'complete';
  return 'likely';
}

/** The silence that ends the turn for a verdict: pure. */
export function endpointWaitMs(limits: EndpointLimits, verdict: Verdict, changing: boolean): number {
  if (changing) return limits.maxMs;
  switch (verdict) {
    case 'complete':
      return limits.minMs;
    case 'incomplete':
      return limits.maxMs;
    case 'likely':
      // Words that neither finish nor continue: halfway between the quick and the unsure wait.
      return Math.round((limits.minMs + limits.noWordsMs) / 2);
    default:
      return limits.noWordsMs;
  }
}

/** Limits from settings (or a listen step's override): noWords is clamped into [min, max]. */
export function endpointLimits(minMs: number, maxMs: number, noWordsMs: number): EndpointLimits {
  const max = Math.max(minMs, maxMs);
  return { minMs, maxMs: max, noWordsMs: Math.min(max, Math.max(minMs, noWordsMs)) };
}

/**
 * One call's endpointing state: the running utterance's words (fed by the
 * recognizer), the current listen's cues, and the silence they call for.
 * waitMs() runs per silent frame: no allocation, no regex there.
 */
export class Endpointer {
  private limits: EndpointLimits;
  private cues: TranscriptCues = {};
  private text = '';
  private final = false;
  private verdict: Verdict = 'none';
  private changedAt = 0;
  private stableSent = false;
  /** The caller has been silent PREEMPT_AFTER_MS on these words, or they are final (once per hypothesis): the preemptive reply's cue. */
  onStable: ((text: string) => void) | undefined;

  constructor(
    private readonly base: EndpointLimits,
    private readonly now: () => number,
  ) {
    this.limits = base;
  }

  /** The listen now waiting (its cues and per-step limits), or undefined for the defaults. */
  setListen(cues: TranscriptCues | undefined, limits?: Partial<Pick<EndpointLimits, 'minMs' | 'maxMs'>>): void {
    this.cues = cues ?? {};
    const b = this.base;
    this.limits = limits && (limits.minMs !== undefined || limits.maxMs !== undefined) ? endpointLimits(limits.minMs ?? b.minMs, limits.maxMs ?? Math.max(b.maxMs, limits.minMs ?? 0), b.noWordsMs) : b;
    this.verdict = judgeTranscript(this.text, this.final, this.cues);
  }

  /** A new utterance began: nothing heard yet. */
  reset(): void {
    this.text = '';
    this.final = false;
    this.verdict = 'none';
    this.stableSent = false;
  }

  /** The running utterance's words so far; `final`: the recognizer finalized all of them. */
  hypothesis(text: string, final: boolean): void {
    if (text === this.text && final === this.final) return;
    this.text = text;
    this.final = final;
    this.changedAt = this.now();
    this.stableSent = false;
    this.verdict = judgeTranscript(text, final, this.cues);
  }

  /** The caller made a sound after the words were reported stable: report them again at the next pause. */
  rearm(): void {
    this.stableSent = false;
  }

  get current(): { text: string; final: boolean; verdict: Verdict } {
    return { text: this.text, final: this.final, verdict: this.verdict };
  }

  /** Silence (ms) that ends the turn now, given `silentMs` of it since the last voiced frame. */
  waitMs(silentMs: number): number {
    const changing = !this.final && this.text !== '' && this.now() - this.changedAt < STABLE_MS;
    if (!this.stableSent && this.text !== '' && (this.final || silentMs >= PREEMPT_AFTER_MS)) {
      this.stableSent = true;
      this.onStable?.(this.text);
    }
    return endpointWaitMs(this.limits, this.verdict, changing);
  }
}
