import { describe, expect, it } from 'vitest';
import type { AudioFrame } from '../../core/audio/frame.js';
import { CallerInput } from '../../core/engine/caller-input.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import { EnergyVad } from '../../plugins/energy/vad.js';

/** CallerInput with the real energy VAD (200 ms hangover by default) on 20 ms frames of tone or silence. */
function rig(endOfSpeechMs: number, minSilenceMs = 200) {
  const clock = new VirtualClock({ auto: false });
  const ends: { speechEndAt: number; endpointAt: number }[] = [];
  let starts = 0;
  const input = new CallerInput({
    inputRate: 8000,
    engineRate: 8000,
    vadRate: 8000,
    sttRate: 8000,
    frameMs: 20,
    detector: new EnergyVad({ minSilenceMs }).createDetector({ sampleRate: 8000 }),
    endOfSpeechMs,
    clock,
    sink: { speechStart: () => void starts++, audio: () => {}, voiced: () => {}, endpoint: (speechEndAt, endpointAt) => void ends.push({ speechEndAt, endpointAt }) },
  });
  const frame: AudioFrame = { samples: new Int16Array(160), sampleRate: 8000, timestampMs: 0 };
  let lastLoudAt = -1;
  const feed = async (ms: number, loud: boolean): Promise<void> => {
    for (let i = 0; i < ms / 20; i++) {
      for (let k = 0; k < 160; k++) frame.samples[k] = loud ? Math.round(8000 * Math.sin((2 * Math.PI * 440 * k) / 8000)) : 0;
      if (loud) lastLoudAt = clock.now();
      input.process(frame);
      frame.timestampMs += 20;
      await clock.advance(20);
    }
  };
  return { clock, ends, feed, get starts() { return starts; }, get lastLoudAt() { return lastLoudAt; } };
}

describe('endpoint after the VAD hangover', () => {
  it('a 200 ms endpoint ends the turn 200 ms after the last voiced frame, not after the hangover as well', async () => {
    const r = rig(200);
    await r.feed(400, false);
    await r.feed(600, true);
    await r.feed(1000, false);
    expect(r.ends).toHaveLength(1);
    const e = r.ends[0];
    expect(e.speechEndAt).toBe(r.lastLoudAt);
    // Before the fix the silence was counted from the VAD's speech-end (200 ms hangover later): 400 ms.
    expect(e.endpointAt - e.speechEndAt).toBe(200);
  });

  it('the caller going on inside the hangover after the endpoint starts a new utterance', async () => {
    // Hangover (500 ms) longer than the endpoint (200 ms): the VAD still says speaking when the turn ends.
    const r = rig(200, 500);
    await r.feed(400, false);
    await r.feed(600, true);
    await r.feed(300, false);
    expect(r.ends).toHaveLength(1);
    await r.feed(400, true);
    expect(r.starts).toBe(2);
    await r.feed(1000, false);
    expect(r.ends).toHaveLength(2);
  });
});
