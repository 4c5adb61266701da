import { PluginBase } from './base.js';

export interface TtsCapabilities {
  /** Yields audio before the whole text is synthesized. */
  streaming: boolean;
  /** Rates (Hz) it can produce; the core asks for one of them and resamples. */
  sampleRates: readonly number[];
  /** Chunks carry word timings (for exact barge-in truncation). */
  wordTimings: boolean;
  /**
   * Text may arrive in short pieces without the voice losing its flow (an
   * input-streaming TTS): the engine hands it a reply's first clause, or
   * first few words, at once instead of the whole first sentence.
   */
  inputStreaming?: boolean;
}

export interface WordTiming {
  word: string;
  /** ms from the start of this synthesis. */
  startMs: number;
  endMs: number;
}

export interface SynthesizeRequest {
  text: string;
  /** One of capabilities.sampleRates. */
  sampleRate: number;
  language: string;
  voice?: string;
  signal?: AbortSignal;
  callId?: string;
}

export interface TtsChunk {
  samples: Int16Array;
  sampleRate: number;
  words?: WordTiming[];
}

export abstract class TtsPlugin extends PluginBase {
  readonly slot = 'tts' as const;
  abstract readonly capabilities: TtsCapabilities;

  /** Stream audio for `text`. Measures `ttfb` (request → first chunk) and `duration`. */
  async *synthesize(req: SynthesizeRequest): AsyncGenerator<TtsChunk, void, undefined> {
    const t0 = performance.now();
    let first = true;
    for await (const chunk of this._synthesize(req)) {
      if (first) {
        first = false;
        this.emitMetric('ttfb', performance.now() - t0, req.callId);
      }
      yield chunk;
    }
    this.emitMetric('duration', performance.now() - t0, req.callId);
  }

  protected abstract _synthesize(req: SynthesizeRequest): AsyncIterable<TtsChunk>;
}
