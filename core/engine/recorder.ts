import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeWav, interleaveStereo } from '../audio/wav.js';
import type { TurnMetrics } from './events.js';

export interface TranscriptEntry {
  /** ms since the call was answered. */
  t: number;
  speaker: 'caller' | 'bot' | 'dtmf';
  text: string;
  interrupted?: boolean;
}

/** A mono track that grows as audio lands at absolute sample positions. */
class Track {
  data = new Int16Array(16000);
  length = 0;

  put(samples: Int16Array, at: number): void {
    const end = at + samples.length;
    if (end > this.data.length) {
      let cap = this.data.length;
      while (cap < end) cap *= 2;
      const n = new Int16Array(cap);
      n.set(this.data.subarray(0, this.length));
      this.data = n;
    }
    this.data.set(samples, at);
    if (end > this.length) this.length = end;
  }

  view(): Int16Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Call recording: caller on the left, bot on the right, both placed by media
 * time since answer so overlaps (barge-in) show as they happened. Kept in
 * memory and written once at the end of the call.
 */
export class CallRecorder {
  readonly sampleRate: number;
  private readonly caller = new Track();
  private readonly bot = new Track();
  readonly transcript: TranscriptEntry[] = [];
  readonly turns: TurnMetrics[] = [];

  constructor(sampleRate: number) {
    this.sampleRate = sampleRate;
  }

  /** Caller audio at the recorder rate whose first sample was captured at `atMs`. */
  addCaller(samples: Int16Array, atMs: number): void {
    this.caller.put(samples, Math.max(0, Math.round((atMs * this.sampleRate) / 1000)));
  }

  /**
   * Bot audio whose first sample plays at media time `atMs` (since answer).
   * The pacer stamps a talk spurt's frames exactly one period apart, so a
   * frame that went out late still lands right after the one before it.
   */
  addBot(samples: Int16Array, atMs: number): void {
    this.bot.put(samples, Math.max(0, Math.round((atMs * this.sampleRate) / 1000)));
  }

  async write(dir: string, callId: string, meta: Record<string, unknown>): Promise<{ wav: string; json: string }> {
    await mkdir(dir, { recursive: true });
    const safe = callId.replace(/[^A-Za-z0-9._-]/g, '_');
    const wav = join(dir, `${safe}.wav`);
    const json = join(dir, `${safe}.json`);
    const stereo = interleaveStereo(this.caller.view(), this.bot.view());
    await writeFile(wav, encodeWav(stereo, this.sampleRate, 2));
    const doc = { ...meta, sampleRate: this.sampleRate, channels: { left: 'caller', right: 'bot' }, transcript: this.transcript, turns: this.turns };
    await writeFile(json, JSON.stringify(doc, null, 2) + '\n');
    return { wav, json };
  }
}
