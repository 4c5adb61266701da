import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { decodeMockSpeech, encodeMockSpeech, MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import { mulawDecode, mulawEncode, alawDecode, alawEncode } from '../../core/audio/g711.js';
import { resample } from '../../core/audio/resampler.js';

const TEXTS = ['Hello there.', "I'd like sales, please: 1234!", 'Grüße — ok?'];
const RATES = [8000, 16000, 24000, 48000];

function withSilence(s: Int16Array, rate: number, leadMs = 130, tailMs = 200): Int16Array {
  const out = new Int16Array(s.length + ((leadMs + tailMs) * rate) / 1000);
  out.set(s, (leadMs * rate) / 1000);
  return out;
}

describe('mock speech', () => {
  for (const rate of RATES) {
    it(`round trips exactly at ${rate} Hz`, () => {
      for (const t of TEXTS) expect(decodeMockSpeech(withSilence(encodeMockSpeech(t, rate), rate), rate)).toBe(t);
    });
  }

  it('survives G.711 μ-law and A-law at 8 kHz', () => {
    for (const t of TEXTS) {
      const a = withSilence(encodeMockSpeech(t, 8000), 8000);
      expect(decodeMockSpeech(mulawDecode(mulawEncode(a)), 8000)).toBe(t);
      expect(decodeMockSpeech(alawDecode(alawEncode(a)), 8000)).toBe(t);
    }
  });

  it('survives every resampling pair and a ±6 dB gain change', () => {
    for (const from of RATES)
      for (const to of RATES) {
        if (from === to) continue;
        const a = resample(withSilence(encodeMockSpeech(TEXTS[1], from), from), from, to);
        expect(decodeMockSpeech(a, to)).toBe(TEXTS[1]);
      }
    for (const gain of [0.5, 1.9]) {
      const a = withSilence(encodeMockSpeech(TEXTS[0], 16000), 16000).map((x) => Math.max(-32768, Math.min(32767, Math.round(x * gain))));
      expect(decodeMockSpeech(a, 16000)).toBe(TEXTS[0]);
    }
  });

  it('survives Opus at 16 and 48 kHz', () => {
    const OpusScript = createRequire(import.meta.url)('opusscript');
    for (const rate of [16000, 48000]) {
      const enc = new OpusScript(rate, 1, OpusScript.Application.VOIP);
      enc.setBitrate(24000);
      const pcm = withSilence(encodeMockSpeech(TEXTS[0], rate), rate);
      const frame = rate / 50;
      const out: number[] = [];
      for (let i = 0; i + frame <= pcm.length; i += frame) {
        const packet = enc.encode(Buffer.from(pcm.buffer, pcm.byteOffset + i * 2, frame * 2), frame);
        const dec: Buffer = enc.decode(packet);
        const s = new Int16Array(dec.buffer, dec.byteOffset, dec.length / 2);
        out.push(...s);
      }
      enc.delete();
      expect(decodeMockSpeech(Int16Array.from(out), rate)).toBe(TEXTS[0]);
    }
  });

  it('decodes a stream split at arbitrary points, with interim text', () => {
    const a = withSilence(encodeMockSpeech('split me', 8000), 8000);
    const d = new MockSpeechDecoder(8000);
    const partials = new Set<string>();
    for (let i = 0; i < a.length; i += 37) {
      d.push(a.subarray(i, i + 37));
      if (d.partial) partials.add(d.partial);
    }
    expect(d.take()).toEqual(['split me']);
    expect(partials.has('split')).toBe(true);
  });
});
