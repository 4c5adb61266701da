/**
 * CMU PocketSphinx (Debian's libpocketsphinx3 + pocketsphinx-en-us), called
 * through koffi (FFI) in worker threads: decoding an utterance costs
 * 50–350 ms of CPU, which must never stall the 20 ms pacing of other calls.
 * Each worker loads the model once (≈300 ms, ≈105 MB RSS) and decodes one
 * utterance at a time.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { VoicebotError, WorkerPool } from '../../core/plugin-api.js';

export const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';
export const DEFAULT_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/local/lib'];
/** Longest a decode of one utterance can take before stop() gives up on it (ms). */
const STOP_GRACE_MS = 10_000;
const LIBS = ['libpocketsphinx.so.3', 'libsphinxbase.so.3'];

export interface DecoderPaths {
  hmm: string;
  lm: string;
  dict: string;
  pocketsphinx: string;
  sphinxbase: string;
}

export interface LocateOptions {
  modelDir?: string;
  libDir?: string;
}

/** Where the model and libraries are; a coded VB_ERR_POCKETSPHINX_MISSING naming what is absent. */
export function locate(opts: LocateOptions = {}): DecoderPaths {
  const modelDir = opts.modelDir ?? DEFAULT_MODEL_DIR;
  const model = { hmm: join(modelDir, 'en-us'), lm: join(modelDir, 'en-us.lm.bin'), dict: join(modelDir, 'cmudict-en-us.dict') };
  const missing = Object.values(model).filter((p) => !existsSync(p));
  const dirs = opts.libDir ? [opts.libDir] : DEFAULT_LIB_DIRS;
  const libs = LIBS.map((l) => dirs.map((d) => join(d, l)).find((p) => existsSync(p)));
  LIBS.forEach((l, i) => libs[i] === undefined && missing.push(`${l} (looked in ${dirs.join(', ')})`));
  if (missing.length) throw new VoicebotError('VB_ERR_POCKETSPHINX_MISSING', { detail: `missing ${missing.join(', ')}` });
  return { ...model, pocketsphinx: libs[0]!, sphinxbase: libs[1]! };
}

export interface DecodeResult {
  text: string;
  /** The words came from the hint grammar, not the free-speech model. */
  fromHints: boolean;
  /** CPU time the worker spent, ms. */
  decodeMs: number;
}

/**
 * Worker source (CommonJS, evaluated, so it runs the same from dist/ and from
 * the TypeScript sources under vitest).
 *
 * Hints: the n-gram model hears short menu words poorly ("support" → "it's
 * apart"). When the caller's words contain no hint, the same audio is decoded
 * again with a grammar of the hints alone; a grammar always outputs one of
 * its phrases, so its result counts only when its acoustic score beats the
 * free-speech score by `hintMargin` per 10 ms frame (measured on Flite speech:
 * spoken hints +20..+28, other sentences −19..+8).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const koffi = require(workerData.koffiPath);
const P = workerData.paths;
let dec, f, lmSearch;
const grammars = new Map();
try {
  const sb = koffi.load(P.sphinxbase);
  const ps = koffi.load(P.pocketsphinx);
  f = {
    parse: sb.func('void *cmd_ln_parse_r(void *inout, void *defn, int argc, const char **argv, int strict)'),
    args: ps.func('void *ps_args()'),
    init: ps.func('void *ps_init(void *config)'),
    start: ps.func('int ps_start_utt(void *ps)'),
    raw: ps.func('int ps_process_raw(void *ps, const int16_t *data, size_t n, int no_search, int full_utt)'),
    end: ps.func('int ps_end_utt(void *ps)'),
    hyp: ps.func('const char *ps_get_hyp(void *ps, _Out_ int *score)'),
    jsgf: ps.func('int ps_set_jsgf_string(void *ps, const char *name, const char *jsgf)'),
    setSearch: ps.func('int ps_set_search(void *ps, const char *name)'),
    getSearch: ps.func('const char *ps_get_search(void *ps)'),
    lookup: ps.func('const char *ps_lookup_word(void *ps, const char *word)'),
    free: ps.func('int ps_free(void *ps)'),
  };
  // The log FILE* is process-global in sphinxbase: with -logfn every ps_init
  // fclose()s the file another thread may be writing (a crash). Disable the
  // log instead; setting NULL twice closes nothing.
  sb.func('void err_set_logfp(void *stream)')(null);
  const argv = ['-hmm', P.hmm, '-lm', P.lm, '-dict', P.dict];
  const cfg = f.parse(null, f.args(), argv.length, argv, 1);
  if (!cfg) throw new Error('the model options were refused');
  dec = f.init(cfg);
  if (!dec) throw new Error('ps_init failed: the model files under ' + P.hmm + ' are unreadable or damaged');
  lmSearch = f.getSearch(dec);
  parentPort.postMessage({ type: 'ready' });
} catch (e) {
  parentPort.postMessage({ type: 'failed', error: String((e && e.message) || e) });
}

function decode(pcm, search) {
  if (f.setSearch(dec, search) < 0) throw new Error('no search ' + search);
  if (f.start(dec) < 0) throw new Error('ps_start_utt failed');
  f.raw(dec, pcm, pcm.length, 0, 1);
  f.end(dec);
  const score = [0];
  const h = f.hyp(dec, score);
  return { text: (h || '').trim(), score: score[0] };
}

/** A free-speech answer this many words longer than the longest hint is a sentence, not a misheard menu word: no grammar pass. */
const EXTRA_WORDS = 3;

