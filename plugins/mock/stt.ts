import type { AudioFrame } from '../../core/plugin-api.js';
import { definePlugin, SAMPLE_RATES } from '../../core/plugin-api.js';
import {
  SttPlugin,
  type RecognizeRequest,
  type SttCapabilities,
  type SttStream,
  type SttStreamOptions,
  type Transcript,
} from '../../core/plugin-api.js';
import { MockSpeechDecoder, GAP_MS } from './mock-speech.js';
import { FAULT_SCHEMA_PROPS, Faults, type FaultOptions } from './faults.js';
import { realClock, type PluginContext, type Clock, type TimerHandle } from '../../core/plugin-api.js';

export interface MockSttOptions extends FaultOptions {
  /** Returned in order instead of decoding the audio (scripting). */
  transcripts?: string[];
  /** Streaming: each interim arrives this long after the audio that produced it (default 0: at once). */
  interimDelayMs?: number;
}

/**
 * Recognises mock speech exactly; streaming with interim text as characters
 * arrive. `latencyMs` models the provider's transcription delay on both paths:
 * batch answers that long after the request, streaming delivers each final
 * that long after the audio that completed it was pushed (or after
 * endUtterance() when only the flush completes it). `interimDelayMs` delays
 * each interim behind the audio the same way (a streaming provider's words
 * trail the speech); an interim that would land after its utterance's final
 * is dropped, as a provider's would be superseded. With both, a bench models
 * a streaming provider: words `interimDelayMs` behind, the final `latencyMs`
 * after the speech ended.
 */
export class MockStt extends SttPlugin {
  readonly capabilities: SttCapabilities = { streaming: true, interimResults: true, sampleRates: SAMPLE_RATES };
  private readonly faults: Faults;
  private readonly script: string[] | undefined;
  private readonly interimDelayMs: number;

  constructor(opts: MockSttOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'mock') {
    super(provider);
    const clock = ctx.clock ?? realClock;
    this.faults = new Faults('stt', opts, clock);
    this.script = opts.transcripts ? [...opts.transcripts] : undefined;
    this.interimDelayMs = opts.interimDelayMs ?? 0;
  }

  protected async _recognize(req: RecognizeRequest): Promise<Transcript> {
    await this.faults.delay(req.signal);
    this.faults.check();
    if (this.script) return { text: this.script.shift() ?? '', final: true };
    const d = new MockSpeechDecoder(req.sampleRate);
    d.push(req.audio);
    d.push(new Int16Array(Math.round((req.sampleRate * GAP_MS * 2) / 1000)));
    return { text: d.take().join(' '), final: true, confidence: 1 };
  }

  protected override _stream(opts: SttStreamOptions): SttStream {
    const decoder = new MockSpeechDecoder(opts.sampleRate);
    const faults = this.faults;
    const script = this.script;
    let lastPartial = '';
    let closed = false;
    const interimDelayMs = this.interimDelayMs;
    // Finals delivered so far: a delayed interim of an utterance already finalized is stale.
    let finalsOut = 0;
    let failed = false;
    const flush = new Int16Array(Math.round((opts.sampleRate * GAP_MS * 2) / 1000));
    const delayMs = faults.latencyMs;
    const clock = faults.clock;
    // Finals waiting out latencyMs, in order; cleared on close.
    const pending = new Set<TimerHandle>();
    const deliver = (text: string): void => {
      if (closed || failed) return;
      finalsOut++;
      try {
        faults.check();
      } catch (e) {
        failed = true;
        opts.onError(e);
        return;
      }
      opts.onTranscript({ text: script ? (script.shift() ?? '') : text, final: true, confidence: 1 });
    };
    const emitFinals = (): void => {
      for (const text of decoder.take()) {
        lastPartial = '';
        if (delayMs <= 0) {
          deliver(text);
          if (failed) return;
          continue;
        }
        const t = clock.setTimeout(() => {
          pending.delete(t);
          deliver(text);
        }, delayMs);
        pending.add(t);
      }
    };
    return {
      push(frame: AudioFrame): void {
        if (closed || failed) return;
        decoder.push(frame.samples);
        const p = decoder.partial;
        if (p && p !== lastPartial) {
          lastPartial = p;
          if (interimDelayMs <= 0) opts.onTranscript({ text: p, final: false });
          else {
            const gen = finalsOut;
            const t = clock.setTimeout(() => {
              pending.delete(t);
              if (!closed && !failed && gen === finalsOut) opts.onTranscript({ text: p, final: false });
            }, interimDelayMs);
            pending.add(t);
          }
        }
        emitFinals();
      },
      endUtterance(): void {
        if (closed || failed) return;
        decoder.push(flush);
        emitFinals();
      },
      close(): void {
        closed = true;
        for (const t of pending) clock.clearTimeout(t);
        pending.clear();
        decoder.reset();
      },
    };
  }
}

export const mockSttPlugin = definePlugin<'stt', MockSttOptions>({
  slot: 'stt',
  name: 'mock',
  virtualTime: true,
  description: 'Deterministic STT that decodes mock-speech audio exactly',
  optionsSchema: {
    type: 'object',
    properties: {
      ...FAULT_SCHEMA_PROPS,
      latencyMs: {
        type: 'number',
        minimum: 0,
        description: 'transcription delay, ms: batch answers this long after the request; streaming delivers each final this long after the audio that completed it',
      },
      interimDelayMs: { type: 'number', minimum: 0, description: 'streaming: each interim arrives this long after the audio that produced it (default 0)' },
      transcripts: { type: 'array', items: { type: 'string' } },
    },
    additionalProperties: false,
  },
  sampleRates: SAMPLE_RATES,
  create: (options, ctx) => new MockStt(options, ctx),
});
