import type { Clock, TimerHandle } from '../../core/plugin-api.js';
import type { Ort, OrtSession, OrtTensor } from './runtime.js';

/** Silero's LSTM state: [2 layers][64] for h and for c. */
export const STATE = 128;

/** One call's side of the batch: a window to classify and its LSTM state. */
export interface WindowClient {
  readonly rate: 8000 | 16000;
  /** The window to classify (256 samples at 8 kHz, 512 at 16 kHz, floats in -1..1). */
  window(): Float32Array;
  readonly h: Float32Array;
  readonly c: Float32Array;
  /** The verdict: speech probability, or NaN when inference failed. h and c were updated in place. */
  onVerdict(p: number): void;
}

interface Buffers {
  input: Float32Array;
  h: Float32Array;
  c: Float32Array;
}

/**
 * Collects the windows of all calls for `batchMs` and classifies them in one
 * session.run: per window a batch of 64 costs ≈0.1 ms against ≈0.25–0.8 ms
 * alone. One run at a time (the session is single-threaded); windows that
 * arrive meanwhile go into the next batch.
 */
export class SileroBatcher {
  private queue: WindowClient[] = [];
  private spare: WindowClient[] = [];
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private readonly srTensors = new Map<number, OrtTensor>();
  private bufs: Buffers = { input: new Float32Array(0), h: new Float32Array(0), c: new Float32Array(0) };
  /** Windows classified and session.run calls made (for the bench). */
  windows = 0;
  runs = 0;
  failures = 0;

  constructor(
    private readonly ort: Ort,
    private readonly session: OrtSession,
    private readonly clock: Clock,
    private readonly batchMs: number,
    private readonly onRun: (ms: number, size: number) => void = () => {},
    private readonly onFailure: (e: unknown) => void = () => {},
  ) {}

  submit(c: WindowClient): void {
    this.queue.push(c);
    if (this.timer === undefined && !this.running) this.timer = this.clock.setTimeout(this.fire, this.batchMs);
  }

  /** Classifies everything submitted so far now; resolves when no window is waiting or in flight. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.running) await this.running;
      else if (this.queue.length) {
        this.cancelTimer();
        this.running = this.drain();
      } else return;
    }
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    if (!this.running) this.running = this.drain();
  };

  private cancelTimer(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = this.spare;
        await this.runBatch(batch, 16000);
        await this.runBatch(batch, 8000);
        batch.length = 0;
        this.spare = batch;
      }
    } finally {
      this.running = undefined;
    }
  }

  private async runBatch(all: WindowClient[], rate: 8000 | 16000): Promise<void> {
    let n = 0;
    for (const c of all) if (c.rate === rate) n++;
    if (n === 0) return;
    const win = rate === 16000 ? 512 : 256;
    this.ensure(n * win, n * STATE);
    const { input, h, c } = this.bufs;
    const half = n * 64;
    let j = 0;
    const members: WindowClient[] = [];
    for (const cl of all) {
      if (cl.rate !== rate) continue;
      input.set(cl.window(), j * win);
      // [layer][batch][64]
      for (let k = 0; k < 64; k++) {
        h[j * 64 + k] = cl.h[k];
        h[half + j * 64 + k] = cl.h[64 + k];
        c[j * 64 + k] = cl.c[k];
        c[half + j * 64 + k] = cl.c[64 + k];
      }
      members.push(cl);
      j++;
    }
    const t0 = performance.now();
    let out: Record<string, OrtTensor>;
    try {
      out = await this.session.run({
        input: new this.ort.Tensor('float32', input.subarray(0, n * win), [n, win]),
        sr: this.sr(rate),
        h: new this.ort.Tensor('float32', h.subarray(0, n * STATE), [2, n, 64]),
        c: new this.ort.Tensor('float32', c.subarray(0, n * STATE), [2, n, 64]),
      });
    } catch (e) {
      this.failures++;
      this.onFailure(e);
      for (const m of members) m.onVerdict(Number.NaN);
      return;
    }
    this.runs++;
    this.windows += n;
    this.onRun(performance.now() - t0, n);
    const p = out.output.data as Float32Array;
    const hn = out.hn.data as Float32Array;
    const cn = out.cn.data as Float32Array;
    for (let i = 0; i < n; i++) {
      const m = members[i];
      for (let k = 0; k < 64; k++) {
        m.h[k] = hn[i * 64 + k];
        m.h[64 + k] = hn[half + i * 64 + k];
        m.c[k] = cn[i * 64 + k];
        m.c[64 + k] = cn[half + i * 64 + k];
      }
      m.onVerdict(p[i]);
    }
  }

  private sr(rate: number): OrtTensor {
    let t = this.srTensors.get(rate);
    if (!t) this.srTensors.set(rate, (t = new this.ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), [])));
    return t;
  }

  private ensure(inputLen: number, stateLen: number): void {
    if (this.bufs.input.length >= inputLen && this.bufs.h.length >= stateLen) return;
    const grow = (x: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, x)));
    this.bufs = { input: new Float32Array(grow(inputLen)), h: new Float32Array(grow(stateLen)), c: new Float32Array(grow(stateLen)) };
  }

  stop(): void {
    this.cancelTimer();
  }
}
