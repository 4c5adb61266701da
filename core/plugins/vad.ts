import type { AudioFrame } from '../audio/frame.js';
import { PluginBase } from './base.js';

export interface VadCapabilities {
  /** Rates (Hz) the detector accepts; the core resamples to the first that fits. */
  sampleRates: readonly number[];
}

/** What one frame changed. Strings, not objects: no allocation per frame. */
export type VadEvent = 'none' | 'speech-start' | 'speech-end';

/**
 * One per call, fed every caller frame synchronously. `speech-end` means the
 * detector heard silence; deciding the caller finished the turn
 * (endOfSpeech) is the engine's endpointing, not the VAD's.
 */
export interface VadDetector {
  process(frame: AudioFrame): VadEvent;
  /** Currently inside speech. */
  readonly speaking: boolean;
  /** Last frame's speech probability 0..1. */
  readonly probability: number;
  reset(): void;
}

export interface VadDetectorOptions {
  sampleRate: number;
}

export abstract class VadPlugin extends PluginBase {
  readonly slot = 'vad' as const;
  abstract readonly capabilities: VadCapabilities;

  createDetector(opts: VadDetectorOptions): VadDetector {
    return this._createDetector(opts);
  }

  protected abstract _createDetector(opts: VadDetectorOptions): VadDetector;
}
