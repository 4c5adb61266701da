import { describe, expect, it } from 'vitest';
import { MockSpeechStream, encodeMockSpeech } from '../../plugins/mock/mock-speech.js';

describe('MockSpeechStream (typed text synthesized frame by frame)', () => {
  it.each([8000, 16000, 24000, 48000])('reads exactly what encodeMockSpeech produces at %i Hz, in any chunking', (rate) => {
    const text = 'Hi – ünïcode 42!';
    const whole = encodeMockSpeech(text, rate);
    const s = new MockSpeechStream(text, rate);
    expect(s.length).toBe(whole.length);
    const out = new Int16Array(whole.length);
    const chunk = new Int16Array(rate / 50 + 7); // not a symbol multiple
    let at = 0;
    for (let n = s.read(chunk); n > 0; n = s.read(chunk)) {
      out.set(chunk.subarray(0, n), at);
      at += n;
    }
    expect(at).toBe(whole.length);
    expect(s.remaining).toBe(0);
    expect(Buffer.from(out.buffer).equals(Buffer.from(whole.buffer))).toBe(true);
  });
});
