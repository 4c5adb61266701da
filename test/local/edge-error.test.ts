/**
 * The softphone on an edge whose worker is down: the page learns the coded
 * reason the call ended (a call.error event before the socket closes), not
 * just "error". Real WebSocket client (the page protocol), real edge app.
 */
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { SoftphoneClient, type LocalTelephony } from '../../plugins/local/index.js';
import { SHIPPED } from './helpers.js';

const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
});

async function closedPort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('softphone on an edge whose worker is down', () => {
  it('gets the coded reason of the error end', async () => {
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
    stops.push(() => app.stop());
    await app.start();
    const line = app.plugins.telephony as LocalTelephony;
    const c = new SoftphoneClient(line.wsUrl!, {});
    stops.push(async () => {
      c.close();
      await c.closed;
    });
    expect(await c.ended).toBe('error');
    await c.closed;
    const err = c.events.find((e) => e.type === 'call.error');
    expect(err).toMatchObject({ type: 'call.error', code: expect.stringMatching(/^VB_ERR_WS_/), message: expect.stringContaining(String(port)) });
  }, 30_000);
});
