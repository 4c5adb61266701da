import { describe, expect } from 'vitest';
import type { AudioFrame } from '../audio/frame.js';
import type { VadEvent, VadPlugin } from '../plugins/vad.js';
import { encodeMockSpeech } from '../audio/mock-speech.js';
import { caseFor, type Skips } from './common.js';

export interface VadFixture {
  /** Speech this VAD must hear (default: mock speech). A model-based VAD rightly ignores tones: give it real (Flite) speech. */
  speech?: (rate: number) => Int16Array;
  /** Awaited after every frame, standing for the 20 ms a live line leaves: asynchronous verdicts (silero) arrive. */
  settle?: (vad: VadPlugin) => Promise<void>;
}

async function frames(audio: Int16Array, rate: number, settle: (() => Promise<void>) | undefined, cb: (f: AudioFrame) => void): Promise<void> {
  const n = rate / 50;
  for (let i = 0; i + n <= audio.length; i += n) {
    cb({ samples: audio.subarray(i, i + n), sampleRate: rate, timestampMs: (i / rate) * 1000 });
    if (settle) await settle();
  }
}

export function describeVadConformance(name: string, factory: () => VadPlugin, skips?: Skips, fixture: () => Promise<VadFixture> = async () => ({})): void {
  describe(`vad conformance: ${name}`, () => {
    const test = caseFor(skips);
    const withVad = async (fn: (vad: VadPlugin, fx: VadFixture) => Promise<void>): Promise<void> => {
      const fx = await fixture();
      const vad = factory();
      await vad.start();
      try {
        await fn(vad, fx);
      } finally {
        await vad.stop();
      }
    };
    test('declares sample rates', () => {
      expect(factory().capabilities.sampleRates.length).toBeGreaterThan(0);
    });
    test('reports speech-start then speech-end around an utterance, at each rate', () =>
      withVad(async (vad, fx) => {
        for (const rate of vad.capabilities.sampleRates) {
          const d = vad.createDetector({ sampleRate: rate });
          const audio = new Int16Array(rate * 3);
          // Quiet line noise, then 1+ s of speech, then silence.
          for (let i = 0; i < audio.length; i++) audio[i] = Math.round((Math.sin(i * 12.9898) * 43758.5453) % 1 * 30);
          const speech = (fx.speech ?? ((r) => encodeMockSpeech('speech here', r)))(rate);
          audio.set(speech, rate / 2);
          const events: [VadEvent, number][] = [];
          await frames(audio, rate, fx.settle && (() => fx.settle!(vad)), (f) => {
            const e = d.process(f);
            if (e !== 'none') events.push([e, f.timestampMs]);
          });
          expect(events.map((e) => e[0]), `at ${rate} Hz`).toEqual(['speech-start', 'speech-end']);
          expect(events[0][1]).toBeGreaterThanOrEqual(480);
          expect(events[0][1]).toBeLessThan(700);
          expect(events[1][1]).toBeGreaterThan(500 + (speech.length / rate) * 1000 - 100);
        }
      }), 30_000);
    test('ignores a low steady noise', () =>
      withVad(async (vad, fx) => {
        const rate = vad.capabilities.sampleRates.includes(8000) ? 8000 : vad.capabilities.sampleRates[0];
        const d = vad.createDetector({ sampleRate: rate });
        const audio = new Int16Array(rate * 2);
        for (let i = 0; i < audio.length; i++) audio[i] = Math.round(60 * Math.sin(i * 0.3 * (8000 / rate)));
        let events = 0;
        await frames(audio, rate, fx.settle && (() => fx.settle!(vad)), (f) => {
          if (d.process(f) !== 'none') events++;
        });
        expect(events).toBe(0);
      }));
    test('reset() forgets an utterance in progress', () =>
      withVad(async (vad, fx) => {
        const rate = vad.capabilities.sampleRates[0];
        const d = vad.createDetector({ sampleRate: rate });
        const speech = (fx.speech ?? ((r) => encodeMockSpeech('speech here', r)))(rate);
        let started = false;
        await frames(speech.subarray(0, Math.min(speech.length, rate)), rate, fx.settle && (() => fx.settle!(vad)), (f) => {
          if (d.process(f) === 'speech-start') started = true;
        });
        expect(started).toBe(true);
        expect(d.speaking).toBe(true);
        d.reset();
        expect(d.speaking).toBe(false);
        // Silence after the reset: no speech-end for the utterance it forgot.
        let events = 0;
        await frames(new Int16Array(rate / 2), rate, fx.settle && (() => fx.settle!(vad)), (f) => {
          if (d.process(f) !== 'none') events++;
        });
        expect(events).toBe(0);
      }));
  });
}
