import type { PluginContext } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import { TtsPlugin, type SynthesizeRequest, type TtsCapabilities, type TtsChunk } from '../../core/plugin-api.js';
import { COMMON_SCHEMA_PROPS, ProtocolError, Requester, checkApiKey, createClient, type OpenAiCommonOptions } from './common.js';

export interface OpenAiTtsOptions extends OpenAiCommonOptions {
  /** alloy, ash, ballad, coral, echo, fable, onyx, nova, sage, shimmer, verse… (default alloy). */
  voice?: string;
  /** 0.25..4 (default 1). */
  speed?: number;
  /** How to speak (tone, pace, accent). gpt-4o-mini-tts only; tts-1 ignores it. */
  instructions?: string;
}

export const DEFAULT_TTS_MODEL = 'gpt-4o-mini-tts';
export const DEFAULT_VOICE = 'alloy';
/** `response_format: pcm` is 24 kHz 16-bit little-endian mono, headerless. */
export const TTS_RATE = 24000;
const ENDPOINT = '/audio/speech';

/** Reads a web stream chunk by chunk (also what the SDK returns as the response body). */
async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      if (r.value.byteLength) yield r.value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * PCM bytes as they arrive → Int16 samples. A chunk may end in the middle of
 * a sample; its odd byte is kept for the next chunk.
 */
export class PcmAssembler {
  private carry = -1;

  push(bytes: Uint8Array): Int16Array {
    if (bytes.byteLength === 0) return new Int16Array(0);
    const lead = this.carry >= 0 ? 1 : 0;
    const total = bytes.byteLength + lead;
    const n = total >> 1;
    const out = new Int16Array(n);
    const view = new Uint8Array(out.buffer);
    if (n > 0) {
      if (lead) {
        view[0] = this.carry;
        view.set(bytes.subarray(0, n * 2 - 1), 1);
      } else view.set(bytes.subarray(0, n * 2));
    }
    if (total & 1) this.carry = bytes[bytes.byteLength - 1];
    else this.carry = -1;
    if (!littleEndian) {
      const dv = new DataView(out.buffer);
      for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
    }
    return out;
  }

  /** A byte left over when the stream ended (a truncated sample). */
  get pending(): boolean {
    return this.carry >= 0;
  }
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * /audio/speech with `response_format: pcm`: audio is yielded chunk by chunk
 * as the HTTP body arrives, at 24 kHz (the engine resamples to the call).
 */
export class OpenAiTts extends TtsPlugin {
  readonly capabilities: TtsCapabilities = { streaming: true, sampleRates: [TTS_RATE], wordTimings: false };
  readonly model: string;
  private readonly req: Requester;
  private readonly voice: string;
  private readonly speed: number | undefined;
  private readonly instructions: string | undefined;

  constructor(opts: OpenAiTtsOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'openai') {
    super(provider);
    this.model = opts.model ?? DEFAULT_TTS_MODEL;
    this.req = new Requester(createClient('tts', opts, ctx.logger), { slot: 'tts', provider, model: this.model }, ctx.logger);
    this.voice = opts.voice ?? DEFAULT_VOICE;
    this.speed = opts.speed;
    this.instructions = opts.instructions;
  }

  protected async *_synthesize(req: SynthesizeRequest): AsyncIterable<TtsChunk> {
    const input = req.text.trim();
    if (!input || req.signal?.aborted) return;
    const body = {
      model: this.model,
      voice: req.voice ?? this.voice,
      input,
      response_format: 'pcm' as const,
      ...(this.speed !== undefined ? { speed: this.speed } : {}),
      ...(this.instructions ? { instructions: this.instructions } : {}),
    };
    const pcm = new PcmAssembler();
    const bytes = this.req.stream(ENDPOINT, req.signal, async (scope) => {
      const res = await this.req.client.audio.speech.create(body, { signal: scope.signal });
      const type = res.headers.get('content-type') ?? '';
      if (/json|text\/html|event-stream/i.test(type)) throw new ProtocolError(`expected PCM audio, got ${type}`);
      if (!res.body) throw new ProtocolError('the response has no body');
      return chunksOf(res.body);
    });
    for await (const b of bytes) {
      const samples = pcm.push(b);
      if (samples.length) yield { samples, sampleRate: TTS_RATE };
      if (req.signal?.aborted) return;
    }
  }
}

export const openaiTtsPlugin = definePlugin<'tts', OpenAiTtsOptions>({
  slot: 'tts',
  name: 'openai',
  description: 'OpenAI text-to-speech (gpt-4o-mini-tts, tts-1), streamed as 24 kHz PCM, or any OpenAI-compatible server',
  optionsSchema: {
    type: 'object',
    properties: {
      ...COMMON_SCHEMA_PROPS,
      voice: { type: 'string', minLength: 1, description: `voice name (default ${DEFAULT_VOICE})` },
      speed: { type: 'number', minimum: 0.25, maximum: 4, description: 'speaking rate (default 1)' },
      instructions: { type: 'string', description: 'how to speak: tone, pace, accent (gpt-4o-mini-tts)' },
    },
    additionalProperties: false,
  },
  sampleRates: [TTS_RATE],
  checkOptions: checkApiKey('tts'),
  create: (options, ctx) => new OpenAiTts(options, ctx),
});
