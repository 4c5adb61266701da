/**
 * What the softphone page says when a call cannot work, in Debian's Chromium
 * (playwright-core): voicebot stopped after the page loaded (the browser
 * alone says "Failed to load worklet module script"), and an edge whose
 * worker is down (the call ends with reason error). Skipped, with the reason,
 * when no Chromium is installed.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import type { LocalTelephony } from '../../plugins/local/index.js';
import { SHIPPED, startShippedApp } from './helpers.js';

const CANDIDATES = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const CHROMIUM = CANDIDATES.find((p) => existsSync(p));
const skipReason = CHROMIUM ? undefined : `no Chromium at ${CANDIDATES.join(' or ')} (apt-get install chromium, or set CHROMIUM_PATH)`;

async function closedPort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe.skipIf(skipReason !== undefined)(`softphone error messages in Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let browser: Browser;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--autoplay-policy=no-user-gesture-required', '--no-sandbox'],
    });
  }, 60_000);
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    await browser?.close();
  });

  it('voicebot not running: a coded reason and what to do, not "Failed to load worklet module script"', async () => {
    const { app, line } = await startShippedApp();
    const page = await browser.newPage();
    await page.goto(line.url!);
    await app.stop();
    await page.click('#call');
    const status = page.locator('#status');
    await status.filter({ hasText: 'VB_ERR_LOCAL_OFFLINE' }).waitFor();
    expect(await status.textContent()).toMatch(/^VB_ERR_LOCAL_OFFLINE voicebot is not running at 127\.0\.0\.1:\d+\. Start it \(npx voicebot run\) and reload this page\.$/);
    await page.close();
  }, 60_000);

  it('worker down: the call ends showing the coded reason, not just "error"', async () => {
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
    const { config } = await loadConfigText(yaml, SHIPPED, { env: {}, registry: createDefaultRegistry() });
    const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), role: 'edge' });
    stops.push(() => app.stop());
    await app.start();
    const page = await browser.newPage();
    await page.goto((app.plugins.telephony as LocalTelephony).url!);
    await page.click('#call');
    const status = page.locator('#status');
    await status.filter({ hasText: 'Call ended by an error: VB_ERR_WS_' }).waitFor();
    expect(await status.textContent()).toContain(String(port));
    await page.close();
  }, 60_000);
});
