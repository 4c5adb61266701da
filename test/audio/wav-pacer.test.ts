import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWav, encodeWav, interleaveStereo, WavWriter } from '../../core/audio/wav.js';
import { OutboundPacer, PacerClock } from '../../core/audio/pacer.js';
import type { AudioFrame } from '../../core/audio/frame.js';
import type { Clock } from '../../core/time/clock.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';

/** `base`, except that the first timer of `ms` > 0 fires `lateMs` late (a loaded event loop). */
function lateOnce(base: Clock, lateMs: number): Clock {
  let done = false;
  return {
    now: () => base.now(),
    wallNow: () => base.wallNow(),
    setTimeout: (fn, ms) => {
      if (!done && ms > 0) {
        done = true;
        return base.setTimeout(fn, ms + lateMs);
      }
      return base.setTimeout(fn, ms);
    },
    clearTimeout: (h) => base.clearTimeout(h),
    sleep: (ms, signal) => base.sleep(ms, signal),
    virtual: true,
  };
}

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
    const vc = new VirtualClock({ auto: false });
    const clock = new PacerClock(20, vc);
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
    await vc.advance(60);
    expect(drained).toBe(1);
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

  it('ticks every missed period of a late timer with its own deadline (virtual time)', async () => {
    const vc = new VirtualClock({ auto: false });
    const clock = new PacerClock(20, lateOnce(vc, 45));
    const slots: number[] = [];
    const member = { tick: (slot: number) => slots.push(slot) };
    clock.add(member);
    await vc.advance(100);
    // The 20 ms timer fired at 65: periods 20, 40, 60 at once, then on time again.
    expect(slots).toEqual([20, 40, 60, 80, 100]);
    clock.remove(member);
    expect(clock.running).toBe(false);
  });

  // Regression: fire() ticked a late member three times with the same `now` and the
  // pacer's nextDue moved past it after the first, so the lost frames were never sent.
  it('an outbound stream catches up after a late timer: 5 frames by 85 ms, none lost', async () => {
    const vc = new VirtualClock({ auto: false });
    const clock = new PacerClock(20, lateOnce(vc, 45));
    const at: number[] = [];
    const p = new OutboundPacer({ sampleRate: 8000, clock, sink: (_f, atMs) => at.push(atMs) });
    p.start();
    p.enqueue(new Int16Array(160 * 10));
    expect(at).toEqual([0]);
    await vc.advance(85);
    expect(at.length).toBe(5);
    // Media time stays one period apart whatever the timer did.
    expect(at).toEqual([0, 20, 40, 60, 80]);
    await vc.advance(200);
    expect(at.length).toBe(10);
    expect(p.playedMs).toBe(200);
  });
});
