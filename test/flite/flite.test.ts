import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { rms } from '../../core/audio/mix.js';
import { loadConfigText } from '../../core/config/load.js';
import { VoicebotError } from '../../core/errors/index.js';
import { ProviderError } from '../../core/plugins/errors.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { FLITE_VOICES, FliteEngine, FliteTts, flitePlugin, sharedFliteEngine } from '../../plugins/flite/index.js';
import { collect } from '../conformance/common.js';
import { ROOT } from '../cli/helpers.js';

// Real sockets/processes and CPU-bound work: generous limits, so a loaded machine (many test files on 2 cores) is slow, not failed.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const BUILT = existsSync(join(ROOT, 'dist/plugins/flite/index.js'));
/**
 * One fresh process (started before the in-process tests, so it runs beside them) for the two
 * tests of the built package: FliteTts speaks "Hello." from --input-type=module, then one engine
 * worker speaks 30 sentences (each one a WASI instance the garbage collector frees).
 */
let fresh: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> | undefined;
function freshProcess() {
  return (fresh ??= new Promise((resolve) => {
    const script = `
      const { FliteTts, FliteEngine } = await import(${JSON.stringify(join(ROOT, 'dist/plugins/flite/index.js'))});
      const p = new FliteTts('flite', {});
      await p.start();
      let n = 0;
      for await (const c of p.synthesize({ text: 'Hello.', sampleRate: 16000, language: 'en-US' })) n += c.samples.length;
      await p.stop();
      console.log('samples', n);
      const e = new FliteEngine(undefined, 1);
      e.acquire();
      let spoke = 0;
      for (let i = 0; i < 30; i++) {
        const r = await e.synthesize({ voice: 'slt', text: 'Say sales or support.', speed: 1 });
        if (r.samples.length > 16000) spoke++;
      }
      await e.release();
      console.log('spoke', spoke);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  }));
}
beforeAll(() => {
  if (BUILT) void freshProcess();
});

const plugins: FliteTts[] = [];
afterEach(async () => {
  for (const p of plugins.splice(0)) await p.stop();
});
function flite(...args: ConstructorParameters<typeof FliteTts>): FliteTts {
  const p = new FliteTts(...args);
  plugins.push(p);
  return p;
}

describe('flite tts', () => {
  it('every voice speaks at the rate its manifest declares', async () => {
    for (const voice of Object.keys(FLITE_VOICES) as (keyof typeof FLITE_VOICES)[]) {
      const declared = typeof flitePlugin.sampleRates === 'function' ? flitePlugin.sampleRates({ voice }) : [];
      expect(declared).toEqual([FLITE_VOICES[voice]]);
      const p = flite({ voice });
      await p.start();
      expect(p.capabilities.sampleRates).toEqual(declared);
      const chunks = await collect(p.synthesize({ text: 'Good morning.', sampleRate: declared[0], language: 'en-US' }));
      const n = chunks.reduce((a, c) => a + c.samples.length, 0);
      expect(n / declared[0], voice).toBeGreaterThan(0.4);
      expect(Math.max(...chunks.map((c) => rms(c.samples))), voice).toBeGreaterThan(300);
    }
    expect(FLITE_VOICES.kal).toBe(8000);
  });

  it('streams in chunks of chunkMs, sentence by sentence', async () => {
    const p = flite({ chunkMs: 20 });
    await p.start();
    const chunks = await collect(p.synthesize({ text: 'First sentence here. And a second one.', sampleRate: 16000, language: 'en-US' }));
    expect(chunks.length).toBeGreaterThan(50);
    for (const c of chunks.slice(0, -1)) expect(c.samples.length).toBeLessThanOrEqual(320);
    // Two sentences are longer than one.
    const one = await collect(p.synthesize({ text: 'First sentence here.', sampleRate: 16000, language: 'en-US' }));
    const len = (cs: { samples: Int16Array }[]) => cs.reduce((a, c) => a + c.samples.length, 0);
    expect(len(chunks)).toBeGreaterThan(len(one) * 1.5);
  });

  it('resamples when asked for another rate than the voice produces', async () => {
    const p = flite({ voice: 'kal' });
    await p.start();
    const at8 = await collect(p.synthesize({ text: 'Hello.', sampleRate: 8000, language: 'en-US' }));
    const at16 = await collect(p.synthesize({ text: 'Hello.', sampleRate: 16000, language: 'en-US' }));
    const n8 = at8.reduce((a, c) => a + c.samples.length, 0);
    const n16 = at16.reduce((a, c) => a + c.samples.length, 0);
    expect(at16.every((c) => c.sampleRate === 16000)).toBe(true);
    expect(Math.abs(n16 - 2 * n8)).toBeLessThan(64);
  });

  it('speed changes the duration', async () => {
    const text = 'This sentence is spoken at two speeds.';
    const dur = async (speed: number) => {
      const p = flite({ speed });
      await p.start();
      return (await collect(p.synthesize({ text, sampleRate: 16000, language: 'en-US' }))).reduce((a, c) => a + c.samples.length, 0);
    };
    const normal = await dur(1);
    const fast = await dur(1.5);
    expect(fast).toBeLessThan(normal * 0.8);
  });

  it('a per-request Flite voice is used; a foreign voice name falls back to the configured one', async () => {
    const p = flite({ voice: 'slt' });
    await p.start();
    const base = await collect(p.synthesize({ text: 'Hello there.', sampleRate: 16000, language: 'en-US' }));
    const foreign = await collect(p.synthesize({ text: 'Hello there.', sampleRate: 16000, language: 'en-US', voice: 'alloy' }));
    const awb = await collect(p.synthesize({ text: 'Hello there.', sampleRate: 16000, language: 'en-US', voice: 'awb' }));
    const flat = (cs: { samples: Int16Array }[]) => Array.from(cs.flatMap((c) => [...c.samples]));
    expect(flat(foreign)).toEqual(flat(base)); // deterministic synthesis
    expect(flat(awb)).not.toEqual(flat(base));
  });

  it('compiles the WASM module once per process and shares it', async () => {
    const a = flite();
    const b = flite({ voice: 'rms' });
    await Promise.all([a.start(), b.start()]);
    const engine = sharedFliteEngine();
    expect(engine.load()).toBe(engine.load());
  });

  /** One single-thread engine for the next two tests: the 21 MB module is compiled once, not per test. */
  let single: FliteEngine | undefined;
  const oneThread = (): FliteEngine => (single ??= new FliteEngine(undefined, 1));

  it('synthesis runs in a worker thread: the event loop keeps turning meanwhile', async () => {
    const engine = oneThread();
    engine.acquire();
    try {
      await engine.load();
      let turns = 0;
      let running = true;
      const spin = (): void => {
        turns++;
        if (running) setImmediate(spin);
      };
      setImmediate(spin);
      const text = 'This is a long passage that keeps Flite busy for a good while. '.repeat(4);
      const r = await engine.synthesize({ voice: 'slt', text, speed: 1 });
      running = false;
      expect(r.samples.length / r.sampleRate).toBeGreaterThan(10);
      // Synchronous WASI on this thread would have blocked the loop for the whole synthesis.
      expect(turns).toBeGreaterThan(100);
      expect(engine.threads).toBe(1);
    } finally {
      await engine.release();
    }
    expect(engine.threads).toBe(0);
  });

  it('abort stops a queued synthesis without waiting for it', async () => {
    const engine = oneThread();
    engine.acquire();
    try {
      await engine.load();
      const order: string[] = [];
      const long = engine.synthesize({ voice: 'slt', text: 'A long first job to occupy the only worker. '.repeat(2), speed: 1 }).finally(() => order.push('first job done'));
      const ac = new AbortController();
      const queued = engine.synthesize({ voice: 'slt', text: 'Never spoken.', speed: 1 }, ac.signal).finally(() => order.push('queued settled'));
      ac.abort();
      const e = await queued.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VoicebotError);
      expect((e as VoicebotError).code).toBe('VB_ERR_CANCELLED');
      expect((await long).samples.length).toBeGreaterThan(0);
      // The queued job settled without waiting for the worker to finish the first one.
      expect(order).toEqual(['queued settled', 'first job done']);
    } finally {
      await engine.release();
    }
  });

  it('a missing flite.wasm is a coded, non-retryable ProviderError at start', async () => {
    const broken = new FliteEngine('/nonexistent/flite.wasm');
    const p = flite({}, {}, 'flite', broken);
    const e = await p.start().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect((e as ProviderError).code).toBe('VB_ERR_FLITE_LOAD');
    expect((e as ProviderError).retryable).toBe(false);
    expect((e as ProviderError).message).toContain('npm install');
  });

  it('an unknown voice is rejected: by the config schema, and by the constructor', async () => {
    const yaml = 'version: 1\nplugins:\n  telephony: { provider: mock }\n  tts: { provider: flite, voice: hal9000 }\nflows:\n  main:\n    steps:\n      hi: { say: "Hi." }\n';
    const { diagnostics } = await loadConfigText(yaml, '/tmp/flite.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.map((d) => d.code)).toContain('VB_ERR_CONFIG_PLUGIN_OPTIONS');
    expect(() => new FliteTts({ voice: 'hal9000' as never })).toThrow(/VB_ERR_FLITE_VOICE|Unknown Flite voice/);
  });

  it.skipIf(!BUILT)('speaks from a fresh process started with --input-type=module, printing nothing on stderr', { timeout: 310_000 }, async () => {
    const r = await freshProcess();
    expect(r.stdout).toMatch(/samples \d{4,}/);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
  it.skipIf(!BUILT)('survives many sentences in one worker (node:wasi aborted the process after a handful)', { timeout: 310_000 }, async () => {
    const r = await freshProcess();
    expect(r.signal).toBeNull();
    expect(r.stdout).toContain('spoke 30');
    expect(r.status).toBe(0);
  });
});
