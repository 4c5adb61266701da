import type { AudioBuffer } from './frame.js';

/**
 * The bundled hold sound: a soft two-note chime every 2 s, quiet enough to sit
 * under a line's noise and unlike speech (so VAD does not take it for the caller).
 */
export function defaultHoldAudio(sampleRate = 16000): AudioBuffer {
  const n = sampleRate * 2;
  const samples = new Int16Array(n);
  const note = (startS: number, hz: number) => {
    const a = Math.round(startS * sampleRate);
    const len = Math.round(0.35 * sampleRate);
    for (let i = 0; i < len && a + i < n; i++) {
      const env = Math.exp((-4 * i) / len) * Math.min(1, i / (0.01 * sampleRate));
      samples[a + i] = Math.round(2500 * env * Math.sin((2 * Math.PI * hz * i) / sampleRate));
    }
  };
  note(0, 523.25);
  note(0.3, 659.25);
  return { samples, sampleRate };
}
