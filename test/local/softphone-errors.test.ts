/**
 * What the softphone page says when a call cannot work, in Debian's Chromium
 * (playwright-core): voicebot stopped after the page loaded (the browser
 * alone says "Failed to load worklet module script"), and an edge whose
 * worker is down (the call ends with reason error). Skipped, with the reason,
 * when no Chromium is installed.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startEdgeWithDeadWorker, startShippedApp } from './helpers.js';

const CANDIDATES = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const CHROMIUM = CANDIDATES.find((p) => existsSync(p));
const skipReason = CHROMIUM ? undefined : `no Chromium at ${CANDIDATES.join(' or ')} (apt-get install chromium, or set CHROMIUM_PATH)`;


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
  }, 180_000);
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => {});
    await browser?.close();
  });

  it('voicebot not running: a coded reason and what to do, not "Failed to load worklet module script"', async () => {
    const { app, line } = await startShippedApp();
    const page = await browser.newPage();
    page.setDefaultTimeout(120_000); // a hang guard for a loaded machine
    await page.goto(line.url!);
    await app.stop();
    await page.click('#call');
    const status = page.locator('#status');
    await status.filter({ hasText: 'VB_ERR_LOCAL_OFFLINE' }).waitFor();
    expect(await status.textContent()).toMatch(/^VB_ERR_LOCAL_OFFLINE voicebot is not running at 127\.0\.0\.1:\d+\. Start it \(npx voicebot run\) and reload this page\.$/);
    await page.close();
  }, 180_000);

  it('worker down: the call ends showing the coded reason, not just "error"', async () => {
    const { app, line, port } = await startEdgeWithDeadWorker();
    stops.push(() => app.stop());
    const page = await browser.newPage();
    page.setDefaultTimeout(120_000); // a hang guard for a loaded machine
    await page.goto(line.url!);
    await page.click('#call');
    const status = page.locator('#status');
    await status.filter({ hasText: 'Call ended by an error: VB_ERR_WS_' }).waitFor();
    expect(await status.textContent()).toContain(String(port));
    await page.close();
  }, 180_000);
});
