import '../entry/builtins.js'; // the built-in providers, as the CLI registers them
import { VoicebotApp } from '../core/app/app.js';
import { loadConfigText } from '../core/config/load.js';
import { silentLogger } from '../core/logging.js';
import type { SttCapabilities, SttPlugin } from '../core/plugins/stt.js';
import { createDefaultRegistry } from '../core/plugins/registry.js';
import { MockStt } from '../plugins/mock/stt.js';
import { MockTelephony } from '../plugins/mock/telephony.js';
import type { Delays, TurnsJob } from './jobs.js';

/** voicebot on a mock PCMU line for the benches' child processes (ours-child.ts, turns-barge.ts). */
const REPLY = 'Okay, noted.';

/** What the turn benches vary in the config; everything else is the same in every voicebot run. */
export interface OursSettings {
  endOfSpeechMs: number;
  bargeIn: boolean;
  turn?: TurnsJob['turn'];
}

export function config(d: Delays, s: OursSettings): string {
  // With `turn` the word-aware endpointer decides (preemptive always spelled out: its default is on); without it the fixed endOfSpeech timer (as before the turn settings existed).
  const turn = s.turn
    ? `\n  turn: { minEndpoint: ${s.turn.minEndpointMs}ms, maxEndpoint: ${s.turn.maxEndpointMs}ms, preemptive: ${!!s.turn.preemptive} }`
    : '';
  // endOfSpeech in every mode: with `turn` it is the wait when the STT gives no words (a batch STT), so the modes differ only by `turn`.
  const eos = `endOfSpeech: ${s.endOfSpeechMs}ms, `;
  return `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock, latencyMs: ${d.sttMs} }
  llm: { provider: mock, latencyMs: ${d.llmFirstMs}, tokenDelayMs: ${d.llmTokenMs}, script: [ { reply: "${REPLY}" } ] }
  tts: { provider: mock, latencyMs: ${d.ttsFirstMs} }
settings:
  bargeIn: { enabled: ${s.bargeIn} }
  timeouts: { ${eos}noInput: 60s, maxCall: 1h }${turn}
flows:
  main:
    steps:
      talk: { llm: { system: "bench", maxTurns: 100000 } }
`;
}

export const ZERO: Delays = { sttMs: 0, llmFirstMs: 0, llmTokenMs: 0, ttsFirstMs: 0 };

/** The mock STT as a batch provider: the engine sends it the whole utterance after the endpoint (as for openai and pocketsphinx). */
class BatchMockStt extends MockStt {
  override readonly capabilities: SttCapabilities = { streaming: false, interimResults: false, sampleRates: [8000, 16000, 24000, 48000] };
}

/** Thrown when this tree's config validation refuses the settings asked for (the bench reports the mode as skipped). */
export class ConfigRefused extends Error {}

/** A started app on a mock line; `configText` is the YAML (built by config() unless given). */
export async function startApp(configText: string, stt?: SttPlugin): Promise<{ app: VoicebotApp; tel: MockTelephony }> {
  const { config: c, diagnostics } = await loadConfigText(configText, '/bench/ours.yaml', { env: {}, registry: createDefaultRegistry() });
  if (!c) throw new ConfigRefused(diagnostics.filter((x) => x.severity === 'error').map((x) => `${x.code}: ${x.message}`).join('; '));
  const tel = new MockTelephony({ codec: 'pcmu' });
  const a = await VoicebotApp.create({ config: c, logger: silentLogger(), overrides: stt ? { telephony: tel, stt } : { telephony: tel } });
  await a.start();
  return { app: a, tel };
}

export function app(d: Delays, s: OursSettings, sttShape: TurnsJob['stt'] = 'streaming'): Promise<{ app: VoicebotApp; tel: MockTelephony }> {
  return startApp(config(d, s), sttShape === 'batch' ? new BatchMockStt({ latencyMs: d.sttMs }) : undefined);
}

