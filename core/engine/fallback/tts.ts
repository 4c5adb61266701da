import type { MetricSink } from '../../plugins/base.js';
import { TtsPlugin, type SynthesizeRequest, type TtsCapabilities, type TtsChunk, type WordTiming } from '../../plugins/tts.js';
import { Chain, type FallbackOptions, type MemberInput } from './chain.js';

/** Typical speaking rate, used to guess how much text a provider without word timings got through. */
const MS_PER_CHAR = 65;

/**
 * A TTS chain. When a provider fails mid-stream, the next one synthesizes
 * only the text not yet delivered, so the caller hears the whole reply
 * (possibly one word twice, never a gap).
 */
export class FallbackTts extends TtsPlugin {
  readonly capabilities: TtsCapabilities;
  readonly chain: Chain<TtsPlugin>;

  constructor(members: readonly MemberInput<TtsPlugin>[], opts: FallbackOptions = {}) {
    const chain = new Chain<TtsPlugin>('tts', members, opts);
    super(chain.name);
    this.chain = chain;
    const first = chain.entries[0].plugin.capabilities;
    this.capabilities = {
      streaming: chain.entries.every((e) => e.plugin.capabilities.streaming),
      // The first provider's rates: chunks carry their own rate, so a later provider may differ.
      sampleRates: first.sampleRates,
      wordTimings: chain.entries.every((e) => e.plugin.capabilities.wordTimings),
    };
  }

  override setMetricSink(sink: MetricSink | undefined): void {
    super.setMetricSink(sink);
    for (const e of this.chain.entries) e.plugin.setMetricSink(sink);
  }

  protected _synthesize(req: SynthesizeRequest): AsyncIterable<TtsChunk> {
    let remaining = req.text;
    // Word timings of a later provider restart at 0 for the rest of the text; shift them onto the whole reply's timeline.
    let offsetMs = 0;
    let deliveredMs = 0;
    let words: WordTiming[] = [];
    return this.chain.run<TtsChunk>(req.signal, {
      more: () => remaining.trim() !== '',
      start: (entry, signal) => {
        const p = entry.plugin;
        const rate = p.capabilities.sampleRates.includes(req.sampleRate) ? req.sampleRate : p.capabilities.sampleRates[0];
        deliveredMs = 0;
        words = [];
        return p.synthesize({ ...req, text: remaining, sampleRate: rate, signal })[Symbol.asyncIterator]();
      },
      budgetPerItem: true,
      deliver: (chunk) => {
        deliveredMs += (chunk.samples.length * 1000) / chunk.sampleRate;
        if (chunk.words) words.push(...chunk.words);
        return offsetMs > 0 && chunk.words
          ? { ...chunk, words: chunk.words.map((w) => ({ word: w.word, startMs: w.startMs + offsetMs, endMs: w.endMs + offsetMs })) }
          : chunk;
      },
      // The next provider says only what the caller has not heard yet.
      failed: () => {
        remaining = remainingText(remaining, words, deliveredMs);
        offsetMs += deliveredMs;
        return true;
      },
    });
  }
}

/** Text from the first word not completely delivered. */
export function remainingText(text: string, words: readonly WordTiming[], deliveredMs: number): string {
  if (deliveredMs <= 0) return text;
  let cut = 0;
  if (words.length) {
    let cursor = 0;
    for (const w of words) {
      const at = text.indexOf(w.word, cursor);
      if (at < 0) break;
      cursor = at + w.word.length;
      if (w.endMs <= deliveredMs) cut = cursor;
      else break;
    }
  } else {
    const guess = Math.min(text.length, Math.floor(deliveredMs / MS_PER_CHAR));
    const space = text.lastIndexOf(' ', guess);
    cut = space < 0 ? 0 : space;
  }
  return text.slice(cut).trim();
}
