import type { MetricSink } from '../../plugins/base.js';
import { TtsPlugin, type SynthesizeRequest, type TtsCapabilities, type TtsChunk, type WordTiming } from '../../plugins/tts.js';
import { LinkedAbort } from '../abort.js';
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

  protected async *_synthesize(req: SynthesizeRequest): AsyncIterable<TtsChunk> {
    let remaining = req.text;
    const errors: unknown[] = [];
    // Word timings of a later provider restart at 0 for the rest of the text; shift them onto the whole reply's timeline.
    let offsetMs = 0;
    const budget = this.chain.budget();
    for (const entry of this.chain.order()) {
      if (!remaining.trim()) return;
      if (budget.exhausted()) break;
      const p = entry.plugin;
      const rate = p.capabilities.sampleRates.includes(req.sampleRate) ? req.sampleRate : p.capabilities.sampleRates[0];
      const link = new LinkedAbort(req.signal);
      const it = p.synthesize({ ...req, text: remaining, sampleRate: rate, signal: link.signal })[Symbol.asyncIterator]();
      let deliveredMs = 0;
      const words: WordTiming[] = [];
      try {
        for (;;) {
          const waitMs = deliveredMs === 0 ? budget.firstResultMs(entry) : entry.timeoutMs;
          const r = await this.chain.withTimeout(it.next(), waitMs, () => this.chain.timeoutError(entry, waitMs));
          if (r.done) break;
          budget.delivered();
          const chunk = r.value;
          const ms = (chunk.samples.length * 1000) / chunk.sampleRate;
          if (chunk.words) words.push(...chunk.words);
          yield offsetMs > 0 && chunk.words
            ? { ...chunk, words: chunk.words.map((w) => ({ word: w.word, startMs: w.startMs + offsetMs, endMs: w.endMs + offsetMs })) }
            : chunk;
          deliveredMs += ms;
        }
        this.chain.markOk(entry);
        return;
      } catch (e) {
        link.abort();
        void it.return?.(undefined)?.catch(() => {});
        if (!this.chain.shouldFallOver(e, req.signal)) throw e;
        this.chain.markFailed(entry, e);
        errors.push(e);
        remaining = remainingText(remaining, words, deliveredMs);
        offsetMs += deliveredMs;
      } finally {
        link.dispose();
      }
    }
    if (errors.length) throw this.chain.exhausted(errors);
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
