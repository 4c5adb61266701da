import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { PlayStep } from '../../config/types.js';
import { decodeWav } from '../../audio/wav.js';
import type { AudioBuffer } from '../../audio/frame.js';
import { VoicebotError } from '../../errors/index.js';
import { render, type RunContext, type StepExecutor } from '../context.js';

/** Decoded files are cached per path: a greeting WAV is read once per process, not per call. */
const fileCache = new Map<string, Promise<AudioBuffer>>();

function toMono(samples: Int16Array, channels: number): Int16Array {
  if (channels <= 1) return samples;
  const out = new Int16Array(Math.floor(samples.length / channels));
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += samples[i * channels + c];
    out[i] = Math.round(s / channels);
  }
  return out;
}

function decode(bytes: Uint8Array): AudioBuffer {
  const w = decodeWav(bytes);
  return { samples: toMono(w.samples, w.channels), sampleRate: w.sampleRate };
}

async function load(rc: RunContext, step: PlayStep, signal: AbortSignal): Promise<AudioBuffer> {
  const source = step.file ? render(rc, step.file) : render(rc, step.url ?? '');
  try {
    if (step.file) {
      const path = isAbsolute(source) ? source : resolve(rc.config.source.dir, source);
      let p = fileCache.get(path);
      if (!p) {
        p = readFile(path).then(decode);
        p.catch(() => fileCache.delete(path));
        fileCache.set(path, p);
      }
      return await p;
    }
    const res = await rc.fetch(source, { signal });
    if (!res.ok) throw new Error(`status ${res.status}`);
    return decode(new Uint8Array(await res.arrayBuffer()));
  } catch (e) {
    if (signal.aborted) throw e;
    throw new VoicebotError('VB_ERR_FLOW_PLAY', { source, detail: (e as Error)?.message ?? String(e) }, { cause: e });
  }
}

export const runPlay: StepExecutor<PlayStep> = async (step, rc, signal) => {
  const audio = await load(rc, step, signal);
  await rc.session.play(audio, { bargeIn: step.bargeIn, signal });
  return undefined;
};
