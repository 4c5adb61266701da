import type { Worker } from 'node:worker_threads';
import { VoicebotError } from '../errors/index.js';

/** What a plugin tells the pool about its worker threads. */
export interface WorkerPoolOptions<J, R> {
  /** What a job is, for coded errors: "Flite synthesis", "PocketSphinx decoding". */
  what: string;
  /** Most threads at once. They are started as jobs need them (or all by start()). */
  threads: number;
  /** Jobs that may wait for a thread; beyond it run() rejects at once (retryable) instead of answering late. */
  maxQueue: number;
  /** A new worker thread. */
  create(): Worker;
  /**
   * For a worker that loads something before it takes jobs: judges its messages until then —
   * true once it is ready, a coded error if it could not start, undefined for anything else.
   * Absent: a worker takes jobs at once.
   */
  startup?(message: unknown): true | VoicebotError | undefined;
  /** Posts job `id` to the worker. */
  send(worker: Worker, id: number, job: J): void;
  /** The worker's reply to a job (a message with that job's `id`): its result, or throw a coded error. */
  result(message: { id: number }, job: J): R;
  /** The error for a job whose worker crashed or exited (retryable: a new worker takes the next job). */
  crashed(why: string, job: J | undefined): VoicebotError;
  /** The error for a full queue; default VB_ERR_WORKER_QUEUE_FULL. */
  queueFull?(waiting: number): VoicebotError;
  /** Ends a worker; default terminate(). */
  stopWorker?(worker: Worker): Promise<void>;
}

interface Job<J, R> {
  id: number;
  input: J;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

interface Slot<J, R> {
  worker: Worker;
  ready: boolean;
  busy: Job<J, R> | undefined;
}

/**
 * A small pool of worker threads for CPU-heavy plugin work (synthesis, decoding) that must never
 * stall the 20 ms audio pacing of other calls. Jobs wait in a bounded queue; an aborted job is
 * dropped from the queue (a running one finishes in its thread and is discarded); a crashed thread
 * is replaced by the next job. Threads start one at a time (native libraries may keep state
 * process-wide), are unref'd while idle, and stop() ends them all. run() after stop() starts anew.
 */
export class WorkerPool<J, R> {
  private readonly slots: Slot<J, R>[] = [];
  private readonly queue: Job<J, R>[] = [];
  private seq = 0;
  private spawning: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: WorkerPoolOptions<J, R>) {}

  /** Threads running (or starting). */
  get threads(): number {
    return this.slots.length;
  }

  /** Jobs waiting for a thread. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Starts every thread, one at a time, and waits until each is ready. */
  start(): Promise<void> {
    this.stopped = false;
    this.starting ??= (async () => {
      while (this.slots.length < this.opts.threads && !this.stopped) {
        if (this.spawning) await this.spawning;
        else await this.spawnOne();
      }
    })();
    this.starting.catch(() => (this.starting = undefined));
    return this.starting;
  }

  run(input: J, signal?: AbortSignal): Promise<R> {
    this.stopped = false;
    if (signal?.aborted) return Promise.reject(this.cancelled());
    // Jobs not yet handed to an idle thread do not wait.
    const waiting = this.queue.length - this.slots.filter((s) => s.ready && !s.busy).length;
    if (waiting >= this.opts.maxQueue) return Promise.reject(this.opts.queueFull?.(waiting) ?? new VoicebotError('VB_ERR_WORKER_QUEUE_FULL', { what: this.opts.what, waiting, threads: this.opts.threads }));
    return new Promise<R>((resolve, reject) => {
      const job: Job<J, R> = { id: ++this.seq, input, resolve, reject };
      if (signal) {
        const onAbort = (): void => {
          const i = this.queue.indexOf(job);
          if (i >= 0) this.queue.splice(i, 1);
          reject(this.cancelled());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const done = (): void => signal.removeEventListener('abort', onAbort);
        job.resolve = (r) => (done(), resolve(r));
        job.reject = (e) => (done(), reject(e));
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /** Ends every thread; waiting and running jobs reject with VB_ERR_CANCELLED. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.starting = undefined;
    const slots = this.slots.splice(0);
    for (const j of this.queue.splice(0)) j.reject(this.cancelled(' (stopping)'));
    for (const s of slots) s.busy?.reject(this.cancelled(' (stopping)'));
    await Promise.all(slots.map((s) => (this.opts.stopWorker ? this.opts.stopWorker(s.worker) : s.worker.terminate().then(() => undefined, () => undefined))));
  }

  private cancelled(why = ''): VoicebotError {
    return new VoicebotError('VB_ERR_CANCELLED', { what: `${this.opts.what}${why}` });
  }

  private pump(): void {
    while (this.queue.length) {
      const slot = this.slots.find((s) => s.ready && !s.busy);
      if (!slot) {
        if (this.slots.length < this.opts.threads && !this.stopped && !this.spawning) {
          // Settled by spawnOne itself (it pumps once the thread is ready).
          this.spawnOne().catch(() => undefined);
          // A thread that is ready at once takes the job now.
          if (!this.opts.startup) continue;
        }
        return;
      }
      const job = this.queue.shift()!;
      slot.busy = job;
      // Keep the process alive while a job runs; an idle pool never does.
      slot.worker.ref();
      this.opts.send(slot.worker, job.id, job.input);
    }
  }

  private spawnOne(): Promise<void> {
    const worker = this.opts.create();
    const slot: Slot<J, R> = { worker, ready: !this.opts.startup, busy: undefined };
    this.slots.push(slot);
    if (slot.ready) worker.unref();
    const up = new Promise<void>((resolve, reject) => {
      if (slot.ready) resolve();
      const remove = (): void => {
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
      };
      worker.on('message', (m: unknown) => {
        if (!slot.ready) {
          const verdict = this.opts.startup!(m);
          if (verdict === true) {
            slot.ready = true;
            worker.unref();
            resolve();
          } else if (verdict) {
            remove();
            void (this.opts.stopWorker ? this.opts.stopWorker(worker) : worker.terminate());
            reject(verdict);
          }
          return;
        }
        const job = slot.busy;
        slot.busy = undefined;
        worker.unref();
        const id = (m as { id?: unknown } | null)?.id;
        if (job && job.id === id) {
          try {
            job.resolve(this.opts.result(m as { id: number }, job.input));
          } catch (e) {
            job.reject(e);
          }
        }
        this.pump();
      });
      const fail = (why: string): void => {
        const err = this.opts.crashed(why, slot.busy?.input);
        // Also when stop() already dropped the slot: a start() waiting for this thread must settle.
        if (!slot.ready) reject(this.stopped ? this.cancelled(' (stopping)') : err);
        if (!this.slots.includes(slot)) return;
        remove();
        const job = slot.busy;
        slot.busy = undefined;
        job?.reject(err);
        if (this.queue.length) this.pump();
      };
      worker.on('error', (e) => fail(`worker thread failed: ${e.message}`));
      worker.on('exit', (code) => fail(`worker thread exited with code ${code}`));
    });
    if (!slot.ready) {
      const settled = up.then(
        () => this.pump(),
        (e: unknown) => {
          // No thread comes up (its library or model went away?): the waiting jobs fail now, not never.
          if (this.slots.length === 0) for (const j of this.queue.splice(0)) j.reject(e);
        },
      );
      this.spawning = settled;
      void settled.then(() => {
        if (this.spawning === settled) this.spawning = undefined;
      });
    }
    return up;
  }
}
