/**
 * The softphone in a real browser: Debian's Chromium driven by playwright-core
 * (no browser download) calls `voicebot run` started with the shipped
 * voicebot.yaml (softphone on a free port), hears the Flite greeting, presses
 * a key, types a sentence and hangs up. Skipped, with the reason, when no
 * Chromium is installed (`.ci/run` installs it).
 *
 * VOICEBOT_SCREENSHOT=plugins/local/softphone.png refreshes the README's
 * screenshot; otherwise the screenshot goes to a temporary directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { makeNoise, NOISE_LEVELS_DBFS } from '../../bench/vad/labelled-set.js';
import { encodeWav } from '../../core/audio/wav.js';
import type { CallEvent } from '../../core/engine/events.js';
import { cliBackground, ROOT } from '../cli/helpers.js';
import { shippedConfigText } from './helpers.js';

/** The page's global, in functions page.evaluate() runs inside Chromium (the test tree has no DOM lib). */
declare const window: unknown;

const CANDIDATES = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const CHROMIUM = CANDIDATES.find((p) => existsSync(p));
const BUILT = existsSync(join(ROOT, 'dist/entry/cli.js'));
const skipReason = !CHROMIUM
  ? `no Chromium at ${CANDIDATES.join(' or ')} (apt-get install chromium, or set CHROMIUM_PATH)`
  : !BUILT
    ? 'voicebot is not built (npm run build)'
    : undefined;

interface PageState {
  state: string;
  callId: string;
  mic: boolean;
  rxFrames: number;
  rxVoicedFrames: number;
  rxPeakRms: number;
  txFrames: number;
  played: number;
  playedVoiced: number;
  events: CallEvent[];
  transcript: { kind: string; who: string; text: string }[];
  step: string;
  endReason: string;
}

/** Chromium with fake media: the microphone plays `micWav` (looped), or Chromium's own fake microphone (a periodic beep) without one. */
async function launch(micWav?: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      ...(micWav ? [`--use-file-for-fake-audio-capture=${micWav}`] : []),
      '--autoplay-policy=no-user-gesture-required',
      '--no-sandbox',
    ],
  });
}

/**
 * A fresh context (its own pages, storage and routes) closed when the test ends, even when it fails, so a failed
 * test leaves no call up on the bot. Waits and actions get 120 s: a hang guard for a loaded machine, not a measure.
 */
async function context(b: Browser, onTestFinished: (fn: () => Promise<void>, timeout?: number) => void, options?: BrowserContextOptions): Promise<BrowserContext> {
  const ctx = await b.newContext(options);
  ctx.setDefaultTimeout(120_000);
  onTestFinished(() => ctx.close(), 120_000);
  return ctx;
}

/** waitForFunction polls on a timer, not on every animation frame (which would make the headless page render frames only to poll). */
const POLL = { polling: 50 };

const MENU_PROMPT = 'Say sales or support, or press 1 for sales and 2 for support.';