function words(s) {
  return s.toLowerCase().replace(/[^a-z' ]+/g, ' ').split(' ').filter(Boolean);
}

/** A grammar of the hints the dictionary knows; undefined when none is usable. */
function grammarFor(hints) {
  const phrases = [];
  for (const h of hints) {
    const w = words(h);
    if (w.length && w.every((x) => f.lookup(dec, x))) phrases.push(w.join(' '));
  }
  if (!phrases.length) return undefined;
  const key = [...new Set(phrases)].sort().join('|');
  let name = grammars.get(key);
  if (name) return name;
  if (grammars.size >= 64) return undefined; // flows have a bounded set of menus
  name = 'hints' + grammars.size;
  const src = '#JSGF V1.0;\\ngrammar ' + name + ';\\npublic <' + name + '> = ' + key.split('|').join(' | ') + ';\\n';
  if (f.jsgf(dec, name, src) < 0) return undefined;
  grammars.set(key, name);
  return name;
}

parentPort.on('message', (job) => {
  if (job.type === 'stop') {
    // Reached only between decodes: the native decoder is idle, so freeing it is safe.
    if (dec) f.free(dec);
    dec = undefined;
    parentPort.close();
    return;
  }
  const t0 = performance.now();
  try {
    const pcm = new Int16Array(job.pcm);
    const lm = decode(pcm, lmSearch);
    let text = lm.text;
    let fromHints = false;
    if (job.hints && job.hints.length) {
      const said = ' ' + words(lm.text).join(' ') + ' ';
      const heard = job.hints.some((h) => said.includes(' ' + words(h).join(' ') + ' '));
      // A long free-speech answer is not one menu word: no grammar then.
      const short = words(lm.text).length <= EXTRA_WORDS + Math.max(...job.hints.map((h) => words(h).length));
      const g = heard || !short ? undefined : grammarFor(job.hints);
      if (g) {
        const r = decode(pcm, g);
        const frames = Math.max(1, pcm.length / 160);
        if (r.text && (r.score - lm.score) / frames >= job.hintMargin) {
          text = r.text;
          fromHints = true;
        }
      }
    }
    parentPort.postMessage({ type: 'result', id: job.id, text, fromHints, decodeMs: performance.now() - t0 });
  } catch (e) {
    parentPort.postMessage({ type: 'result', id: job.id, error: String((e && e.message) || e) });
  }
});
`;

export interface PoolOptions {
  threads: number;
  hintMargin: number;
  /** Utterances that may wait for a thread; beyond it a decode fails at once (retryable) instead of answering late. */
  maxQueue: number;
}

interface DecodeJob {
  pcm: Int16Array;
  hints: readonly string[] | undefined;
}

/** A small pool of decoder threads shared by one plugin instance. */
export class DecoderPool {
  private readonly pool: WorkerPool<DecodeJob, DecodeResult>;

  constructor(paths: DecoderPaths, opts: PoolOptions) {
    const require = createRequire(import.meta.url);
    this.pool = new WorkerPool<DecodeJob, DecodeResult>({
      what: 'PocketSphinx decoding',
      threads: opts.threads,
      maxQueue: opts.maxQueue,
      create: () =>
        new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: { koffiPath: require.resolve('koffi'), paths },
          execArgv: [],
          stdout: false,
          stderr: false,
        }),
      // Each thread loads the model first (one thread at a time: sphinxbase keeps some state
      // process-wide, and two model loads at once are where a race would bite).
      startup: (m) => {
        const msg = m as { type?: string; error?: string };
        if (msg.type === 'ready') return true;
        if (msg.type === 'failed') return new VoicebotError('VB_ERR_POCKETSPHINX_MISSING', { detail: msg.error ?? 'the decoder did not start' });
        return undefined;
      },
      send: (worker, id, job) => {
        // A copy: the engine may reuse its buffer, and the copy's memory moves to the thread.
        const pcm = job.pcm.slice();
        worker.postMessage({ type: 'decode', id, pcm: pcm.buffer, hints: job.hints, hintMargin: opts.hintMargin }, [pcm.buffer]);
      },
      result: (m: { id: number; text?: string; fromHints?: boolean; decodeMs?: number; error?: string }) => {
        if (m.error !== undefined) throw new VoicebotError('VB_ERR_POCKETSPHINX_DECODE', { detail: m.error }, { retryable: false });
        return { text: m.text ?? '', fromHints: m.fromHints === true, decodeMs: m.decodeMs ?? 0 };
      },
      // A crashed thread is replaced by the next utterance, so one bad utterance does not end recognition.
      crashed: (why) => new VoicebotError('VB_ERR_POCKETSPHINX_DECODE', { detail: why }, { retryable: true }),
      queueFull: (waiting) =>
        new VoicebotError(
          'VB_ERR_POCKETSPHINX_DECODE',
          { detail: `${waiting} utterance(s) are already waiting for ${opts.threads} decoder thread(s); raise the threads or maxQueue option` },
          { retryable: true },
        ),
      stopWorker,
    });
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Starts the threads and waits until each loaded the model. */
  start(): Promise<void> {
    return this.pool.start();
  }

  decode(pcm: Int16Array, hints: readonly string[] | undefined, signal?: AbortSignal): Promise<DecodeResult> {
    return this.pool.run({ pcm, hints }, signal);
  }

  stop(): Promise<void> {
    return this.pool.stop();
  }
}

/**
 * Ask the thread to finish: terminating it while it is inside the native
 * decoder (loading the model, decoding) crashes the process, so the stop
 * message waits its turn behind the current work. terminate() only if the
 * thread does not answer at all.
 */
function stopWorker(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => void worker.terminate().catch(() => 0).finally(resolve), STOP_GRACE_MS);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.ref();
    try {
      worker.postMessage({ type: 'stop' });
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}
