import { describe, expect } from 'vitest';
import type { SttPlugin, Transcript } from '../plugins/stt.js';
import { ProviderError } from '../plugins/errors.js';
import { encodeMockSpeech } from '../audio/mock-speech.js';
import { caseFor, useFixture, type Skips } from './common.js';

export interface SttFixture {
  plugin: SttPlugin;
  failing?: SttPlugin;
  /** Audio this recognizer hears as `text` (default: mock speech). */
  speak?: (text: string, sampleRate: number) => Int16Array;
  cleanup?: () => Promise<void>;
}

export function describeSttConformance(name: string, factory: () => Promise<SttFixture>, skips?: Skips): void {
  describe(`stt conformance: ${name}`, () => {
    let fx: SttFixture;
    const speak = (t: string, r: number): Int16Array => (fx.speak ?? encodeMockSpeech)(t, r);
    useFixture(factory, (f) => (fx = f));
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
      const rate = fx.plugin.capabilities.sampleRates[0];
      const got: Transcript[] = [];
      const errors: unknown[] = [];
      const s = fx.plugin.stream({ sampleRate: rate, language: 'en-US', onTranscript: (t) => got.push(t), onError: (e) => errors.push(e) });
      const audio = speak('hello world', rate);
      const f = rate / 50;
      for (let i = 0; i + f <= audio.length; i += f) s.push({ samples: audio.subarray(i, i + f), sampleRate: rate, timestampMs: (i / rate) * 1000 });
      s.endUtterance();
      await new Promise((r) => setTimeout(r, 50));
      s.close();
      expect(errors).toEqual([]);
      const finals = got.filter((t) => t.final);
      expect(finals.map((t) => t.text.toLowerCase()).join(' ')).toContain('hello world');
      if (fx.plugin.capabilities.interimResults) expect(got.some((t) => !t.final)).toBe(true);
    });

    test('failures are ProviderErrors with a boolean retryable', async () => {
      if (!fx.failing) return expect(fx.failing).toBeUndefined();
      const rate = fx.failing.capabilities.sampleRates[0];
      const err = await fx.failing.recognize({ audio: speak('x', rate), sampleRate: rate, language: 'en-US' }).catch((e) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(typeof err.retryable).toBe('boolean');
    });
  });
}
