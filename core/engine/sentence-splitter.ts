/**
 * Cuts a token stream into pieces TTS can start on: whole sentences, or a
 * clause once it is long enough that waiting for the full stop would delay
 * the first audio noticeably. Incremental: push() tokens as they arrive,
 * flush() at the end.
 */

/** Words whose trailing dot does not end a sentence. Lower case, without the dot. */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'etc', 'inc', 'ltd', 'co', 'corp',
  'no', 'nr', 'approx', 'dept', 'est', 'fig', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep',
  'sept', 'oct', 'nov', 'dec', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun', 'ave', 'blvd', 'rd',
  'e.g', 'i.e', 'a.m', 'p.m', 'u.s', 'ph.d',
]);

export interface SplitterOptions {
  /** A clause (`,;:` or dash) is cut off only when at least this long; shorter ones ride with the sentence. */
  minClauseChars?: number;
  /** Never emit a piece shorter than this at a sentence end (e.g. "Hi."), unless it is the end. */
  minSentenceChars?: number;
  /**
   * The first piece goes out at its first clause (of 2 words or more) or after
   * `firstWords` words, whichever comes first, instead of waiting for the
   * sentence: a streaming TTS starts speaking on it while the model writes on.
   * Later pieces follow the sentence rules. Off by default.
   */
  quickStart?: boolean;
  /** quickStart: words of the first piece when no clause ends sooner (default 5). */
  firstWords?: number;
}

export class SentenceSplitter {
  private buf = '';
  private readonly minClause: number;
  private readonly minSentence: number;
  private readonly firstWords: number;
  /** quickStart and nothing emitted yet. */
  private quick: boolean;

  constructor(opts: SplitterOptions = {}) {
    this.minClause = opts.minClauseChars ?? 60;
    this.minSentence = opts.minSentenceChars ?? 2;
    this.firstWords = opts.firstWords ?? 5;
    this.quick = opts.quickStart ?? false;
  }

  /** Adds text; returns the pieces that are now complete (trimmed, non-empty). */
  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    let cut: number;
    while ((cut = this.findCut()) > 0) {
      const piece = this.buf.slice(0, cut).trim();
      this.buf = this.buf.slice(cut);
      if (piece) {
        out.push(piece);
        this.quick = false;
      }
    }
    return out;
  }

  /** The rest, at the end of the stream. */
  flush(): string | undefined {
    const rest = this.buf.trim();
    this.buf = '';
    return rest || undefined;
  }

  /** Index just after a boundary whose following character is already known, or -1. */
  private findCut(): number {
    const b = this.buf;
    let clauseCut = -1;
    let words = 0;
    // The last character cannot be judged yet: "3." may become "3.5", "Mr" may become "Mr.".
    for (let i = 0; i < b.length - 1; i++) {
      const c = b[i];
      const next = b[i + 1];
      if (c === '\n') {
        if (b.slice(0, i).trim()) return i + 1;
        continue;
      }
      const ws = next === ' ' || next === '\n' || next === '\t';
      const inWord = c !== ' ' && c !== '\t';
      if (inWord && ws) words++;
      if ((c === '.' || c === '!' || c === '?' || c === '…') && ws) {
        if (c === '.' && this.isAbbreviation(i)) continue;
        if (b.slice(0, i + 1).trim().length < this.minSentence) continue;
        return i + 1;
      }
      if ((c === '"' || c === ')' || c === '”') && ws && i > 0 && '.!?'.includes(b[i - 1])) return i + 1;
      if ((c === ',' || c === ';' || c === ':' || c === '—') && ws && clauseCut < 0 && (i + 1 >= this.minClause || (this.quick && words >= 2))) clauseCut = i + 1;
      // The first piece of a quick start: at a clause, or after enough whole words, without waiting for the sentence.
      if (this.quick && clauseCut > 0) return clauseCut;
      if (this.quick && inWord && ws && words >= this.firstWords) return i + 1;
    }
    return clauseCut;
  }

  /** The word before the dot at `dot` is a known abbreviation or a single initial ("J. Smith"). */
  private isAbbreviation(dot: number): boolean {
    let s = dot - 1;
    while (s >= 0 && /[A-Za-z.]/.test(this.buf[s])) s--;
    const word = this.buf.slice(s + 1, dot);
    if (!word) return false;
    if (word.length === 1 && /[A-Z]/.test(word)) return true;
    return ABBREVIATIONS.has(word.toLowerCase());
  }
}

/** All pieces of a complete text (say()). */
export function splitSentences(text: string, opts?: SplitterOptions): string[] {
  const s = new SentenceSplitter(opts);
  const out = s.push(text);
  const rest = s.flush();
  if (rest) out.push(rest);
  return out;
}
