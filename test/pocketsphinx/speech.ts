import { resample } from '../../core/audio/resampler.js';
import type { FliteEngine, FliteVoice } from '../../plugins/flite/index.js';
import { locate } from '../../plugins/pocketsphinx/index.js';

let installed: string | undefined;
try {
  locate();
} catch (e) {
  installed = (e as Error).message;
}
export const SKIP = installed ? `PocketSphinx is not installed (${installed})` : '';

/** Real speech for a real recognizer: Flite, resampled to `rate`, with 100 ms of silence before and 500 ms after. */
export async function speech(engine: FliteEngine, text: string, rate: number, voice: FliteVoice = 'rms'): Promise<Int16Array> {
  const r = await engine.synthesize({ voice, text, speed: 0.9 });
  const pcm = r.sampleRate === rate ? r.samples : resample(r.samples, r.sampleRate, rate);
  const out = new Int16Array(pcm.length + (rate * 6) / 10);
  out.set(pcm, rate / 10);
  return out;
}

