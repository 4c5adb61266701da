import type { AudioFrame } from '../../audio/frame.js';
import { resample } from '../../audio/resampler.js';
import type { MetricSink } from '../../plugins/base.js';
import {
  SttPlugin,
  type RecognizeRequest,
  type SttCapabilities,
  type SttStream,
  type SttStreamOptions,
  type Transcript,
} from '../../plugins/stt.js';
import { Chain, type ChainEntry, type FallbackOptions, type MemberInput, type RequestBudget } from './chain.js';

/** Longest utterance kept for replay to the next provider (s). */
const MAX_REPLAY_S = 30;

/**
 * An STT chain. recognize() moves down the chain on retryable failures and
 * timeouts; a stream keeps the current utterance's audio so the next
 * provider can be given the whole utterance when one fails mid-way.
 */
export class FallbackStt extends SttPlugin {
  readonly capabilities: SttCapabilities;
  readonly chain: Chain<SttPlugin>;

  constructor(members: readonly MemberInput<SttPlugin>[], opts: FallbackOptions = {}) {
    const chain = new Chain<SttPlugin>('stt', members, opts);
    super(chain.name);
    this.chain = chain;
    const caps = chain.entries.map((e) => e.plugin.capabilities);
    // Rates every member accepts first, so no conversion is needed on the common path.
    const all = caps[0].sampleRates.filter((r) => caps.every((c) => c.sampleRates.includes(r)));
    this.capabilities = {
      streaming: caps.every((c) => c.streaming),
      interimResults: caps.every((c) => c.interimResults),
      sampleRates: all.length ? all : caps[0].sampleRates,
    };
  }

  override setMetricSink(sink: MetricSink | undefined): void {
    super.setMetricSink(sink);
    for (const e of this.chain.entries) e.plugin.setMetricSink(sink);
  }

  protected async _recognize(req: RecognizeRequest): Promise<Transcript> {
    let out: Transcript | undefined;
    const attempts = this.chain.run<Transcript>(req.signal, {
      start: (entry, signal) => {
        const rates = entry.plugin.capabilities.sampleRates;
        const rate = rates.includes(req.sampleRate) ? req.sampleRate : rates[0];
        const audio = rate === req.sampleRate ? req.audio : resample(req.audio, req.sampleRate, rate);
        return once(entry.plugin.recognize({ ...req, audio, sampleRate: rate, signal }));
      },
    });
    for await (const t of attempts) out = t;
    return out!;
  }

  protected override _stream(opts: SttStreamOptions): SttStream {
    return new FallbackSttStream(this.chain, opts);
  }
}

/** One result as an iterator, so recognize() runs the same chain loop as the streaming slots. */
async function* once<T>(p: Promise<T>): AsyncGenerator<T, void, undefined> {
  yield await p;
}

class FallbackSttStream implements SttStream {
  private current: { entry: ChainEntry<SttPlugin>; stream: SttStream } | undefined;
  private readonly tried = new Set<ChainEntry<SttPlugin>>();
  private readonly errors: unknown[] = [];
  private utter: Int16Array;
  private utterLen = 0;
  private interimPending = false;
  private ending = false;
  private timer: ReturnType<Chain<SttPlugin>['clock']['setTimeout']> | undefined;
  /** Set while the caller waits for this utterance's final: bounds the silence across failovers. */
  private waiting: RequestBudget<SttPlugin> | undefined;
  private closed = false;
  private readonly frame: AudioFrame;

  constructor(
    private readonly chain: Chain<SttPlugin>,
    private readonly opts: SttStreamOptions,
  ) {
    this.utter = new Int16Array(opts.sampleRate * 2);
    this.frame = { samples: this.utter, sampleRate: opts.sampleRate, timestampMs: 0 };
    this.openNext();
  }

  push(frame: AudioFrame): void {
    if (this.closed) return;
    this.keep(frame.samples);
    this.current?.stream.push(frame);
  }

