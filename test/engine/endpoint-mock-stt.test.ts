import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import { MockStt, encodeMockSpeech, type MockSttOptions } from '../../plugins/mock/index.js';

/** Streams "hi there" frame by frame on a virtual clock; every transcript with its arrival time. */
async function timeline(opts: MockSttOptions): Promise<{ at: number; text: string; final: boolean }[]> {
  const clock = new VirtualClock({ auto: false });
  const got: { at: number; text: string; final: boolean }[] = [];
  const s = new MockStt(opts, { clock }).stream({ sampleRate: 8000, language: 'en-US', onTranscript: (t) => got.push({ at: clock.now(), text: t.text, final: t.final }), onError: (e) => { throw e; } });
  const audio = encodeMockSpeech('hi there', 8000);
  for (let i = 0; i < audio.length + 1600; i += 160) {
    s.push({ samples: i < audio.length ? audio.subarray(i, i + 160) : new Int16Array(160), sampleRate: 8000, timestampMs: i / 8 });
    await clock.advance(20);
  }
  await clock.advance(1000);
  s.close();
  clock.dispose();
  return got;
}

describe('mock STT timing model', () => {
  it('interims arrive interimDelayMs behind the audio, the final latencyMs after it (a streaming provider)', async () => {
    const now = await timeline({});
    const late = await timeline({ interimDelayMs: 100, latencyMs: 200 });
    const interims = (x: typeof now) => x.filter((t) => !t.final);
    expect(interims(now).length).toBeGreaterThan(3);
    expect(interims(late).map((t) => t.text)).toEqual(interims(now).map((t) => t.text));
    expect(interims(late).map((t) => t.at)).toEqual(interims(now).map((t) => t.at + 100));
    const fin = (x: typeof now) => x.filter((t) => t.final);
    expect(fin(late).map((t) => t.text)).toEqual(['hi there']);
    expect(fin(late)[0].at).toBe(fin(now)[0].at + 200);
  });

  it('an interim that would land after its final is dropped', async () => {
    const got = await timeline({ interimDelayMs: 400, latencyMs: 0 });
    const finalAt = got.findIndex((t) => t.final);
    expect(finalAt).toBeGreaterThanOrEqual(0);
    expect(got.slice(finalAt + 1)).toEqual([]);
  });
});
