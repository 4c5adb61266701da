import { resample } from '../../core/audio/resampler.js';
import { FliteEngine } from '../../plugins/flite/engine.js';
import { fliteSpeech } from '../../bench/vad/labelled-set.js';

/** Real speech for the VAD conformance suite: Flite `slt` saying a short sentence at ≈ −20 dBFS, per rate. */
export async function fliteSpeechAt(text = 'please book a table for two'): Promise<(rate: number) => Int16Array> {
  const engine = new FliteEngine();
  try {
    const s16 = await fliteSpeech(engine, 'slt', text);
    let acc = 0;
    for (const v of s16) acc += v * v;
    const g = (32768 * 0.1) / Math.sqrt(acc / s16.length);
    const scaled = Int16Array.from(s16, (v) => Math.max(-32768, Math.min(32767, Math.round(v * g))));
    const byRate = new Map<number, Int16Array>([[16000, scaled]]);
    return (rate) => {
      let a = byRate.get(rate);
      if (!a) byRate.set(rate, (a = resample(scaled, 16000, rate)));
      return a;
    };
  } finally {
    await engine.shutdown();
  }
}
