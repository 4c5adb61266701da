import { readFile } from 'node:fs/promises';
import type { AudioBuffer } from '../audio/frame.js';
import { defaultHoldAudio } from '../audio/hold.js';
import { decodeWav } from '../audio/wav.js';
import type { CallSession } from '../engine/session-api.js';
import { realClock, type Clock } from '../time/clock.js';

/** Decoded hold sounds by file, so a loop does not read the disk each time. */
const CACHE = new Map<string, Promise<AudioBuffer>>();

export function loadHoldAudio(file: string | undefined): Promise<AudioBuffer> {
  if (!file) return Promise.resolve(defaultHoldAudio());
  let p = CACHE.get(file);
  if (!p) {
    p = readFile(file).then((b) => {
      const d = decodeWav(b);
      return { samples: d.samples, sampleRate: d.sampleRate };
    });
    p.catch(() => CACHE.delete(file));
    CACHE.set(file, p);
  }
  return p;
}

/**
 * Hold audio on `session` while some work runs: it starts after `afterMs`
 * (quick work stays silent), loops, and stop() ends it at once and waits
 * until playback let go, so whatever the bot says next is not mixed with it.
 */
export function holdWhile(session: CallSession, opts: HoldOptions): { stop(): Promise<void> } {
  return holdLoop(session, (audio, signal) => session.play(audio, { bargeIn: false, signal }), opts);
}

export interface HoldOptions {
  file?: string;
  afterMs: number;
  clock?: Clock;
}

/** The same hold, played through `play` (an llm step's tool: inside the turn's own playback); `play` returning false ends it. */
export function holdLoop(session: CallSession, play: (audio: AudioBuffer, signal: AbortSignal) => Promise<unknown>, opts: HoldOptions): { stop(): Promise<void> } {
  const clock = opts.clock ?? realClock;
  const ac = new AbortController();
  const loop = (async () => {
    await clock.sleep(opts.afterMs, ac.signal);
    if (ac.signal.aborted) return;
    const audio = await loadHoldAudio(opts.file).catch(() => defaultHoldAudio());
    while (!ac.signal.aborted && !session.ended) {
      try {
        if ((await play(audio, ac.signal)) === false) return;
      } catch {
        return;
      }
    }
  })();
  return {
    stop: async () => {
      ac.abort();
      await loop;
    },
  };
}
