import { definePlugin, SAMPLE_RATES } from '../../core/plugin-api.js';
import { TtsPlugin, type SynthesizeRequest, type TtsCapabilities, type TtsChunk } from '../../core/plugin-api.js';
import { encodeMockSpeech, mockSpeechDurationMs, mockSpeechOffsetMs } from './mock-speech.js';
import { FAULT_SCHEMA_PROPS, Faults, type FaultOptions } from './faults.js';
import { realClock, type PluginContext, type Clock } from '../../core/plugin-api.js';

export interface MockTtsOptions extends FaultOptions {
  /** Size of each streamed chunk, ms (default 100). */
  chunkMs?: number;
  /**
   * Real-time factor after the first chunk: each later chunk is produced
   * chunkMs × rtf after the one before (0.1 = ten times faster than real
   * time). Default 0: as fast as the event loop allows.
   */
  rtf?: number;
  /** Declare capabilities.inputStreaming (model an input-streaming TTS: the engine sends the first clause at once). Default false. */
  inputStreaming?: boolean;
}

/**
 * Speaks "mock speech": audio the mock STT decodes back to the exact text.
 * `latencyMs` is the time to the first chunk (first byte); `rtf` the
 * throughput after it.
 */
export class MockTts extends TtsPlugin {
  readonly capabilities: TtsCapabilities;
  private readonly faults: Faults;
  private readonly chunkMs: number;
  private readonly rtf: number;

  constructor(opts: MockTtsOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'mock') {
    super(provider);
    const clock = ctx.clock ?? realClock;
    this.faults = new Faults('tts', opts, clock);
    this.chunkMs = opts.chunkMs ?? 100;
    this.rtf = opts.rtf ?? 0;
    this.capabilities = { streaming: true, sampleRates: SAMPLE_RATES, wordTimings: true, inputStreaming: opts.inputStreaming ?? false };
  }

  protected async *_synthesize(req: SynthesizeRequest): AsyncIterable<TtsChunk> {
    await this.faults.delay(req.signal);
    if (req.signal?.aborted) return;
    this.faults.check();
    const audio = encodeMockSpeech(req.text, req.sampleRate);
    const words: { word: string; startMs: number; endMs: number }[] = [];
    for (const m of req.text.matchAll(/\S+/g)) {
      const start = mockSpeechOffsetMs(req.text, m.index);
      words.push({ word: m[0], startMs: start, endMs: mockSpeechOffsetMs(req.text, m.index + m[0].length) });
    }
    const step = (req.sampleRate * this.chunkMs) / 1000;
    for (let i = 0; i < audio.length; i += step) {
      if (req.signal?.aborted) return;
      const startMs = (i * 1000) / req.sampleRate;
      const endMs = startMs + this.chunkMs;
      yield {
        samples: audio.slice(i, i + step),
        sampleRate: req.sampleRate,
        words: words.filter((w) => w.startMs >= startMs && w.startMs < endMs),
      };
      if (this.rtf > 0) await this.faults.clock.sleep(this.chunkMs * this.rtf, req.signal);
      // Let other calls run between chunks, as a network stream would.
      else await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Total audio duration for `text` (tests use it to reason about truncation). */
  static durationMs(text: string): number {
    return mockSpeechDurationMs(text);
  }
}

export const mockTtsPlugin = definePlugin<'tts', MockTtsOptions>({
  slot: 'tts',
  name: 'mock',
  virtualTime: true,
  description: 'Deterministic TTS producing mock-speech audio (tests, benchmarks)',
  optionsSchema: {
    type: 'object',
    properties: {
      ...FAULT_SCHEMA_PROPS,
      latencyMs: { type: 'number', minimum: 0, description: 'time to the first audio chunk (first byte), ms' },
      chunkMs: { type: 'integer', minimum: 10, description: 'ms per streamed chunk' },
      rtf: { type: 'number', minimum: 0, description: 'real-time factor after the first chunk: each chunk takes chunkMs × rtf (default 0: no wait)' },
      inputStreaming: { type: 'boolean', description: 'declare an input-streaming TTS: the engine sends a reply\'s first clause at once (default false)' },
    },
    additionalProperties: false,
  },
  sampleRates: SAMPLE_RATES,
  create: (options, ctx) => new MockTts(options, ctx),
});
