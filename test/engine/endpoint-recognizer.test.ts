import { describe, expect, it } from 'vitest';
import { StreamingRecognizer, countWords } from '../../core/engine/recognizer.js';
import { SttPlugin, type SttCapabilities, type SttStream, type SttStreamOptions, type Transcript } from '../../core/plugins/stt.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';

class DrivenStt extends SttPlugin {
  readonly capabilities: SttCapabilities = { streaming: true, interimResults: true, sampleRates: [16000] };
  opts: SttStreamOptions | undefined;
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
    return { push: () => {}, endUtterance: () => {}, close: () => {} };
  }
}

describe('interims: the running utterance\'s words so far', () => {
  it('joins the provider\'s finals of the utterance with its current interim; a provider final is reported with final: true', () => {
    const clock = new VirtualClock({ auto: false });
    const stt = new DrivenStt();
    const got: string[] = [];
    const r = new StreamingRecognizer({
      stt,
      sampleRate: 16000,
      language: 'en',
      callId: 'c',
      clock,
      signal: new AbortController().signal,
      sink: { interim: (seq, t) => got.push(`${seq}${t.final ? '=' : '~'}${t.text}`), final: (seq, text) => got.push(`${seq}:${text}`), error: () => {} },
    });
    const a = r.begin(new Int16Array(0));
    stt.emit({ text: 'my number', final: false });
    stt.emit({ text: 'my number is 555', final: true });
    stt.emit({ text: '867', final: false });
    stt.emit({ text: '867 5309', final: true });
    r.end(a, { discard: false });
    // The next utterance starts from nothing.
    const b = r.begin(new Int16Array(0));
    stt.emit({ text: 'thanks', final: false });
    expect(got).toEqual(['1~my number', '1=my number is 555', '1~my number is 555 867', '1=my number is 555 867 5309', '1:my number is 555 867 5309', `${b}~thanks`]);
    clock.dispose();
  });

  it('countWords counts what the barge-in policy needs', () => {
    expect(countWords('')).toBe(0);
    expect(countWords('  mhm ')).toBe(1);
    expect(countWords('wait, stop  that')).toBe(3);
  });
});
