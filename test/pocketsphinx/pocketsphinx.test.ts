import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VoicebotError } from '../../core/errors/index.js';
import { ProviderError } from '../../core/plugins/errors.js';
import { FliteEngine } from '../../plugins/flite/index.js';
import { PocketSphinxStt } from '../../plugins/pocketsphinx/index.js';
import { execFile } from 'node:child_process';
import { BIN, ROOT, cli } from '../cli/helpers.js';
import { SKIP, speech } from './speech.js';

/** The real CLI, like cli(), without blocking this worker: two calls can run side by side. */
function cliAsync(args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, VOICEBOT_LOG: 'silent' }, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('pocketsphinx: not installed', () => {
  it('is a coded error that names the apt packages, not a crash', () => {
    let err: unknown;
    try {
      new PocketSphinxStt({ modelDir: '/nonexistent/model' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VoicebotError);
    expect((err as VoicebotError).code).toBe('VB_ERR_POCKETSPHINX_MISSING');
    expect((err as Error).message).toContain('apt-get install pocketsphinx pocketsphinx-en-us');
    expect((err as Error).message).toContain('/nonexistent/model/en-us');
  });

  it('voicebot validate reports it at the provider line, before any call rings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'voicebot-ps-'));
    try {
      const file = join(dir, 'voicebot.yaml');
      writeFileSync(
        file,
        ['version: 1', 'plugins:', '  telephony: { provider: mock }', '  stt: { provider: pocketsphinx, modelDir: /nonexistent/model }', '  tts: { provider: mock }', 'flows:', '  main:', '    steps:', '      hi: { say: "Hello." }', ''].join('\n'),
      );
      const r = cli(['validate', '-c', file], { timeoutMs: 120_000 });
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/voicebot\.yaml:4:\d+ error VB_ERR_POCKETSPHINX_MISSING .*apt-get install pocketsphinx pocketsphinx-en-us/);
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});

// Loading the model costs ≈1 CPU-s per thread, and decoding is CPU-bound: generous limits for a loaded machine.
describe.skipIf(SKIP)(`pocketsphinx plugin${SKIP ? ` (skipped: ${SKIP})` : ''}`, { timeout: 180_000 }, () => {
  let flite: FliteEngine;
  let stt: PocketSphinxStt;
  /** Each sentence is synthesized once for the whole file (Flite is deterministic). */
  const spoken = new Map<string, Promise<Int16Array>>();
  const say = (text: string): Promise<Int16Array> => {
    let p = spoken.get(text);
    if (!p) spoken.set(text, (p = speech(flite, text, 16000, 'slt')));
    return p;
  };
  beforeAll(async () => {
    flite = new FliteEngine();
    stt = new PocketSphinxStt({ threads: 2 });
    await stt.start();
  }, 180_000);
  afterAll(async () => {
    await stt?.stop();
    await flite?.shutdown();
  });

  it('hears short menu words through the hints that it misses without them', async () => {
    const audio = await say('support');
    const free = await stt.recognize({ audio, sampleRate: 16000, language: 'en-US' });
    expect(free.text).not.toContain('support'); // the n-gram model alone: "it's apart"
    const hinted = await stt.recognize({ audio, sampleRate: 16000, language: 'en-US', hints: ['sales', 'support', 'help'] });
    expect(hinted.text).toBe('support');
  });

  it('hints never force a menu word onto other speech', async () => {
    for (const said of ['where is my order', 'yes', 'no']) {
      const audio = await say(said);
      const t = await stt.recognize({ audio, sampleRate: 16000, language: 'en-US', hints: ['sales', 'support', 'operator'] });
      expect(t.text).toBe(said);
    }
  });

  it('decodes concurrent utterances on its threads and stops them all', async () => {
    const audios = await Promise.all(['hello world', 'where is my order', 'yes'].map((s) => say(s)));
    const texts = await Promise.all(audios.map((audio) => stt.recognize({ audio, sampleRate: 16000, language: 'en-US' })));
    expect(texts.map((t) => t.text)).toEqual(['hello world', 'where is my order', 'yes']);
    const extra = new PocketSphinxStt();
    await extra.start();
    expect(extra.threads).toBe(1);
    await extra.stop();
    expect(extra.threads).toBe(0);
  });

  it('stop() while the model is still loading settles start() and leaves no thread', async () => {
    const p = new PocketSphinxStt({ threads: 2 });
    const started = p.start().then(
      () => 'started',
      (e: VoicebotError) => e.code,
    );
    await p.stop();
    expect(['started', 'VB_ERR_CANCELLED']).toContain(await started);
    expect(p.threads).toBe(0);
  });

  it('an aborted request resolves empty instead of waiting for the decoder', async () => {
    const audio = await say('hello world');
    const ac = new AbortController();
    ac.abort();
    const t = await stt.recognize({ audio, sampleRate: 16000, language: 'en-US', signal: ac.signal });
    expect(t).toEqual({ text: '', final: true });
  });

  it('a full queue fails at once with a retryable error, so a fallback provider can take the utterance', async () => {
    const one = new PocketSphinxStt({ threads: 1, maxQueue: 0 });
    await one.start();
    try {
      const audio = await say('hello world');
      const req = { audio, sampleRate: 16000, language: 'en-US' };
      const [first, second] = await Promise.allSettled([one.recognize(req), one.recognize(req)]);
      expect(first).toEqual({ status: 'fulfilled', value: expect.objectContaining({ text: 'hello world' }) });
      const err = (second as PromiseRejectedResult).reason as ProviderError;
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.code).toBe('VB_ERR_POCKETSPHINX_DECODE');
      expect(err.retryable).toBe(true);
    } finally {
      await one.stop();
    }
  });

  // Last of the tests on `stt`: it stops it (stop() is idempotent; afterAll stops it again).
  it('aborting an utterance that waits for a busy thread drops it; stop() leaves no thread or timer', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    expect(stt.threads).toBe(2);
    const audio = await say('where is my order');
    const ac = new AbortController();
    // Both threads busy: the third utterance waits for one.
    const running = [stt.recognize({ audio, sampleRate: 16000, language: 'en-US' }), stt.recognize({ audio, sampleRate: 16000, language: 'en-US' })];
    const waiting = stt.recognize({ audio, sampleRate: 16000, language: 'en-US', signal: ac.signal });
    ac.abort();
    expect(await waiting).toEqual({ text: '', final: true });
    expect((await Promise.all(running)).map((t) => t.text)).toEqual(['where is my order', 'where is my order']);
    await stt.stop();
    expect(stt.threads).toBe(0);
    expect(timers()).toBeLessThanOrEqual(before); // the stop grace timer is cleared
  });

  it('a simulated call: Flite speaks the caller, PocketSphinx hears it, the listen step routes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voicebot-ps-'));
    try {
      // Each answer routes to a step that says its line and listens again, so one call (one process,
      // one model load) hears every utterance in turn, as the same listen step.
      const config = (hints: boolean): string => {
        const file = join(dir, `voicebot-${hints}.yaml`);
        writeFileSync(
          file,
          `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: pocketsphinx, hints: ${hints} }
  llm: { provider: mock }
  tts: { provider: flite, voice: rms }
settings:
  timeouts: { noInput: 5s, endOfSpeech: 500ms }
flows:
  main:
    steps:
      menu:
        listen: { prompt: "Sales or support?", input: [speech] }
        routes:
          - { equals: sales, goto: sales }
          - { regex: "(?i)support|help", goto: support }
        else: other
      sales: { say: "Sales here.", next: menu }
      support: { say: "Support here.", next: menu }
      other: { say: "Sorry, I can't help with that.", next: menu }
`,
        );
        return file;
      };
      type Ev = { type: string; step?: string; text?: string; final?: boolean; reason?: string };
      /** One `voicebot simulate` call saying `says` in turn: what was heard at each listen and where it routed. */
      const run = async (says: string[], cfg: string) => {
        const r = await cliAsync(['simulate', '-c', cfg, '--caller-voice', 'tts', ...says.flatMap((s) => ['--say', s]), '--json'], 300_000);
        const ev = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Ev);
        // Per listen: the final transcript, then the step it routed to (the next flow.step after it).
        const turns: { heard: string | undefined; step: string | undefined }[] = [];
        ev.forEach((e, i) => {
          if (e.type === 'caller.said' && e.final) turns.push({ heard: e.text, step: ev.slice(i + 1).find((x) => x.type === 'flow.step')?.step });
        });
        const steps = ev.filter((e) => e.type === 'flow.step').map((e) => e.step);
        return { status: r.status, stderr: r.stderr, turns, steps, ended: ev.find((e) => e.type === 'call.ended')?.reason };
      };
      const [hinted, free] = await Promise.all([
        run(['sales', 'support', 'I need help with my dishwasher', 'where is my order'], config(true)),
        run(['sales'], config(false)),
      ]);
      expect(hinted, JSON.stringify(hinted)).toMatchObject({ status: 0 });
      expect(hinted.turns).toEqual([
        { heard: 'sales', step: 'sales' },
        { heard: 'support', step: 'support' },
        { heard: 'i need help with my dishwasher', step: 'support' },
        { heard: 'where is my order', step: 'other' },
      ]);
      expect(hinted.steps).toEqual(['menu', 'sales', 'menu', 'support', 'menu', 'support', 'menu', 'other', 'menu']);
      // Over the mock line's 8 kHz μ-law, Flite's rms "sales" is heard only through the hints.
      expect(free, JSON.stringify(free)).toMatchObject({ status: 0, turns: [{ heard: 'staples', step: 'other' }], steps: ['menu', 'other', 'menu'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 320_000);
});
