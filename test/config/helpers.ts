import { formatDiagnostic, loadConfigText, type LoadResult } from '../../core/config/load.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';

export const HEADER = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
`;

/** Loads YAML text as /cfg/voicebot.yaml and returns the printed diagnostic lines. */
export async function lines(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<{ lines: string[]; result: LoadResult }> {
  const result = await loadConfigText(yaml, '/cfg/voicebot.yaml', { env, registry: createDefaultRegistry() });
  return { lines: result.diagnostics.map((d) => formatDiagnostic(d, '/cfg')), result };
}
