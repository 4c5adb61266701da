import { describe, expect, it } from 'vitest';
import { BatchRecognizer, StreamingRecognizer, type RecognizerSink } from '../../core/engine/recognizer.js';
import { SttPlugin, type RecognizeRequest, type SttCapabilities, type SttStream, type SttStreamOptions, type Transcript } from '../../core/plugins/stt.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';

/** A streaming STT the test drives: `emit` sends a transcript, `ended` counts endUtterance() calls. */
class DrivenStt extends SttPlugin {
  readonly capabilities: SttCapabilities = { streaming: true, interimResults: true, sampleRates: [16000] };
  opts: SttStreamOptions | undefined;
  ended = 0;
  pushed = 0;
  constructor() {
    super('driven');
  }
  emit(t: Transcript): void {
    this.opts!.onTranscript(t);
  }
  protected async _recognize(): Promise<Transcript> {
    throw new Error('streaming only');
  }
  protected override _stream(opts: SttStreamOptions): SttStream {
    this.opts = opts;
    return { push: () => void this.pushed++, endUtterance: () => void this.ended++, close: () => {} };
  }
}

function sink() {
  const got: string[] = [];
  const s: RecognizerSink = {
    interim: (seq, t) => got.push(`${seq}~${t.text}`),
    final: (seq, text) => got.push(`${seq}:${text}`),
    error: (e) => got.push(`error ${(e as Error).message}`),
  };
  return { got, s };
}

const frame = { samples: new Int16Array(320), sampleRate: 16000, timestampMs: 0 };

describe('StreamingRecognizer', () => {
  it('reports interims, waits after end() for the final, and gives it to the utterance that waited', async () => {
    const clock = new VirtualClock({ auto: false });
    const stt = new DrivenStt();
    const { got, s } = sink();
    const r = new StreamingRecognizer({ stt, sampleRate: 16000, language: 'en', callId: 'c', clock, sink: s, signal: new AbortController().signal });
    const a = r.begin(new Int16Array(160));
    r.push(frame);
    expect(stt.pushed).toBe(2); // pre-roll, then the frame
    stt.emit({ text: 'hel', final: false, stability: 0.3 });
    r.end(a, { discard: false });
    expect(stt.ended).toBe(1);
    await clock.advance(100);
    stt.emit({ text: 'hello', final: true });
    expect(got).toEqual(['1~hel', '1:hello']);
  });

  it('gives up waiting after the final timeout with what it has', async () => {
    const clock = new VirtualClock({ auto: false });
    const stt = new DrivenStt();
    const { got, s } = sink();
    const r = new StreamingRecognizer({ stt, sampleRate: 16000, language: 'en', callId: 'c', clock, sink: s, signal: new AbortController().signal, finalTimeoutMs: 500 });
    const a = r.begin(new Int16Array(0));
    r.end(a, { discard: false });
    await clock.advance(499);
    expect(got).toEqual([]);
    await clock.advance(1);
    expect(got).toEqual(['1:']);
  });

  it('a stream error is reported; the next utterance opens a new stream', () => {
    const clock = new VirtualClock({ auto: false });
    const stt = new DrivenStt();
    const { got, s } = sink();
    const r = new StreamingRecognizer({ stt, sampleRate: 16000, language: 'en', callId: 'c', clock, sink: s, signal: new AbortController().signal });
    r.begin(new Int16Array(0));
    const first = stt.opts!;
    first.onError(new Error('socket closed'));
    expect(got).toEqual(['error socket closed']);
    r.begin(new Int16Array(0));
    expect(stt.opts).not.toBe(first);
  });
});

/** A batch STT whose n-th request takes delays[n] ms and answers "u<n>". */
class TimedStt extends SttPlugin {
  readonly capabilities: SttCapabilities = { streaming: false, interimResults: false, sampleRates: [16000] };
  private n = 0;
  lengths: number[] = [];
  constructor(
    private readonly clock: VirtualClock,
    private readonly delays: number[],
  ) {
    super('timed');
  }
  protected async _recognize(req: RecognizeRequest): Promise<Transcript> {
    const i = this.n++;
    this.lengths.push(req.audio.length);
    await this.clock.sleep(this.delays[i]);
    return { text: `u${i + 1}`, final: true };
  }
}

describe('BatchRecognizer (batch STT in the streaming shape)', () => {
  it('recognizes each utterance whole (pre-roll included) and delivers finals in utterance order', async () => {
    const clock = new VirtualClock({ auto: false });
    const stt = new TimedStt(clock, [300, 10, 50]);
    const { got, s } = sink();
    const r = new BatchRecognizer({ stt, sampleRate: 16000, language: 'en', callId: 'c', clock, sink: s, signal: new AbortController().signal });
    for (let i = 0; i < 3; i++) {
      const seq = r.begin(new Int16Array(100));
      r.push(frame);
      r.end(seq, { discard: false });
    }
    expect(stt.lengths).toEqual([420, 420, 420]);
    await clock.advance(60);
    // u2 and u3 are done, but u1 is not: nothing is delivered out of order.
    expect(got).toEqual([]);
    await clock.advance(300);
    expect(got).toEqual(['1:u1', '2:u2', '3:u3']);
  });

  it('a discarded utterance is not sent to the provider and still gets its (empty) final in order', async () => {
    const clock = new VirtualClock({ auto: false });
    const stt = new TimedStt(clock, [100]);
    const { got, s } = sink();
    const r = new BatchRecognizer({ stt, sampleRate: 16000, language: 'en', callId: 'c', clock, sink: s, signal: new AbortController().signal });
    const a = r.begin(new Int16Array(0));
    r.end(a, { discard: false });
    const b = r.begin(new Int16Array(0));
    r.end(b, { discard: true });
    await clock.advance(100);
    expect(got).toEqual(['1:u1', '2:']);
    expect(stt.lengths).toHaveLength(1);
  });
});
