import type { AudioFrame, PluginContext } from '../../core/plugin-api.js';
import { definePlugin, SAMPLE_RATES } from '../../core/plugin-api.js';
import { SpeechHysteresis, VadPlugin, type VadCapabilities, type VadDetector, type VadDetectorOptions, type VadEvent } from '../../core/plugin-api.js';

export interface EnergyVadOptions {
  /** dB above the tracked noise floor that counts as speech (default 12). */
  marginDb?: number;
  /** Absolute floor below which nothing is speech, dBFS (default -50). */
  minLevelDb?: number;
  /** Speech must last this long before speech-start (default 60). */
  minSpeechMs?: number;
  /** Silence must last this long before speech-end (default 200). */
  minSilenceMs?: number;
}

/**
 * Energy detector with an adaptive noise floor: the floor follows the level
 * quickly downwards and slowly upwards while nobody speaks, so a steady hum
 * or a noisier line raises the threshold instead of counting as speech.
 */
class EnergyDetector implements VadDetector {
  probability = 0;
  private floorDb = -60;
  private readonly turns: SpeechHysteresis;
  constructor(private readonly o: Required<EnergyVadOptions>) {
    this.turns = new SpeechHysteresis(o);
  }

  get speaking(): boolean {
    return this.turns.speaking;
  }

  process(frame: AudioFrame): VadEvent {
    const s = frame.samples;
    let acc = 0;
    for (let i = 0; i < s.length; i++) acc += s[i] * s[i];
    const db = acc > 0 ? 10 * Math.log10(acc / s.length / 1073741824) : -120;
    const ms = (s.length * 1000) / frame.sampleRate;
    const threshold = Math.max(this.o.minLevelDb, this.floorDb + this.o.marginDb);
    const loud = db > threshold;
    this.probability = loud ? Math.min(1, 0.5 + (db - threshold) / 20) : Math.max(0, 0.5 - (threshold - db) / 20);
    // Track the floor only outside speech; fast down, slow up.
    if (!this.turns.speaking) this.floorDb = db < this.floorDb ? this.floorDb * 0.7 + db * 0.3 : this.floorDb * 0.995 + db * 0.005;
    return this.turns.update(loud, ms);
  }

  reset(): void {
    this.turns.reset();
  }
}

export class EnergyVad extends VadPlugin {
  readonly capabilities: VadCapabilities = { sampleRates: SAMPLE_RATES };
  private readonly o: Required<EnergyVadOptions>;
  constructor(opts: EnergyVadOptions = {}, _ctx: Partial<PluginContext> = {}, provider = 'energy') {
    super(provider);
    this.o = { marginDb: opts.marginDb ?? 12, minLevelDb: opts.minLevelDb ?? -50, minSpeechMs: opts.minSpeechMs ?? 60, minSilenceMs: opts.minSilenceMs ?? 200 };
  }

  protected _createDetector(_opts: VadDetectorOptions): VadDetector {
    return new EnergyDetector(this.o);
  }
}

export const energyVadPlugin = definePlugin<'vad', EnergyVadOptions>({
  slot: 'vad',
  name: 'energy',
  virtualTime: true,
  description: 'Energy VAD with an adaptive noise floor (what the default, auto, falls back to)',
  optionsSchema: {
    type: 'object',
    properties: {
      marginDb: { type: 'number', minimum: 0 },
      minLevelDb: { type: 'number', maximum: 0 },
      minSpeechMs: { type: 'number', minimum: 0 },
      minSilenceMs: { type: 'number', minimum: 0 },
    },
    additionalProperties: false,
  },
  sampleRates: SAMPLE_RATES,
  create: (options, ctx) => new EnergyVad(options, ctx),
});
export default energyVadPlugin;
