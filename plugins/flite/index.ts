import { resample } from '../../core/plugin-api.js';
import { splitSentences } from '../../core/plugin-api.js';
import { VoicebotError } from '../../core/plugin-api.js';
import type { Logger, PluginContext } from '../../core/plugin-api.js';
import { ProviderError, asProviderError } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import { holdWhile, type Clock } from '../../core/plugin-api.js';
import { TtsPlugin, type SynthesizeRequest, type TtsCapabilities, type TtsChunk } from '../../core/plugin-api.js';
import { FLITE_VOICES, FliteEngine, isFliteVoice, sharedFliteEngine, type FliteResult, type FliteVoice } from './engine.js';

export { FLITE_VOICES, FliteEngine, sharedFliteEngine, type FliteVoice } from './engine.js';

export interface FliteOptions {
  /** slt (default, female US), kal16 (male US), rms (male US), awb (male Scottish), kal (male US, 8 kHz). */
  voice?: FliteVoice;
  /** Speaking rate: 1 normal, 1.2 a little faster, 0.8 slower (0.5–2). */
  speed?: number;
  /** Mean pitch in Hz (Flite int_f0_target_mean); the voice's own when unset. */
  pitch?: number;
  /** ms of audio per streamed chunk (default 100). */
  chunkMs?: number;
}

/**
 * Offline TTS: Flite compiled to WebAssembly, run under node:wasi in worker
 * threads. Each sentence is synthesized as a whole (≈50–250 ms) and streamed
 * out in chunks while the next sentence is already being synthesized.
 */
export class FliteTts extends TtsPlugin {
  readonly capabilities: TtsCapabilities;
  readonly voice: FliteVoice;
  private readonly speed: number;
  private readonly pitch: number | undefined;
  private readonly chunkMs: number;
  private readonly engine: FliteEngine;
  private readonly logger: Logger | undefined;
  private readonly clock: Clock | undefined;
  private acquired = false;
  private warnedVoices = new Set<string>();

  constructor(options: FliteOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'flite', engine?: FliteEngine) {
    super(provider);
    const voice = options.voice ?? 'slt';
    if (!isFliteVoice(voice)) throw new VoicebotError('VB_ERR_FLITE_VOICE', { voice, voices: Object.keys(FLITE_VOICES).join(', ') });
    this.voice = voice;
    this.speed = options.speed ?? 1;
    this.pitch = options.pitch;
    this.chunkMs = options.chunkMs ?? 100;
    this.engine = engine ?? sharedFliteEngine();
    this.logger = ctx.logger;
    this.clock = ctx.clock;
    this.capabilities = { streaming: true, sampleRates: [FLITE_VOICES[voice]], wordTimings: false };
  }

  /** Compiles the WASM module at boot so the first call does not pay for it. */
  protected override async _start(): Promise<void> {
    if (!this.acquired) {
      this.acquired = true;
      this.engine.acquire();
    }
    await this.engine.load().catch((e) => {
      throw this.providerError(e);
    });
  }

  protected override async _stop(): Promise<void> {
    if (!this.acquired) return;
    this.acquired = false;
    await this.engine.release();
  }

  protected async *_synthesize(req: SynthesizeRequest): AsyncIterable<TtsChunk> {
    const voice = this.voiceFor(req.voice);
    const pieces = splitSentences(req.text);
    if (pieces.length === 0 || req.signal?.aborted) return;
    const features = this.pitch !== undefined ? { int_f0_target_mean: this.pitch } : undefined;
    const run = (text: string): Promise<FliteResult> => {
      // Synthesis runs in a worker thread: a virtual clock waits for it (it takes no call time).
      const p = holdWhile(this.clock, this.engine.synthesize({ voice, text, speed: this.speed, features }, req.signal));
      p.catch(() => {}); // awaited below; a prefetched piece may be abandoned on abort
      return p;
    };
    let next: Promise<FliteResult> | undefined = run(pieces[0]);
    for (let i = 0; i < pieces.length; i++) {
      let r: FliteResult;
      try {
        r = await next!;
      } catch (e) {
        if (req.signal?.aborted || (e instanceof VoicebotError && e.code === 'VB_ERR_CANCELLED')) return;
        throw this.providerError(e);
      }
      // Synthesize the next sentence while this one streams out.
      next = i + 1 < pieces.length ? run(pieces[i + 1]) : undefined;
      const samples = r.sampleRate === req.sampleRate ? r.samples : resample(r.samples, r.sampleRate, req.sampleRate);
      const step = Math.max(1, Math.round((req.sampleRate * this.chunkMs) / 1000));
      for (let o = 0; o < samples.length; o += step) {
        if (req.signal?.aborted) return;
        yield { samples: samples.slice(o, o + step), sampleRate: req.sampleRate };
      }
    }
  }

  /** A per-request voice (from the flow) when it is a Flite voice; others belong to other providers. */
  private voiceFor(requested: string | undefined): FliteVoice {
    if (requested === undefined || requested === this.voice) return this.voice;
    if (isFliteVoice(requested)) return requested;
    if (!this.warnedVoices.has(requested)) {
      this.warnedVoices.add(requested);
      this.logger?.warn({ voice: requested }, `flite has no voice "${requested}"; using ${this.voice}`);
    }
    return this.voice;
  }

  private providerError(e: unknown): ProviderError {
    return asProviderError(e, 'tts', this.provider);
  }
}

export const flitePlugin = definePlugin<'tts', FliteOptions>({
  slot: 'tts',
  name: 'flite',
  virtualTime: true,
  description: 'Offline TTS: Flite in WebAssembly (voices slt, kal16, rms, awb at 16 kHz; kal at 8 kHz)',
  optionsSchema: {
    type: 'object',
    properties: {
      voice: { enum: Object.keys(FLITE_VOICES), description: 'slt (default), kal16, rms, awb: 16 kHz; kal: 8 kHz' },
      speed: { type: 'number', minimum: 0.5, maximum: 2, description: 'speaking rate, 1 = normal' },
      pitch: { type: 'number', minimum: 40, maximum: 400, description: 'mean pitch in Hz (default: the voice’s own)' },
      chunkMs: { type: 'integer', minimum: 10, maximum: 1000, description: 'ms of audio per streamed chunk (default 100)' },
    },
    additionalProperties: false,
  },
  sampleRates: (options) => [FLITE_VOICES[options.voice ?? 'slt']],
  create: (options, ctx) => new FliteTts(options, ctx),
});

export default flitePlugin;
