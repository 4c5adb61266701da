import type { ExpectStatic } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';

/** An app from config text on a mock PCMU line, started, with every call event it emits recorded. */
export async function startMockLineApp(expect: ExpectStatic, text: string, file: string): Promise<{ app: VoicebotApp; tel: MockTelephony; events: CallEvent[] }> {
  const { config, diagnostics } = await loadConfigText(text, file, { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics).toEqual([]);
  const tel = new MockTelephony({ codec: 'pcmu' });
  const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
  const events: CallEvent[] = [];
  app.onEvent((e) => events.push(e));
  await app.start();
  return { app, tel, events };
}
