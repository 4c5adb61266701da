/**
 * Audio at every boundary of voicebot is 16-bit PCM, mono, with an explicit
 * sample rate. Codecs (G.711, Opus) live at the edges; the engine only sees
 * `AudioFrame`s.
 *
 * Hot-path contract: a frame handed to a callback is valid only for the
 * duration of that callback. Producers reuse the underlying buffer, so a
 * consumer that keeps audio must copy it (`frame.samples.slice()`).
 */
export interface AudioFrame {
  /** Signed 16-bit samples, mono. Length = sampleRate * durationMs / 1000. */
  samples: Int16Array;
  /** Hz. One of SAMPLE_RATES wherever the core must convert. */
  sampleRate: number;
  /** Media time of the first sample, ms since the leg started. */
  timestampMs: number;
}

/** Rates the core resampler converts between. */
export const SAMPLE_RATES = [8000, 16000, 24000, 48000] as const;
export type SampleRate = (typeof SAMPLE_RATES)[number];

/** Default frame duration, ms. 50 frames per second per direction. */
export const FRAME_MS = 20;

export function isSupportedRate(rate: number): rate is SampleRate {
  return (SAMPLE_RATES as readonly number[]).includes(rate);
}

export function samplesPerFrame(sampleRate: number, frameMs: number = FRAME_MS): number {
  return (sampleRate * frameMs) / 1000;
}

export function durationMs(samples: number, sampleRate: number): number {
  return (samples * 1000) / sampleRate;
}

/** A block of audio larger than a frame (an utterance, a TTS chunk). */
export interface AudioBuffer {
  samples: Int16Array;
  sampleRate: number;
}

/** Wire encodings a telephony leg or an audio stream may carry. */
export type Encoding = 'pcm16' | 'mulaw' | 'alaw';

export interface AudioFormat {
  encoding: Encoding;
  sampleRate: number;
}
