import { describe, expect } from 'vitest';
import type { VadEvent, VadPlugin } from '../plugins/vad.js';
import { encodeMockSpeech } from '../audio/mock-speech.js';
import { caseFor, type Skips } from './common.js';

function frames(audio: Int16Array, rate: number, cb: (f: { samples: Int16Array; sampleRate: number; timestampMs: number }) => void): void {
  const n = rate / 50;
  for (let i = 0; i + n <= audio.length; i += n) cb({ samples: audio.subarray(i, i + n), sampleRate: rate, timestampMs: (i / rate) * 1000 });
}

export function describeVadConformance(name: string, factory: () => VadPlugin, skips?: Skips): void {
  describe(`vad conformance: ${name}`, () => {
    const test = caseFor(skips);
    test('declares sample rates', () => {
      expect(factory().capabilities.sampleRates.length).toBeGreaterThan(0);
    });
    test('reports speech-start then speech-end around an utterance, at each rate', () => {
      const vad = factory();
      for (const rate of vad.capabilities.sampleRates) {
        const d = vad.createDetector({ sampleRate: rate });
        const audio = new Int16Array(rate * 3);
        // Quiet line noise, then 1+ s of speech, then silence.
        for (let i = 0; i < audio.length; i++) audio[i] = Math.round((Math.sin(i * 12.9898) * 43758.5453) % 1 * 30);
        const speech = encodeMockSpeech('speech here', rate);
        audio.set(speech, rate / 2);
        const events: [VadEvent, number][] = [];
        frames(audio, rate, (f) => {
          const e = d.process(f);
          if (e !== 'none') events.push([e, f.timestampMs]);
        });
        expect(events.map((e) => e[0])).toEqual(['speech-start', 'speech-end']);
        expect(events[0][1]).toBeGreaterThanOrEqual(480);
        expect(events[0][1]).toBeLessThan(700);
        expect(events[1][1]).toBeGreaterThan(500 + (speech.length / rate) * 1000 - 100);
      }
    });
    test('ignores a low steady noise', () => {
      const vad = factory();
      const d = vad.createDetector({ sampleRate: 8000 });
      const audio = new Int16Array(8000 * 2);
      for (let i = 0; i < audio.length; i++) audio[i] = Math.round(60 * Math.sin(i * 0.3));
      let events = 0;
      frames(audio, 8000, (f) => {
        if (d.process(f) !== 'none') events++;
      });
      expect(events).toBe(0);
    });
  });
}
