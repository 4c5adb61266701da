import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { SttPlugin, SttStream, Transcript } from '../plugins/stt.js';
import { ProviderError } from '../plugins/errors.js';
import { encodeMockSpeech } from '../audio/mock-speech.js';
import { caseFor, type Skips } from './common.js';

export interface SttFixture {
  plugin: SttPlugin;
  failing?: SttPlugin;
  /** Audio this recognizer hears as `text` (default: mock speech). */
  speak?: (text: string, sampleRate: number) => Int16Array;
  cleanup?: () => Promise<void>;
}

/** 20 ms frames, as the engine pushes them. */
function pushAudio(s: SttStream, audio: Int16Array, rate: number): void {
  const f = rate / 50;
  for (let i = 0; i + f <= audio.length; i += f) s.push({ samples: audio.subarray(i, i + f), sampleRate: rate, timestampMs: (i / rate) * 1000 });
}

/** Waits (real time: streaming providers answer over sockets) until cond holds, at most 5 s. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

export function describeSttConformance(name: string, factory: () => Promise<SttFixture>, skips?: Skips): void {
  describe(`stt conformance: ${name}`, () => {
    let fx: SttFixture;
    const speak = (t: string, r: number): Int16Array => (fx.speak ?? encodeMockSpeech)(t, r);
    beforeAll(async () => {
      fx = await factory();
      await fx.plugin.start();
    });
    afterAll(async () => {
      await fx?.plugin.stop();
      await fx?.cleanup?.();
    });
    const test = caseFor(skips);

    test('declares capabilities', () => {
      const c = fx.plugin.capabilities;
      expect(typeof c.streaming).toBe('boolean');
      expect(typeof c.interimResults).toBe('boolean');
      expect(c.sampleRates.length).toBeGreaterThan(0);
    });

    test('recognizes one utterance at each declared rate and reports latency', async () => {
      for (const rate of fx.plugin.capabilities.sampleRates) {
        const metrics: string[] = [];
        fx.plugin.setMetricSink((m) => metrics.push(m.name));
        const audio = new Int16Array(speak('book a table', rate).length + rate / 2);
        audio.set(speak('book a table', rate), rate / 10);
        const t = await fx.plugin.recognize({ audio, sampleRate: rate, language: 'en-US' });
        fx.plugin.setMetricSink(undefined);
        expect(t.final).toBe(true);
        expect(t.text.toLowerCase()).toContain('book a table');
        expect(metrics).toContain('latency');
      }
    });

    test('streams with a final transcript after endUtterance when it declares streaming', async () => {
      if (!fx.plugin.capabilities.streaming) {
        expect(() => fx.plugin.stream({ sampleRate: 16000, language: 'en-US', onTranscript: () => {}, onError: () => {} })).toThrow();
        return;
      }
      for (const rate of fx.plugin.capabilities.sampleRates) {
        const got: Transcript[] = [];
        const errors: unknown[] = [];
        const s = fx.plugin.stream({ sampleRate: rate, language: 'en-US', onTranscript: (t) => got.push(t), onError: (e) => errors.push(e) });
        pushAudio(s, speak('hello world', rate), rate);
        s.endUtterance();
        await until(() => got.some((t) => t.final) || errors.length > 0);
        s.close();
        expect(errors).toEqual([]);
        const finals = got.filter((t) => t.final);
        expect(finals.map((t) => t.text.toLowerCase()).join(' '), `at ${rate} Hz`).toContain('hello world');
        if (fx.plugin.capabilities.interimResults) {
          // Interim text arrives before the final, and is text of the utterance.
          const firstInterim = got.findIndex((t) => !t.final);
          expect(firstInterim, `interim at ${rate} Hz`).toBeGreaterThanOrEqual(0);
          expect(firstInterim).toBeLessThan(got.findIndex((t) => t.final));
          expect('hello world').toContain(got[firstInterim].text.toLowerCase().trim());
        }
      }
    });

    test('a streaming recognizer gives each utterance of a call its own final, an empty one for no audio, and is silent after close()', async () => {
      if (!fx.plugin.capabilities.streaming) return expect(fx.plugin.capabilities.interimResults).toBe(false);
      const rate = fx.plugin.capabilities.sampleRates[0];
      const got: Transcript[] = [];
      const errors: unknown[] = [];
      const s = fx.plugin.stream({ sampleRate: rate, language: 'en-US', onTranscript: (t) => got.push(t), onError: (e) => errors.push(e) });
      const finals = (): Transcript[] => got.filter((t) => t.final);
      pushAudio(s, speak('yes', rate), rate);
      s.endUtterance();
      await until(() => finals().length >= 1 || errors.length > 0);
      pushAudio(s, speak('no thanks', rate), rate);
      s.endUtterance();
      await until(() => finals().length >= 2 || errors.length > 0);
      // The engine's endpoint can fire with nothing pushed (noise that ended at once): no text, no error (an empty final is welcome).
      s.endUtterance();
      await until(() => finals().length >= 3 || errors.length > 0, 300);
      expect(errors).toEqual([]);
      const texts = finals().map((t) => t.text.toLowerCase().replace(/[.!?,]/g, '').trim());
      expect(texts.slice(0, 2)).toEqual(['yes', 'no thanks']);
      expect(texts.slice(2).every((t) => t === '')).toBe(true);
      s.close();
      const n = got.length;
      pushAudio(s, speak('ignored', rate), rate);
      s.endUtterance();
      await new Promise((r) => setTimeout(r, 100));
      expect(got.length).toBe(n);
      expect(errors).toEqual([]);
    }, 20_000);

    test('failures are ProviderErrors with a boolean retryable', async () => {
      if (!fx.failing) return expect(fx.failing).toBeUndefined();
      const rate = fx.failing.capabilities.sampleRates[0];
      const err = await fx.failing.recognize({ audio: speak('x', rate), sampleRate: rate, language: 'en-US' }).catch((e) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(typeof err.retryable).toBe('boolean');
      if (!fx.failing.capabilities.streaming) return;
      // A streaming failure reaches onError once, as the same kind of error.
      const errors: unknown[] = [];
      const s = fx.failing.stream({ sampleRate: rate, language: 'en-US', onTranscript: () => {}, onError: (e) => errors.push(e) });
      pushAudio(s, speak('hello', rate), rate);
      s.endUtterance();
      await until(() => errors.length > 0);
      s.close();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(ProviderError);
      expect(typeof (errors[0] as ProviderError).retryable).toBe('boolean');
    });
  });
}
