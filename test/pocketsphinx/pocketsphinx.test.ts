import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VoicebotError } from '../../core/errors/index.js';
import { ProviderError } from '../../core/plugins/errors.js';
import { FliteEngine } from '../../plugins/flite/index.js';
import { PocketSphinxStt } from '../../plugins/pocketsphinx/index.js';
import { cli } from '../cli/helpers.js';
import { SKIP, speech } from './speech.js';

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
      const r = cli(['validate', '-c', file]);
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/voicebot\.yaml:4:\d+ error VB_ERR_POCKETSPHINX_MISSING .*apt-get install pocketsphinx pocketsphinx-en-us/);
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(SKIP)(`pocketsphinx plugin${SKIP ? ` (skipped: ${SKIP})` : ''}`, () => {
  let flite: FliteEngine;
  let stt: PocketSphinxStt;
  beforeAll(async () => {
    flite = new FliteEngine();
    stt = new PocketSphinxStt({ threads: 2 });
    await stt.start();
  });
  afterAll(async () => {
    await stt?.stop();
    await flite?.shutdown();
  });

  it('hears short menu words through the hints that it misses without them', async () => {
    const audio = await speech(flite, 'support', 16000, 'slt');
    const free = await stt.recognize({ audio, sampleRate: 16000, language: 'en-US' });
    expect(free.text).not.toContain('support'); // the n-gram model alone: "it's apart"
    const hinted = await stt.recognize({ audio, sampleRate: 16000, language: 'en-US', hints: ['sales', 'support', 'help'] });
    expect(hinted.text).toBe('support');
  });

  it('hints never force a menu word onto other speech', async () => {
    for (const said of ['where is my order', 'yes', 'no']) {
      const audio = await speech(flite, said, 16000, 'slt');
      const t = await stt.recognize({ audio, sampleRate: 16000, language: 'en-US', hints: ['sales', 'support', 'operator'] });
      expect(t.text).toBe(said);
    }
  });

  it('decodes concurrent utterances on its threads and stops them all', async () => {
    const audios = await Promise.all(['hello world', 'where is my order', 'yes'].map((s) => speech(flite, s, 16000, 'slt')));
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
    const audio = await speech(flite, 'hello world', 16000, 'slt');
    const ac = new AbortController();
    ac.abort();
    const t = await stt.recognize({ audio, sampleRate: 16000, language: 'en-US', signal: ac.signal });
    expect(t).toEqual({ text: '', final: true });
  });

  it('a full queue fails at once with a retryable error, so a fallback provider can take the utterance', async () => {
    const one = new PocketSphinxStt({ threads: 1, maxQueue: 0 });
    await one.start();
    try {
      const audio = await speech(flite, 'hello world', 16000, 'slt');
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

  it('aborting an utterance that waits for a busy thread drops it; stop() leaves no thread or timer', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const one = new PocketSphinxStt({ threads: 1 });
    await one.start();
    const audio = await speech(flite, 'where is my order', 16000, 'slt');
    const ac = new AbortController();
    const running = one.recognize({ audio, sampleRate: 16000, language: 'en-US' });
    const waiting = one.recognize({ audio, sampleRate: 16000, language: 'en-US', signal: ac.signal });
    ac.abort();
    expect(await waiting).toEqual({ text: '', final: true });
    expect((await running).text).toBe('where is my order');
    await one.stop();
    expect(one.threads).toBe(0);
    expect(timers()).toBeLessThanOrEqual(before); // the stop grace timer is cleared
  });

  it('a simulated call: Flite speaks the caller, PocketSphinx hears it, the listen step routes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'voicebot-ps-'));
    try {
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
      sales: { hangup: "Sales here." }
      support: { hangup: "Support here." }
      other: { hangup: "Sorry, I can't help with that." }
`,
        );
        return file;
      };
      const file = config(true);
      const run = (say: string, cfg = file) => {
        const r = cli(['simulate', '-c', cfg, '--caller-voice', 'tts', '--say', say, '--json'], { timeoutMs: 60_000 });
        const ev = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; step?: string; text?: string; final?: boolean });
        return { status: r.status, heard: ev.find((e) => e.type === 'caller.said' && e.final)?.text, steps: ev.filter((e) => e.type === 'flow.step').map((e) => e.step) };
      };
      // Over the mock line's 8 kHz μ-law, Flite's rms "sales" is heard only through the hints.
      expect(run('sales')).toEqual({ status: 0, heard: 'sales', steps: ['menu', 'sales'] });
      expect(run('sales', config(false))).toEqual({ status: 0, heard: 'staples', steps: ['menu', 'other'] });
      expect(run('support')).toEqual({ status: 0, heard: 'support', steps: ['menu', 'support'] });
      expect(run('I need help with my dishwasher')).toEqual({ status: 0, heard: 'i need help with my dishwasher', steps: ['menu', 'support'] });
      expect(run('where is my order')).toEqual({ status: 0, heard: 'where is my order', steps: ['menu', 'other'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
