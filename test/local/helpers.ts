import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

/**
 * The local line alone on a free port, with a handler that answers every
 * call and plays a steady tone frame every 20 ms to the caller (so a test
 * can count the frames a call keeps getting while another call misbehaves).
 */
export async function startToneLine(options: import('../../plugins/local/index.js').LocalTelephonyOptions = {}): Promise<{
  line: LocalTelephony;
  legs: import('../../core/plugins/telephony.js').CallLeg[];
  stop: () => Promise<void>;
}> {
  const { LocalTelephony } = await import('../../plugins/local/index.js');
  const line = new LocalTelephony({ port: 0, ...options });
  const legs: import('../../core/plugins/telephony.js').CallLeg[] = [];
  const timers = new Set<NodeJS.Timeout>();
  await line.listen({
    onIncomingCall: (call) => {
      void call.answer().then((leg) => {
        legs.push(leg);
        leg.media.setReceiver(() => {});
        const frame = { samples: new Int16Array((leg.media.outputRate * 20) / 1000).fill(3000), sampleRate: leg.media.outputRate, timestampMs: 0 };
        const t = setInterval(() => leg.media.write(frame), 20);
        timers.add(t);
        leg.onEnded(() => {
          clearInterval(t);
          timers.delete(t);
        });
      });
    },
  });
  return {
    line,
    legs,
    stop: async () => {
      for (const t of timers) clearInterval(t);
      await line.stop();
    },
  };
}

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** An edge (local softphone line) whose audio-stream worker is down: its worker URL points at a closed port. */
export async function startEdgeWithDeadWorker(): Promise<{ app: VoicebotApp; line: LocalTelephony; port: number }> {
  const port = await closedPort();
  const yaml = `version: 1
plugins:
  telephony: { provider: local }
  audioStream: { provider: websocket, url: "ws://127.0.0.1:${port}/calls", token: "edge-error-test-token-0123", reconnectGraceMs: 0 }
  vad: { provider: energy }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  server: { host: 127.0.0.1, port: 0 }
flows:
  main:
    steps:
      hi: { say: "Hi." }
`;
  const { config, diagnostics } = await loadConfigText(yaml, SHIPPED, { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), role: 'edge' });
  try {
    await app.start();
  } catch (e) {
    await app.stop();
    throw e;
  }
  return { app, line: app.plugins.telephony as LocalTelephony, port };
}

/** What the outbound tests' shared config (test/outbound/api.test-config.ts) says when its reminder call is answered. */
export const SHORT_REMINDER = 'Hi Ann, outbound from voicebot.';
