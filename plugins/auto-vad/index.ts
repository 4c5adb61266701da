import { definePlugin, TOKENS, type PluginContext, type VadPlugin } from '../../core/plugin-api.js';
import { EnergyVad } from '../energy/vad.js';
import type { SileroRuntimeSpec } from '../silero/runtime.js';

export type AutoVadChoice = 'silero' | 'energy';

/** What `auto` picked and why (logged once when the app is created). */
export interface AutoVadDecision {
  provider: AutoVadChoice;
  reason: string;
}

export interface AutoVadDeps {
  /** Where onnxruntime-node and the model are looked up (tests point it at a missing package). */
  runtime?: SileroRuntimeSpec;
  /** Receives the decision (the manifest logs it). */
  decided?(d: AutoVadDecision): void;
}

/** The mock line and the mock STT carry "mock speech": dual tones a speech model rightly does not call speech. */
function mockSpeechLine(ctx: Pick<PluginContext, 'container'>): string | undefined {
  const c = ctx.container;
  if (!c) return undefined;
  const telephony = c.isRegistered(TOKENS.Telephony, true) ? c.resolve(TOKENS.Telephony).provider : undefined;
  if (telephony === 'mock') return 'telephony mock';
  const config = c.isRegistered(TOKENS.Config, true) ? c.resolve(TOKENS.Config) : undefined;
  if (!telephony && config?.plugins.telephony?.some((p) => p.provider === 'mock')) return 'telephony mock';
  if (config?.plugins.stt?.some((p) => p.provider === 'mock')) return 'stt mock';
  return undefined;
}

/**
 * The default VAD. Silero (a speech model: noise, beeps and tones are not
 * speech to it) whenever its optional packages load; `energy` when they do
 * not, when the line carries mock speech (telephony or stt `mock`), and on a
 * virtual clock (Silero's inference runs on onnxruntime's threads, which a
 * virtual clock cannot wait for). Returns the chosen provider itself, started
 * when it is Silero, so a broken install falls back here, not at the first call.
 */
export async function chooseVad(ctx: Pick<PluginContext, 'clock' | 'logger' | 'container'>, deps: AutoVadDeps = {}): Promise<VadPlugin> {
  const pick = (provider: AutoVadChoice, reason: string): void => deps.decided?.({ provider, reason });
  const mock = mockSpeechLine(ctx);
  if (mock) {
    pick('energy', `the line carries mock speech (${mock}), which Silero does not hear as speech`);
    return new EnergyVad();
  }
  if (ctx.clock?.virtual) {
    pick('energy', 'virtual time: Silero runs on onnxruntime threads a virtual clock cannot wait for');
    return new EnergyVad();
  }
  try {
    const { SileroVad } = await import('../silero/index.js');
    const vad = new SileroVad({}, ctx, 'silero', deps.runtime);
    await vad.start();
    pick('silero', 'onnxruntime-node and the Silero model loaded');
    return vad;
  } catch (e) {
    pick('energy', `Silero is unavailable: ${e instanceof Error ? e.message : String(e)}`);
    return new EnergyVad();
  }
}

export const autoVadPlugin = definePlugin<'vad', Record<string, never>>({
  slot: 'vad',
  name: 'auto',
  // On a virtual clock it is always `energy`.
  virtualTime: true,
  description: 'The default: silero when its optional packages load, else energy (and energy on mock-speech lines)',
  optionsSchema: { type: 'object', properties: {}, additionalProperties: false },
  create: (_options, ctx) =>
    chooseVad(ctx, { decided: (d) => ctx.logger.info({ vad: d.provider, reason: d.reason }, `vad auto: using ${d.provider} (${d.reason})`) }),
});

export default autoVadPlugin;
