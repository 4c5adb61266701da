import { describe, expect, it } from 'vitest';
import { sleepOn, type Clock, type TimerHandle } from '../../core/time/clock.js';
import { MockLlm, MockStt, MockTts, encodeMockSpeech, type MockSttOptions } from '../../plugins/mock/index.js';
import type { Transcript } from '../../core/plugins/stt.js';

/** Timers fire only when the test advances time, so each modelled delay is observable exactly. */
class StepClock implements Clock {
  private t = 0;
  private timers: { at: number; fn: () => void; h: TimerHandle }[] = [];
  readonly virtual = true;
  now = (): number => this.t;
  wallNow = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): TimerHandle => {
    const h = { __timer: Symbol('t') };
    this.timers.push({ at: this.t + ms, fn, h });
    return h;
  };
  clearTimeout = (h: TimerHandle | undefined): void => {
    this.timers = this.timers.filter((x) => x.h !== h);
  };
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => sleepOn(this, ms, signal);

  /** Moves time forward by ms, firing due timers in order and letting promise chains settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = end;
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

function streamOf(opts: MockSttOptions, clock: Clock) {
  const got: Transcript[] = [];
  const stt = new MockStt(opts, { clock });
  const s = stt.stream({ sampleRate: 8000, language: 'en-US', onTranscript: (t) => got.push(t), onError: (e) => { throw e; } });
  const audio = encodeMockSpeech('hi there', 8000);
  for (let i = 0; i < audio.length; i += 160) s.push({ samples: audio.subarray(i, i + 160), sampleRate: 8000, timestampMs: i / 8 });
  // Trailing silence: the decoder closes the end marker on the first gap block.
  s.push({ samples: new Int16Array(320), sampleRate: 8000, timestampMs: 0 });
  return { got, s };
}

describe('mock provider delays (on the injected clock)', () => {
  it('streaming STT delivers the final latencyMs after the audio that completed it; interims are not delayed', async () => {
    const clock = new StepClock();
    const { got } = streamOf({ latencyMs: 200 }, clock);
    expect(got.some((t) => !t.final)).toBe(true);
    expect(got.filter((t) => t.final)).toEqual([]);
    await clock.advance(199);
    expect(got.filter((t) => t.final)).toEqual([]);
    await clock.advance(1);
    expect(got.filter((t) => t.final).map((t) => t.text)).toEqual(['hi there']);
  });

  it('streaming STT without latencyMs answers at once, and close() drops a final still waiting', async () => {
    const clock = new StepClock();
    expect(streamOf({}, clock).got.filter((t) => t.final).map((t) => t.text)).toEqual(['hi there']);
    const { got, s } = streamOf({ latencyMs: 200 }, clock);
    s.close();
    await clock.advance(500);
    expect(got.filter((t) => t.final)).toEqual([]);
  });

  it('batch STT answers latencyMs after the request', async () => {
    const clock = new StepClock();
    const stt = new MockStt({ latencyMs: 200 }, { clock });
    let text: string | undefined;
    void stt.recognize({ audio: encodeMockSpeech('ok', 8000), sampleRate: 8000, language: 'en-US' }).then((t) => (text = t.text));
    await clock.advance(199);
    expect(text).toBeUndefined();
    await clock.advance(1);
    expect(text).toBe('ok');
  });

  it('LLM: first token after latencyMs, later tokens tokenDelayMs apart', async () => {
    const clock = new StepClock();
    const llm = new MockLlm({ latencyMs: 350, tokenDelayMs: 20, script: [{ reply: 'one two three' }] }, { clock });
    const at: [number, string][] = [];
    const run = (async () => {
      for await (const ev of llm.chat({ messages: [{ role: 'user', content: 'x' }] })) if (ev.type === 'text') at.push([clock.now(), ev.text]);
    })();
    await clock.advance(1000);
    await run;
    expect(at).toEqual([
      [350, 'one '],
      [370, 'two '],
      [390, 'three'],
    ]);
  });

  it('TTS: first chunk after latencyMs, then chunkMs × rtf apart', async () => {
    const clock = new StepClock();
    const tts = new MockTts({ latencyMs: 150, chunkMs: 100, rtf: 0.5 }, { clock });
    const at: number[] = [];
    const run = (async () => {
      for await (const _c of tts.synthesize({ text: 'hello', sampleRate: 8000, language: 'en-US' })) at.push(clock.now());
    })();
    await clock.advance(2000);
    await run;
    // "hello": 12 symbols × 60 ms = 720 ms of audio = 8 chunks of 100 ms.
    expect(at).toEqual([150, 200, 250, 300, 350, 400, 450, 500]);
  });
});
