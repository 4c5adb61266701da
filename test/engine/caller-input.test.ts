import { describe, expect, it } from 'vitest';
import type { AudioFrame } from '../../core/audio/frame.js';
import { CallerInput, MAX_UTTERANCE_MS, PREROLL_MS, type CallerInputSink } from '../../core/engine/caller-input.js';
import type { VadDetector, VadEvent } from '../../core/plugins/vad.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';

/** A VAD that says what the frame's first sample says: 1 = speech. */
class LabelVad implements VadDetector {
  speaking = false;
  probability = 0;
  process(f: AudioFrame): VadEvent {
    const voiced = f.samples[0] === 1;
    this.probability = voiced ? 1 : 0;
    if (voiced && !this.speaking) {
      this.speaking = true;
      return 'speech-start';
    }
    if (!voiced && this.speaking) {
      this.speaking = false;
      return 'speech-end';
    }
    return 'none';
  }
  reset(): void {
    this.speaking = false;
  }
}

function rig(endOfSpeechMs = 400) {
  const clock = new VirtualClock({ auto: false });
  const log: string[] = [];
  let captured = 0;
  let preroll = -1;
  const sink: CallerInputSink = {
    speechStart: (pre) => {
      preroll = pre.length;
      log.push(`start@${clock.now()}`);
    },
    audio: (f) => (captured += f.samples.length),
    voiced: () => {},
    endpoint: (speechEndAt, endpointAt) => log.push(`end ${speechEndAt}→${endpointAt}`),
  };
  const input = new CallerInput({ inputRate: 16000, engineRate: 16000, vadRate: 16000, sttRate: 8000, frameMs: 20, detector: new LabelVad(), endOfSpeechMs, clock, sink });
  const frame: AudioFrame = { samples: new Int16Array(320), sampleRate: 16000, timestampMs: 0 };
  /** Feed `n` frames, one per 20 virtual ms. */
  const feed = async (n: number, voiced: boolean): Promise<void> => {
    for (let i = 0; i < n; i++) {
      frame.samples.fill(voiced ? 1 : 0);
      input.process(frame);
      frame.timestampMs += 20;
      await clock.advance(20);
    }
  };
  return { clock, input, log, feed, get captured() { return captured; }, get preroll() { return preroll; } };
}

describe('CallerInput', () => {
  it('hands over the pre-roll at onset and ends the utterance after endOfSpeech of silence, at the last voiced frame', async () => {
    const r = rig(400);
    await r.feed(25, false); // 500 ms of silence: the pre-roll ring is full
    await r.feed(10, true); // 200 ms of speech
    expect(r.input.speaking).toBe(true);
    // Pre-roll at the STT rate: PREROLL_MS of audio from just before the onset.
    expect(r.preroll).toBe((8000 * PREROLL_MS) / 1000);
    await r.feed(19, false);
    expect(r.input.speaking).toBe(true);
    await r.feed(1, false);
    expect(r.input.speaking).toBe(false);
    // Onset at 500, last voiced frame processed at 680, endpoint after 20 silent frames (400 ms).
    expect(r.log).toEqual(['start@500', 'end 680→1080']);
    // Every frame from onset to endpoint went to STT, resampled to 8 kHz.
    expect(r.captured).toBe(30 * 160);
  });

  it('cuts an utterance that never pauses at MAX_UTTERANCE_MS', async () => {
    const r = rig();
    await r.feed(MAX_UTTERANCE_MS / 20 + 5, true);
    expect(r.log[0]).toBe('start@0');
    expect(r.log[1]).toMatch(/^end /);
  });
});
