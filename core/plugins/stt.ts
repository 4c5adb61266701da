import type { AudioFrame } from '../audio/frame.js';
import { PluginBase } from './base.js';

export interface SttCapabilities {
  /** Accepts audio while the caller speaks and reports text as it goes. */
  streaming: boolean;
  /** Streaming results include non-final (interim) text. */
  interimResults: boolean;
  /** Rates (Hz) it accepts; the core resamples to one of them. */
  sampleRates: readonly number[];
}

export interface Transcript {
  text: string;
  /** false: an interim hypothesis of the running utterance (may still change); true: its final text. */
  final: boolean;
  /** Interim only, where the provider gives it: 0..1, how unlikely this text is to change. */
  stability?: number;
  confidence?: number;
  language?: string;
}

export interface RecognizeRequest {
  /** One utterance, PCM16 mono, at `sampleRate` (one of capabilities.sampleRates). */
  audio: Int16Array;
  sampleRate: number;
  language: string;
  signal?: AbortSignal;
  callId?: string;
  /** Words likely to be said (menu options), when the provider can use them. */
  hints?: readonly string[];
}

export interface SttStreamOptions {
  sampleRate: number;
  language: string;
  callId?: string;
  onTranscript(t: Transcript): void;
  onError(e: unknown): void;
}

/** A streaming recognizer for one call. push() is called per frame: keep it cheap. */
export interface SttStream {
  push(frame: AudioFrame): void;
  /** The engine's endpointing decided the utterance ended: emit a final now. */
  endUtterance(): void;
  close(): void;
}

export abstract class SttPlugin extends PluginBase {
  readonly slot = 'stt' as const;
  abstract readonly capabilities: SttCapabilities;

  /** Transcribe one utterance. Measures `latency` (request → final text). */
  async recognize(req: RecognizeRequest): Promise<Transcript> {
    const t0 = performance.now();
    const result = await this._recognize(req);
    this.emitMetric('latency', performance.now() - t0, req.callId);
    return result;
  }

  /** Only when capabilities.streaming. */
  stream(opts: SttStreamOptions): SttStream {
    return this._stream(opts);
  }

  protected abstract _recognize(req: RecognizeRequest): Promise<Transcript>;

  protected _stream(_opts: SttStreamOptions): SttStream {
    throw new Error(`${this.provider} does not stream`);
  }
}
