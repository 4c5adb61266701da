import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWav, encodeWav, interleaveStereo, WavWriter } from '../../core/audio/wav.js';
import { OutboundPacer, PacerClock } from '../../core/audio/pacer.js';
import type { AudioFrame } from '../../core/audio/frame.js';

describe('WAV', () => {
  it('round trips mono and stereo, and the writer patches sizes', () => {
    const s = Int16Array.from([1, -2, 300, -32768, 32767]);
    expect(decodeWav(encodeWav(s, 8000))).toEqual({ samples: s, sampleRate: 8000, channels: 1 });
    const st = interleaveStereo(Int16Array.from([1, 2]), Int16Array.from([3]));
    expect([...st]).toEqual([1, 3, 2, 0]);
    const file = join(mkdtempSync(join(tmpdir(), 'wav-')), 'x.wav');
    const w = new WavWriter(file, 16000, 2);
    w.write(st);
    w.write(st);
    w.close();
    const d = decodeWav(readFileSync(file));
    expect(d.channels).toBe(2);
    expect([...d.samples]).toEqual([1, 3, 2, 0, 1, 3, 2, 0]);
  });

  it('rejects a non-WAV with a coded error', () => {
    expect(() => decodeWav(Buffer.from('hello world, not a wav'))).toThrow(/VB_ERR_AUDIO_FORMAT|RIFF/);
  });
});

describe('PacerClock + OutboundPacer', () => {
  it('emits queued audio in order, one reused frame per tick, pads the tail, and releases the timer', async () => {
    const clock = new PacerClock(20);
    const got: number[][] = [];
    let frameObj: AudioFrame | undefined;
    let drained = 0;
    const p = new OutboundPacer({
      sampleRate: 8000,
      clock,
      sink: (f) => {
        if (frameObj) expect(f).toBe(frameObj);
        frameObj = f;
        got.push([...f.samples.subarray(0, 3), f.samples[159]]);
      },
      onDrained: () => drained++,
    });
    p.start();
    const audio = new Int16Array(400);
    for (let i = 0; i < 400; i++) audio[i] = i + 1;
    p.enqueue(audio);
    expect(clock.running).toBe(true);
    await new Promise<void>((r) => {
      const check = setInterval(() => {
        if (drained) {
          clearInterval(check);
          r();
        }
      }, 5);
    });
    expect(got).toEqual([
      [1, 2, 3, 160],
      [161, 162, 163, 320],
      [321, 322, 323, 0],
    ]);
    expect(p.playedMs).toBe(60);
    expect(clock.size).toBe(0);
    expect(clock.running).toBe(false);
  });

  it('clear() drops queued audio and reports how much', () => {
    const clock = new PacerClock(20);
    const p = new OutboundPacer({ sampleRate: 16000, clock, sink: () => {} });
    p.start();
    p.enqueue(new Int16Array(16000));
    const dropped = p.clear();
    expect(dropped).toBeGreaterThan(900);
    expect(p.queuedMs).toBe(0);
    expect(clock.running).toBe(false);
  });

  it('catches up a late timer by whole frames (fake time)', () => {
    let t = 0;
    const clock = new PacerClock(20, () => t);
    let ticks = 0;
    clock.add({ tick: () => ticks++ });
    // Fire manually as a late timer would.
    t = 60;
    (clock as unknown as { fire: () => void }).fire();
    expect(ticks).toBe(3);
    clock.remove({ tick: () => {} });
    clock.resetStats();
  });
});
