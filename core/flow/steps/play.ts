import type { PlayStep } from '../../config/types.js';
import { decodeWav } from '../../audio/wav.js';
import type { AudioBuffer } from '../../audio/frame.js';
import { VoicebotError } from '../../errors/index.js';
import { BodyTooLarge, readCapped } from '../http.js';
import { renderUrl } from '../url-template.js';
import { render, type RunContext, type StepExecutor } from '../context.js';
import { BoundedCache, PLAY_CACHE_MAX_BYTES, PLAY_CACHE_MAX_ENTRIES, readPlayFile, resolvePlayPath } from './play-source.js';

/** Largest `play: { url }` download (default). */
export const DEFAULT_PLAY_MAX_BYTES = 20 * 1024 * 1024;
export const DEFAULT_PLAY_TIMEOUT_MS = 10_000;

/**
 * Decoded files are cached per path: a greeting WAV is read once per process,
 * not per call. Bounded, because templated paths can name many files.
 */
export const playCache = new BoundedCache<Promise<AudioBuffer>>(PLAY_CACHE_MAX_ENTRIES, PLAY_CACHE_MAX_BYTES);

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

function loadFile(rc: RunContext, step: PlayStep): Promise<AudioBuffer> {
  const where = resolvePlayPath(step.file!, render(rc, step.file!), rc.config.source.dir);
  if ('outside' in where) return Promise.reject(new VoicebotError('VB_ERR_FLOW_PLAY_PATH', { path: where.outside, root: where.root }));
  const { path } = where;
  const cached = playCache.get(path);
  if (cached) return cached;
  const p = readPlayFile(path).then(decode);
  // Counted at 0 bytes while loading (concurrent calls share the read), then at its decoded size.
  playCache.set(path, p, 0);
  p.then(
    (a) => playCache.set(path, p, a.samples.byteLength),
    () => playCache.delete(path),
  );
  return p;
}

async function loadUrl(rc: RunContext, step: PlayStep, source: string, signal: AbortSignal): Promise<AudioBuffer> {
  const timeoutMs = step.timeoutMs ?? DEFAULT_PLAY_TIMEOUT_MS;
  const maxBytes = step.maxBytes ?? DEFAULT_PLAY_MAX_BYTES;
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    // The timeout covers the body: a server that sends headers and then trickles is no answer.
    const res = await rc.fetch(source, { signal: AbortSignal.any([signal, timeout]) });
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`status ${res.status}`);
    }
    return decode(await readCapped(res, maxBytes));
  } catch (e) {
    if (signal.aborted) throw e;
    if (timeout.aborted) throw new Error(`no complete answer within ${timeoutMs} ms (play.timeout)`, { cause: e });
    if (e instanceof BodyTooLarge) throw new Error(`${e.message} (play.maxBytes)`, { cause: e });
    throw e;
  }
}

async function load(rc: RunContext, step: PlayStep, signal: AbortSignal): Promise<AudioBuffer> {
  let source = step.file ?? step.url ?? '';
  try {
    if (step.file) return await loadFile(rc, step);
    source = renderUrl(rc.templates, step.url ?? '', rc.scope);
    return await loadUrl(rc, step, source, signal);
  } catch (e) {
    if (signal.aborted) throw e;
    if (e instanceof VoicebotError) throw e;
    throw new VoicebotError('VB_ERR_FLOW_PLAY', { source, detail: (e as Error)?.message ?? String(e) }, { cause: e });
  }
}

export const runPlay: StepExecutor<PlayStep> = async (step, rc, signal) => {
  const audio = await load(rc, step, signal);
  await rc.session.play(audio, { bargeIn: step.bargeIn, signal });
  return undefined;
};