  endUtterance(): void {
    if (this.closed || !this.current) return;
    this.ending = true;
    this.current.stream.endUtterance();
    const waiting = this.current.entry.plugin.capabilities.interimResults ? this.interimPending : this.utterLen > 0;
    if (waiting && !this.timer && this.ending) {
      const entry = this.current.entry;
      this.waiting ??= this.chain.budget();
      if (this.waiting.exhausted()) {
        this.giveUp();
        return;
      }
      const ms = this.waiting.firstResultMs(entry);
      this.timer = this.chain.clock.setTimeout(() => {
        this.timer = undefined;
        this.failover(this.chain.timeoutError(entry, ms));
      }, ms);
    }
  }

  close(): void {
    this.closed = true;
    this.clearTimer();
    this.current?.stream.close();
    this.current = undefined;
  }

  private keep(s: Int16Array): void {
    const max = this.opts.sampleRate * MAX_REPLAY_S;
    if (this.utterLen + s.length > this.utter.length) {
      if (this.utterLen + s.length > max) return;
      const n = new Int16Array(Math.min(max, Math.max(this.utter.length * 2, this.utterLen + s.length)));
      n.set(this.utter.subarray(0, this.utterLen));
      this.utter = n;
    }
    this.utter.set(s, this.utterLen);
    this.utterLen += s.length;
  }

  private clearTimer(): void {
    this.chain.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The utterance's budget ran out: report the chain exhausted instead of trying the next provider. */
  private giveUp(): void {
    this.current?.stream.close();
    this.current = undefined;
    this.waiting = undefined;
    this.opts.onError(this.chain.exhausted(this.errors));
  }

  private openNext(): boolean {
    for (const entry of this.chain.order()) {
      if (this.tried.has(entry)) continue;
      this.tried.add(entry);
      try {
        const stream = entry.plugin.stream({
          ...this.opts,
          onTranscript: (t) => this.onTranscript(entry, t),
          onError: (e) => this.onError(entry, e),
        });
        this.current = { entry, stream };
        return true;
      } catch (e) {
        if (!this.chain.shouldFallOver(e, undefined)) {
          this.opts.onError(e);
          return false;
        }
        this.chain.markFailed(entry, e);
        this.errors.push(e);
      }
    }
    this.current = undefined;
    this.opts.onError(this.chain.exhausted(this.errors));
    return false;
  }

  private onTranscript(entry: ChainEntry<SttPlugin>, t: Transcript): void {
    if (this.closed || this.current?.entry !== entry) return;
    if (t.final) {
      this.clearTimer();
      this.chain.markOk(entry);
      this.utterLen = 0;
      this.interimPending = false;
      this.ending = false;
      this.waiting = undefined;
      // A provider that worked may be used again after a later failover.
      this.tried.clear();
      this.tried.add(entry);
      this.errors.length = 0;
    } else this.interimPending = true;
    this.opts.onTranscript(t);
  }

  private onError(entry: ChainEntry<SttPlugin>, e: unknown): void {
    if (this.closed || this.current?.entry !== entry) return;
    if (!this.chain.shouldFallOver(e, undefined)) {
      this.opts.onError(e);
      return;
    }
    this.failover(e);
  }

  private failover(e: unknown): void {
    const failed = this.current;
    if (!failed) return;
    this.clearTimer();
    this.chain.markFailed(failed.entry, e);
    this.errors.push(e);
    failed.stream.close();
    this.current = undefined;
    // The caller has waited the whole budget for this utterance: no next provider, on.error now.
    if (this.ending && this.waiting?.exhausted()) {
      this.giveUp();
      return;
    }
    if (!this.openNext() || !this.current) return;
    // Replay the utterance so far to the new provider.
    if (this.utterLen > 0) {
      const len = this.utterLen;
      this.frame.samples = this.utter.subarray(0, len);
      (this.current as { stream: SttStream }).stream.push(this.frame);
    }
    if (this.ending) {
      this.ending = false;
      this.endUtterance();
    }
  }
}