describe.skipIf(skipReason !== undefined)(`softphone in Chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir: string;
  let bot: ReturnType<typeof cliBackground>;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voicebot-browser-'));
    const config = join(dir, 'voicebot.yaml');
    writeFileSync(config, shippedConfigText());
    // The fake microphone: a quiet room (low noise, well under the VAD threshold), looped by Chromium.
    const n = 16000 * 2;
    const noise = new Int16Array(n);
    let seed = 7;
    for (let i = 0; i < n; i++) noise[i] = (((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 61) - 30);
    const mic = join(dir, 'mic.wav');
    writeFileSync(mic, encodeWav(noise, 16000));

    bot = cliBackground(['run', '-c', config, '--json'], /call your bot at http:\/\/\S+\//);
    // The bot and the browser start at the same time (afterAll closes whichever started).
    const [launched, ready] = await Promise.allSettled([launch(mic), bot.ready]);
    if (launched.status === 'fulfilled') browser = launched.value;
    for (const r of [launched, ready]) if (r.status === 'rejected') throw r.reason;
    url = /call your bot at (http:\/\/\S+\/)/.exec(bot.output().stderr)![1];
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (bot && bot.child.exitCode === null) {
      bot.child.kill('SIGTERM');
      await bot.exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const softphone = (page: Page): Promise<PageState> => page.evaluate(() => (window as unknown as { softphone: PageState }).softphone);

  /** Call events `voicebot run --json` printed for this call. */
  const botEvents = (callId: string): CallEvent[] =>
    bot
      .output()
      .stdout.split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as CallEvent)
      .filter((e) => e.callId === callId);

  // The calls are independent (each its own page, its own call on the one bot; botEvents filters by call id) and
  // mostly wait on real-time audio, so they run at once; the SIGTERM test below runs after all of them.
  describe.concurrent('calls at once on one voicebot run', () => {
    it('calls the bot, hears the Flite greeting, presses a key, types a sentence and hangs up', async ({ expect, onTestFinished }) => {
      const page = await (await context(browser, onTestFinished, { viewport: { width: 1000, height: 720 } })).newPage();
      const consoleErrors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
      page.on('pageerror', (e) => consoleErrors.push(e.message));
      await page.goto(url);
      await page.click('#call');
      await page.waitForFunction(() => (window as unknown as { softphone: PageState }).softphone.state === 'in-call', undefined, POLL);

      // The greeting: shown in the transcript, and real (non-silent) audio arrived and was played.
      await page.locator('#transcript li.bot', { hasText: 'Thanks for calling Acme.' }).waitFor();
      let s = await softphone(page);
      expect(s.mic).toBe(true); // the fake microphone was granted
      expect(s.rxVoicedFrames).toBeGreaterThan(25); // > 0.5 s of speech
      expect(s.rxPeakRms).toBeGreaterThan(500);
      await page.waitForFunction(() => (window as unknown as { softphone: PageState }).softphone.playedVoiced > 8000, undefined, POLL);

      // Press 2 (support) once the menu listens.
      await page.waitForFunction(() => (window as unknown as { softphone: PageState }).softphone.events.some((e) => e.type === 'bot.listening'), undefined, POLL);
      await page.click('#keypad button:text-is("2")');
      await page.locator('#transcript li.bot', { hasText: 'Support here. How can I help?' }).waitFor();
      await page.waitForFunction(() => (window as unknown as { softphone: PageState }).softphone.step === 'main.support', undefined, POLL);

      // Type a sentence: the mock STT hears it as speech, the mock LLM echoes it.
      await page.fill('#say-text', 'Where is my order');
      await page.click('#say');
      await page.locator('#transcript li.caller', { hasText: 'Where is my order' }).waitFor();
      await page.locator('#transcript li.bot', { hasText: 'You said: Where is my order.' }).waitFor();
      await page.locator('#metrics tbody tr').first().waitFor();

      const shot = process.env.VOICEBOT_SCREENSHOT;
      const file = shot ? (isAbsolute(shot) ? shot : join(ROOT, shot)) : join(dir, 'softphone.png');
      await page.screenshot({ path: file, fullPage: true });
      expect(readFileSync(file).subarray(1, 4).toString()).toBe('PNG');

      s = await softphone(page);
      expect(s.txFrames).toBeGreaterThan(0); // microphone frames went to the bot
      await page.click('#hangup');
      await page.waitForFunction(() => (window as unknown as { softphone: PageState }).softphone.state === 'ended', undefined, POLL);
      s = await softphone(page);
      expect(s.endReason).toBe('caller-hangup');

      // The bot's side of the same call, from `voicebot run --json`.
      await expect.poll(() => botEvents(s.callId).some((e) => e.type === 'call.ended'), { timeout: 60_000 }).toBe(true);
      const ev = botEvents(s.callId);
      expect(ev[0]).toMatchObject({ type: 'call.started', flow: 'main' });
      expect(ev.filter((e) => e.type === 'dtmf').map((e) => (e as { digits: string }).digits)).toEqual(['2']);
      expect(ev.filter((e) => e.type === 'caller.said' && e.final).map((e) => (e as { text: string }).text)).toEqual(['Where is my order']);
      expect(ev.find((e) => e.type === 'call.ended')).toMatchObject({ reason: 'caller-hangup' });
      expect(ev.some((e) => e.type === 'turn.metrics')).toBe(true);
      expect(consoleErrors).toEqual([]);
    }, 300_000);

    it('two tabs are two concurrent calls', async ({ expect, onTestFinished }) => {
      const ctx = await context(browser, onTestFinished);
      const [a, b] = [await ctx.newPage(), await ctx.newPage()];
      for (const p of [a, b]) {
        await p.goto(url);
        await p.click('#call');
      }
      for (const p of [a, b]) await p.locator('#transcript li.bot', { hasText: 'Thanks for calling Acme.' }).waitFor();
      const [sa, sb] = [await softphone(a), await softphone(b)];
      expect(sa.callId).not.toBe(sb.callId);
      for (const p of [a, b]) {
        const st = await softphone(p);
        // A call that ended on its own would make the click below wait forever: say why instead.
        expect({ tab: p === a ? 'a' : 'b', state: st.state, endReason: st.endReason, transcript: st.transcript.map((t) => t.text) }).toMatchObject({ state: 'in-call' });
        await p.click('#hangup');
        await p.waitForFunction(() => (window as unknown as { softphone: PageState }).softphone.state === 'ended', undefined, POLL);
      }
    }, 300_000);

    it('hang-up while still connecting cancels the attempt', async ({ expect, onTestFinished }) => {
      const page = await (await context(browser, onTestFinished)).newPage();
      // A line that accepts the WebSocket but never rings keeps the page in `connecting`.
      let closed = false;
      let hello = false;
      await page.routeWebSocket(/\/ws$/, (ws) => {
        ws.onMessage((m) => (hello ||= String(m).includes('"hello"')));
        ws.onClose(() => (closed = true));
      });
      await page.goto(url);
      await page.click('#call');
      await page.waitForFunction(() => (window as unknown as { softphone: PageState }).softphone.state === 'connecting', undefined, POLL);
      await expect.poll(() => hello, { timeout: 60_000 }).toBe(true);
      expect(await page.isEnabled('#hangup')).toBe(true);
      await page.click('#hangup');
      await page.waitForFunction(() => (window as unknown as { softphone: PageState }).softphone.state === 'ended', undefined, POLL);
      expect(await page.textContent('#status')).toBe('Call cancelled.');
      await expect.poll(() => closed, { timeout: 60_000 }).toBe(true);
      expect(await page.isEnabled('#call')).toBe(true);
    }, 300_000);

    // Issue #15: the fake microphone's beep (or a noisy line) cut "Thanks for …" and the menu prompt was never heard.
    const noisyMics: [string, () => string | undefined][] = [
      ["Chromium's own fake microphone (a periodic beep)", () => undefined],
      ['4 s of white noise at −25 dBFS, then a quiet room', () => {
        const rate = 16000;
        const noise = makeNoise('white', rate * 4, rate, 5);
        const level = 32768 * 10 ** (NOISE_LEVELS_DBFS.white / 20);
        const wav = new Int16Array(rate * 30);
        for (let i = 0; i < noise.length; i++) wav[i] = Math.max(-32768, Math.min(32767, Math.round(noise[i]! * level)));
        const file = join(dir, 'white-mic.wav');
        writeFileSync(file, encodeWav(wav, rate));
        return file;
      }],
    ];
    it.for(noisyMics)('with %s, the greeting and the menu prompt are heard in full', { timeout: 300_000 }, async ([, micWav], { expect, onTestFinished }) => {
      const b = await launch(micWav());
      onTestFinished(() => b.close(), 120_000); // registered first, so it runs after the context's close (they run in reverse)
      const page = await (await context(b, onTestFinished)).newPage();
      await page.goto(url);
      await page.click('#call');
      // The menu listens once its prompt has been played (or cut): then what the bot said is settled.
      await page.waitForFunction(
        () => (window as unknown as { softphone: PageState }).softphone.events.some((e) => e.type === 'bot.listening' && (e as { step?: string }).step === 'menu'),
        undefined,
        { ...POLL, timeout: 240_000 },
      );
      const s = await softphone(page);
      expect(s.mic).toBe(true);
      expect(s.txFrames).toBeGreaterThan(0); // the noise did go to the bot
      const said = s.events.filter((e) => e.type === 'bot.said').map((e) => e as { text: string; interrupted: boolean });
      const summary = JSON.stringify(s.events.filter((e) => e.type !== 'turn.metrics'));
      expect(said.find((e) => e.text.startsWith('Thanks')), summary).toMatchObject({ text: 'Thanks for calling Acme.', interrupted: false });
      expect(said.find((e) => e.text.startsWith('Say ')), summary).toMatchObject({ text: MENU_PROMPT, interrupted: false });
      await page.locator('#transcript li.bot', { hasText: MENU_PROMPT }).waitFor();
      await page.click('#hangup');
      await page.waitForFunction(() => (window as unknown as { softphone: PageState }).softphone.state === 'ended', undefined, POLL);
    });
  });

  it('voicebot run stops cleanly on SIGTERM', async () => {
    bot.child.kill('SIGTERM');
    expect(await bot.exited).toBe(0);
    expect(bot.output().stderr).toContain('stopping');
  }, 120_000);
});
