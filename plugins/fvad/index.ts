import type { PluginContext } from '../../core/plugin-api.js';
import type { AudioFrame } from '../../core/plugin-api.js';
import { VoicebotError } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import { SpeechHysteresis } from '../../core/plugin-api.js';
import { VadPlugin, type VadCapabilities, type VadDetector, type VadDetectorOptions, type VadEvent } from '../../core/plugin-api.js';
import { FVAD_RATES, loadFvad, type FvadModule } from './wasm.js';

export { FVAD_RATES, loadFvad, type FvadModule } from './wasm.js';

export interface FvadOptions {
  /** 0 (least aggressive: most audio counts as speech) … 3 (most aggressive: rejects the most noise). Default 3. */
  mode?: 0 | 1 | 2 | 3;
  /** Length of the blocks libfvad classifies: 10, 20 or 30 ms. Default 20 (one per engine frame). */
  blockMs?: 10 | 20 | 30;
  /** Voiced time before speech-start (default 60). */
  minSpeechMs?: number;
  /** Unvoiced time before speech-end (default 200). */
  minSilenceMs?: number;
}

export type FvadDetectorOptions = Required<Omit<FvadOptions, 'mode'>> & { mode: number };

/** Frees the libfvad state of detectors nobody holds any more (the contract has no close()). */
const freeing = new FinalizationRegistry<{ m: FvadModule; handle: number; ptr: number }>(({ m, handle, ptr }) => {
  m._fvad_free(handle);
  m._free(ptr);
});

/**
 * One call's WebRTC VAD. Frames of any length are copied into a block buffer
 * inside the WASM heap and classified per block: no allocation, no promise
 * per frame. `probability` is the last block's raw verdict (0 or 1).
 */
export class FvadDetector implements VadDetector {
  probability = 0;
  private readonly gate: SpeechHysteresis;
  private readonly handle: number;
  /** Byte address of the block buffer in the WASM heap. */
  private readonly ptr: number;
  private readonly block: number;
  private filled = 0;
  private readonly blockMs: number;

  constructor(private readonly m: FvadModule, rate: number, o: FvadDetectorOptions) {
    this.handle = m._fvad_new();
    if (!this.handle) throw new VoicebotError('VB_ERR_FVAD_LOAD', { detail: 'fvad_new() returned NULL (out of WASM memory)' });
    if (m._fvad_set_sample_rate(this.handle, rate) !== 0 || m._fvad_set_mode(this.handle, o.mode) !== 0) {
      m._fvad_free(this.handle);
      throw new VoicebotError('VB_ERR_FVAD_LOAD', { detail: `libfvad rejected rate ${rate} Hz or mode ${o.mode}` });
    }
    this.block = (rate * o.blockMs) / 1000;
    this.blockMs = o.blockMs;
    this.ptr = m._malloc(this.block * 2);
    this.gate = new SpeechHysteresis(o);
    freeing.register(this, { m, handle: this.handle, ptr: this.ptr });
  }

  get speaking(): boolean {
    return this.gate.speaking;
  }

  process(frame: AudioFrame): VadEvent {
    const s = frame.samples;
    let ev: VadEvent = 'none';
    let i = 0;
    while (i < s.length) {
      const heap = this.m.HEAP16;
      const base = this.ptr >> 1;
      const n = Math.min(s.length - i, this.block - this.filled);
      const at = base + this.filled;
      for (let k = 0; k < n; k++) heap[at + k] = s[i + k];
      this.filled += n;
      i += n;
      if (this.filled < this.block) break;
      this.filled = 0;
      const voiced = this.m._fvad_process(this.handle, this.ptr, this.block) === 1;
      this.probability = voiced ? 1 : 0;
      const e = this.gate.update(voiced, this.blockMs);
      if (e !== 'none') ev = e;
    }
    return ev;
  }

  reset(): void {
    this.m._fvad_reset(this.handle);
    this.filled = 0;
    this.probability = 0;
    this.gate.reset();
  }
}

/** WebRTC VAD (libfvad in WebAssembly): a GMM over six sub-band energies, cheap and far less fooled by steady noise than an energy threshold. */
export class FvadVad extends VadPlugin {
  readonly capabilities: VadCapabilities = { sampleRates: FVAD_RATES };
  private readonly o: FvadDetectorOptions;
  private m: FvadModule | undefined;

  constructor(
    opts: FvadOptions = {},
    _ctx: Partial<PluginContext> = {},
    provider = 'fvad',
    /** Where the WASM module loads from (tests point it at a missing one). */
    private readonly spec?: string,
  ) {
    super(provider);
    this.o = { mode: opts.mode ?? 3, blockMs: opts.blockMs ?? 20, minSpeechMs: opts.minSpeechMs ?? 60, minSilenceMs: opts.minSilenceMs ?? 200 };
  }

  /** Loads the WASM module once, at boot. */
  protected override async _start(): Promise<void> {
    this.m ??= await loadFvad(this.spec);
  }

  protected _createDetector(opts: VadDetectorOptions): VadDetector {
    if (!this.m) throw new VoicebotError('VB_ERR_VAD_NOT_STARTED', { provider: this.provider });
    return new FvadDetector(this.m, opts.sampleRate, this.o);
  }
}

export const fvadPlugin = definePlugin<'vad', FvadOptions>({
  slot: 'vad',
  name: 'fvad',
  description: 'WebRTC VAD (libfvad in WebAssembly), 8/16/48 kHz',
  optionsSchema: {
    type: 'object',
    properties: {
      mode: { type: 'integer', enum: [0, 1, 2, 3], description: 'aggressiveness: 0 lets most audio through as speech, 3 rejects the most noise (default 3)' },
      blockMs: { type: 'integer', enum: [10, 20, 30], description: 'block libfvad classifies, ms (default 20)' },
      minSpeechMs: { type: 'number', minimum: 0, description: 'voiced time before speech-start, ms (default 60)' },
      minSilenceMs: { type: 'number', minimum: 0, description: 'unvoiced time before speech-end, ms (default 200)' },
    },
    additionalProperties: false,
  },
  sampleRates: FVAD_RATES,
  create: (options, ctx) => new FvadVad(options, ctx),
});

export default fvadPlugin;
