import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import type { LocalTelephony } from '../../plugins/local/index.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SHIPPED = fileURLToPath(new URL('../../voicebot.yaml', import.meta.url));

/** The shipped voicebot.yaml with the softphone on a free port (the only change). */
export function shippedConfigText(): string {
  const text = readFileSync(SHIPPED, 'utf8');
  const out = text.replace(/server:\s*\{\s*host:\s*127\.0\.0\.1,\s*port:\s*\d+\s*\}/, 'server: { host: 127.0.0.1, port: 0 }');
  expect(out, 'voicebot.yaml must have settings.server { host, port } on one line').not.toBe(text);
  return out;
}

/** The app from the shipped config, started; events collected. */
export async function startShippedApp(): Promise<{ app: VoicebotApp; line: LocalTelephony; events: CallEvent[] }> {
  const { config, diagnostics } = await loadConfigText(shippedConfigText(), SHIPPED, { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics.filter((d) => d.severity !== 'warning')).toEqual([]);
  const app = await VoicebotApp.create({ config: config!, logger: silentLogger() });
  const events: CallEvent[] = [];
  app.onEvent((e) => events.push(e));
  await app.start();
  const line = app.plugins.telephony as LocalTelephony;
  expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  return { app, line, events };
}
