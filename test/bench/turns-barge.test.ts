import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AudioFrame } from '../../core/audio/frame.js';
import type { CallerSide } from '../../core/plugins/telephony.js';
import { ClipCaller } from '../../bench/turns-barge.js';
import type { LabelledClip } from '../../bench/vad/labelled-set.js';

/** A caller line whose bot side the test plays by hand (the scoring logic only, no engine). */
function line(): { side: CallerSide; bot: (loud: boolean) => void; written: AudioFrame[] } {
  let rx: ((f: AudioFrame) => void) | undefined;
  const written: AudioFrame[] = [];
  const side = {
    callId: 'c1',
    sampleRate: 8000,
    setReceiver: (cb: ((f: AudioFrame) => void) | undefined) => (rx = cb),
    write: (f: AudioFrame) => written.push({ ...f }),
  } as unknown as CallerSide;
  const loudFrame = new Int16Array(160).fill(2000);
  const quiet = new Int16Array(160);
  return { side, written, bot: (loud) => rx?.({ samples: loud ? loudFrame : quiet, sampleRate: 8000, timestampMs: 0 }) };
}

const clip = (seconds: number): LabelledClip => ({ name: 'white only', noise: 'white', format: '8k-ulaw', sampleRate: 8000, audio: new Int16Array(8000 * seconds), speech: [] });

describe('barge-in bench scoring (ClipCaller)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance'] });
  });
  afterEach(() => vi.useRealTimers());

  /** 20 ms steps: the caller writes a clip frame, then the bot sends a frame (or nothing). */
  function run(c: ClipCaller, l: ReturnType<typeof line>, ms: number, bot: (t: number) => 'loud' | 'none', at: (t: number) => void = () => {}): void {
    for (let t = 0; t < ms; t += 20) {
      c.tick(performance.now());
      at(t);
      if (bot(t) === 'loud') l.bot(true);
      vi.advanceTimersByTime(20);
    }
  }

  it('counts a pause the caller hears and a cut prompt, once each, and not the wait after a prompt that played out', () => {
    const l = line();
    const c = new ClipCaller(l.side, clip(4), performance.now());
    run(
      c,
      l,
      4000,
      // Audible except 1000–1400 ms (a pause), 2000–2100 (a cut, restarted at once), 3000–3400 (the listen wait after a full prompt).
      (t) => ((t >= 1000 && t < 1400) || (t >= 3000 && t < 3400) ? 'none' : 'loud'),
      (t) => {
        if (t === 2000) c.said(true);
        if (t === 2980) c.said(false);
      },
    );
    const stops = c.stops();
    expect(stops).toHaveLength(2);
    expect(c.cuts).toHaveLength(1);
    expect(c.pauses).toHaveLength(1);
    // Bot heard: all but the two silent stretches (≈0.8 s of 4 s).
    expect(c.heardMs / 4000).toBeGreaterThan(0.75);
    expect(c.heardMs / 4000).toBeLessThan(0.85);
    expect(c.done).toBe(true);
    expect(l.written.length).toBe(200);
  });

  it('maps clip time to the real time its frame was written', () => {
    const l = line();
    const t0 = performance.now();
    const c = new ClipCaller(l.side, clip(1), t0 + 100);
    run(c, l, 1200, () => 'none');
    expect(c.at(0)).toBeCloseTo(t0 + 100, 0);
    expect(c.at(510)).toBeCloseTo(t0 + 610, 0);
  });
});
