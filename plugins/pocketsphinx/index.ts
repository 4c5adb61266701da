import { availableParallelism } from 'node:os';
import { VoicebotError } from '../../core/plugin-api.js';
import { ProviderError, asProviderError } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import { holdWhile, type Clock, type PluginContext } from '../../core/plugin-api.js';
import { SttPlugin, type RecognizeRequest, type SttCapabilities, type Transcript } from '../../core/plugin-api.js';
import { DecoderPool, locate, type DecoderPaths } from './decoder.js';

export { DEFAULT_MODEL_DIR, locate } from './decoder.js';

export interface PocketSphinxOptions {
  /** Directory of the en-us model (default /usr/share/pocketsphinx/model/en-us from `pocketsphinx-en-us`). */
  modelDir?: string;
  /** Directory holding libpocketsphinx.so.3 and libsphinxbase.so.3 (default: the system library dirs). */
  libDir?: string;
  /** Decoder threads (each holds its own copy of the model, ≈105 MB RSS). Default 1 on a 2-core machine, else 2. */
  threads?: number;
  /** Utterances that may wait for a busy thread before a decode fails at once (retryable). Default 32. */
  maxQueue?: number;
  /** Use the listen step's route words (`equals`, plain regex words) to re-check short answers. Default true. */
  hints?: boolean;
  /** How much better (per 10 ms frame) the hint grammar must score to replace the free-speech text. Default 15. */
  hintMargin?: number;
}

/** The model's rate: 8 kHz telephone audio is resampled to it (and recognized worse). */
export const PS_RATE = 16000;
const MIN_AUDIO_MS = 100;
/** One core is the event loop's: 1 thread on 2 cores, 2 on more. */
const DEFAULT_THREADS = Math.max(1, Math.min(2, availableParallelism() - 1));

/**
 * Offline speech recognition with CMU PocketSphinx from Debian's packages:
 * one utterance (segmented by the engine's VAD) per decode, in worker
 * threads. Free speech is weak, short commands and menu words are fine.
 */
export class PocketSphinxStt extends SttPlugin {
  readonly capabilities: SttCapabilities = { streaming: false, interimResults: false, sampleRates: [PS_RATE] };
  private readonly paths: DecoderPaths;
  private readonly pool: DecoderPool;
  private readonly hints: boolean;
  private readonly clock: Clock | undefined;

  /** Throws VB_ERR_POCKETSPHINX_MISSING when the library or model is not installed. */
  constructor(opts: PocketSphinxOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'pocketsphinx') {
    super(provider);
    this.clock = ctx.clock;
    this.paths = locate(opts);
    this.hints = opts.hints ?? true;
    this.pool = new DecoderPool(this.paths, {
      threads: opts.threads ?? DEFAULT_THREADS,
      hintMargin: opts.hintMargin ?? 15,
      maxQueue: opts.maxQueue ?? 32,
    });
  }

  /** Threads running (0 before start and after stop). */
  get threads(): number {
    return this.pool.threads;
  }

  /** Loads the model at boot, so the first caller does not wait for it. */
  protected override async _start(): Promise<void> {
    await this.pool.start().catch((e) => {
      throw this.providerError(e);
    });
  }

  protected override async _stop(): Promise<void> {
    await this.pool.stop();
  }

  protected async _recognize(req: RecognizeRequest): Promise<Transcript> {
    if (req.sampleRate !== PS_RATE) {
      throw new ProviderError({ slot: 'stt', provider: this.provider, detail: `audio at ${req.sampleRate} Hz; PocketSphinx takes ${PS_RATE} Hz (the engine resamples)`, retryable: false });
    }
    if ((req.audio.length * 1000) / req.sampleRate < MIN_AUDIO_MS) return { text: '', final: true };
    try {
      // Decoding runs in a worker thread: a virtual clock waits for it (it takes no call time).
      const r = await holdWhile(this.clock, this.pool.decode(req.audio, this.hints ? req.hints : undefined, req.signal));
      this.emitMetric('decode', r.decodeMs, req.callId);
      return { text: r.text, final: true, language: 'en-US', ...(r.fromHints ? { confidence: 0.5 } : {}) };
    } catch (e) {
      if (req.signal?.aborted || (e instanceof VoicebotError && e.code === 'VB_ERR_CANCELLED')) return { text: '', final: true };
      throw this.providerError(e);
    }
  }

  private providerError(e: unknown): ProviderError {
    return asProviderError(e, 'stt', this.provider);
  }
}

export const pocketsphinxPlugin = definePlugin<'stt', PocketSphinxOptions>({
  slot: 'stt',
  name: 'pocketsphinx',
  virtualTime: true,
  description: 'Offline speech recognition with CMU PocketSphinx (apt-get install pocketsphinx pocketsphinx-en-us)',
  optionsSchema: {
    type: 'object',
    properties: {
      modelDir: { type: 'string', minLength: 1, description: 'en-us model directory (default /usr/share/pocketsphinx/model/en-us)' },
      libDir: { type: 'string', minLength: 1, description: 'directory of libpocketsphinx.so.3 and libsphinxbase.so.3' },
      threads: { type: 'integer', minimum: 1, maximum: 16, description: 'decoder threads, ≈105 MB each (default 1 on 2 cores, else 2)' },
      maxQueue: { type: 'integer', minimum: 0, description: 'utterances that may wait for a thread before a decode fails, retryable (default 32)' },
      hints: { type: 'boolean', description: "re-check short answers against the listen step's route words (default true)" },
      hintMargin: { type: 'number', minimum: 0, description: 'score margin per 10 ms frame for a hint to win (default 15)' },
    },
    additionalProperties: false,
  },
  sampleRates: [PS_RATE],
  // Reported by `voicebot validate` at the provider line, before any call rings.
  checkOptions: (options) => {
    try {
      locate(options);
      return [];
    } catch (e) {
      return [e as VoicebotError];
    }
  },
  create: (options, ctx) => new PocketSphinxStt(options, ctx),
});

export default pocketsphinxPlugin;
