import { describe, expect } from 'vitest';
import type { TtsPlugin } from '../plugins/tts.js';
import { ProviderError } from '../plugins/errors.js';
import { rms } from '../audio/mix.js';
import { caseFor, useFixture, collect, type Skips } from './common.js';

export interface TtsFixture {
  plugin: TtsPlugin;
  /** A plugin configured to fail (for the error-shape test). */
  failing?: TtsPlugin;
  cleanup?: () => Promise<void>;
}

export function describeTtsConformance(name: string, factory: () => Promise<TtsFixture>, skips?: Skips): void {
  describe(`tts conformance: ${name}`, () => {
    let fx: TtsFixture;
    useFixture(factory, (f) => (fx = f));
    const test = caseFor(skips);

    test('declares capabilities', () => {
      const c = fx.plugin.capabilities;
      expect(typeof c.streaming).toBe('boolean');
      expect(typeof c.wordTimings).toBe('boolean');
      expect(c.sampleRates.length).toBeGreaterThan(0);
      expect(fx.plugin.slot).toBe('tts');
    });

    test('yields non-silent PCM16 at each declared rate and reports ttfb', async () => {
      for (const rate of fx.plugin.capabilities.sampleRates) {
        const metrics: string[] = [];
        fx.plugin.setMetricSink((m) => metrics.push(m.name));
        const chunks = await collect(fx.plugin.synthesize({ text: 'Hello there.', sampleRate: rate, language: 'en-US' }));
        fx.plugin.setMetricSink(undefined);
        expect(chunks.length).toBeGreaterThan(0);
        let n = 0;
        for (const c of chunks) {
          expect(c.samples).toBeInstanceOf(Int16Array);
          expect(c.sampleRate).toBe(rate);
          n += c.samples.length;
        }
        const all = new Int16Array(n);
        let o = 0;
        for (const c of chunks) {
          all.set(c.samples, o);
          o += c.samples.length;
        }
        expect(n / rate).toBeGreaterThan(0.2); // "Hello there." lasts more than 200 ms
        expect(rms(all)).toBeGreaterThan(100);
        expect(metrics).toContain('ttfb');
      }
    });

    test('stops promptly when aborted', async () => {
      const ac = new AbortController();
      const rate = fx.plugin.capabilities.sampleRates[0];
      const long = 'This sentence is long enough to need many chunks of audio to be streamed. '.repeat(4);
      let chunks = 0;
      for await (const _ of fx.plugin.synthesize({ text: long, sampleRate: rate, language: 'en-US', signal: ac.signal })) {
        chunks++;
        ac.abort();
      }
      expect(chunks).toBeLessThanOrEqual(2);
    });

    test('failures are ProviderErrors with a boolean retryable', async () => {
      if (!fx.failing) return expect(fx.failing).toBeUndefined();
      let err: unknown;
      try {
        await collect(fx.failing.synthesize({ text: 'x', sampleRate: fx.failing.capabilities.sampleRates[0], language: 'en-US' }));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProviderError);
      expect(typeof (err as ProviderError).retryable).toBe('boolean');
      expect((err as ProviderError).code).toMatch(/^VB_ERR_/);
    });
  });
}
