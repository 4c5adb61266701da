import type { VadEvent } from './vad.js';

export interface HysteresisOptions {
  /** Voiced time before speech-start (ms). */
  minSpeechMs: number;
  /** Unvoiced time before speech-end (ms). */
  minSilenceMs: number;
}

/**
 * Turns per-frame voiced/unvoiced decisions into speech-start/speech-end,
 * shared by the frame classifiers (energy, fvad, silero). Speech has short gaps
 * (plosives, between syllables): only a pause as long as minSpeechMs restarts
 * the onset count, and only minSilenceMs of silence ends speech.
 */
export class SpeechHysteresis {
  speaking = false;
  private aboveMs = 0;
  private belowMs = 0;
  constructor(private readonly o: HysteresisOptions) {}

  update(voiced: boolean, ms: number): VadEvent {
    if (voiced) {
      this.aboveMs += ms;
      this.belowMs = 0;
      if (!this.speaking && this.aboveMs >= this.o.minSpeechMs) {
        this.speaking = true;
        return 'speech-start';
      }
      return 'none';
    }
    this.belowMs += ms;
    if (!this.speaking) {
      if (this.belowMs >= this.o.minSpeechMs) this.aboveMs = 0;
    } else if (this.belowMs >= this.o.minSilenceMs) {
      this.speaking = false;
      this.aboveMs = 0;
      return 'speech-end';
    }
    return 'none';
  }

  reset(): void {
    this.speaking = false;
    this.aboveMs = 0;
    this.belowMs = 0;
  }
}
