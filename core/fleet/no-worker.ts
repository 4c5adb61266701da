/**
 * settings.fleet.noWorker: the edge answers a call no worker can take, plays
 * a WAV and hangs up. The edge has no TTS of its own (that lives on the
 * workers), so the message is a recorded file.
 */
import { readFileSync } from 'node:fs';
import type { AudioBuffer } from '../audio/frame.js';
import { OutboundPacer, type PacerClock } from '../audio/pacer.js';
import { resample } from '../audio/resampler.js';
import { decodeWav } from '../audio/wav.js';
import type { CallLeg } from '../plugins/telephony.js';

/** Mono PCM16 of the file (channels averaged); throws a coded VB_ERR_AUDIO_FORMAT on a bad file. */
export function loadNoWorkerAudio(file: string): AudioBuffer {
  const w = decodeWav(readFileSync(file));
  if (w.channels === 1) return { samples: w.samples, sampleRate: w.sampleRate };
  const n = Math.floor(w.samples.length / w.channels);
  const mono = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < w.channels; c++) sum += w.samples[i * w.channels + c];
    mono[i] = Math.round(sum / w.channels);
  }
  return { samples: mono, sampleRate: w.sampleRate };
}

/** Plays `audio` to the caller in real time; resolves when it has gone out or the caller hung up. */
export function playToLeg(leg: CallLeg, audio: AudioBuffer, clock: PacerClock): Promise<'played' | 'caller-hangup'> {
  const rate = leg.media.outputRate;
  const samples = audio.sampleRate === rate ? audio.samples : resample(audio.samples, audio.sampleRate, rate);
  return new Promise((resolve) => {
    const pacer = new OutboundPacer({
      sampleRate: rate,
      frameMs: leg.media.frameMs,
      clock,
      sink: (frame) => leg.media.write(frame),
      // The last frame just went out: let it play before the caller's hangup.
      onDrained: () => void clock.time.setTimeout(() => {
        leg.onEnded(undefined);
        resolve('played');
      }, leg.media.frameMs),
    });
    leg.onEnded(() => {
      pacer.stop();
      resolve('caller-hangup');
    });
    pacer.start();
    pacer.enqueue(samples);
    if (samples.length === 0) resolve('played');
  });
}

export type NoWorkerOutcome = 'played' | 'caller-hangup' | 'failed';

/** The configured message, decoded once on first use. */
export class NoWorkerFallback {
  private audio: AudioBuffer | undefined;

  constructor(
    readonly file: string,
    private readonly clock: PacerClock,
  ) {}

  /** Plays the message on an answered leg and hangs up; never throws (a failure hangs up with `error`). */
  async play(leg: CallLeg, onError: (e: unknown) => void): Promise<NoWorkerOutcome> {
    try {
      this.audio ??= loadNoWorkerAudio(this.file);
      const r = await playToLeg(leg, this.audio, this.clock);
      if (r === 'played') await leg.hangup('bot-hangup').catch(() => {});
      return r;
    } catch (e) {
      onError(e);
      await leg.hangup('error').catch(() => {});
      return 'failed';
    }
  }
}
