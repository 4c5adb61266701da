/**
 * Edge side of the fleet: a cached view of the worker registry, refreshed
 * every `refreshMs`, and the choice of a worker per call — the least loaded
 * (load / capacity) among fresh, non-draining, protocol-compatible workers
 * with room, ties spread at random. Calls this edge placed since the last
 * refresh count toward a worker's load so a burst does not pile onto one.
 */
import type { Redis } from 'ioredis';
import type { WorkerPicker, WorkerTarget } from '../app/roles.js';
import type { Logger } from '../logging.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { FLEET_PROTOCOL, listWorkers, type WorkerEntry } from './registry.js';

/** A worker that refused a call or could not be reached is skipped for this long. */
export const COOLDOWN_MS = 2000;

export class Dispatcher implements WorkerPicker {
  private workers: WorkerEntry[] = [];
  private readonly placedSince = new Map<string, number>();
  private readonly cooldown = new Map<string, number>();
  private timer: TimerHandle | undefined;
  private stopped = false;
  private reachable = false;
  onRetry: ((code: string) => void) | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly budgetMs: number,
    private readonly refreshMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  /** The registry answered the last refresh. */
  get registryReachable(): boolean {
    return this.reachable;
  }

  get known(): readonly WorkerEntry[] {
    return this.workers;
  }

  async start(): Promise<void> {
    await this.redis.connect().catch(() => {});
    await this.refresh();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.redis.disconnect();
  }

  async refresh(): Promise<void> {
    try {
      this.workers = await listWorkers(this.redis, this.prefix);
      this.placedSince.clear();
      this.reachable = true;
    } catch (e) {
      // Keep the last view: calls go on being placed on workers that were fine a moment ago.
      if (this.reachable) this.log.warn({ err: (e as Error).message }, 'worker registry refresh failed; using the last list');
      this.reachable = false;
    }
  }

  /** Workers a call could go to now, best first is not implied. */
  eligible(exclude: ReadonlySet<string> = new Set()): WorkerEntry[] {
    const now = this.clock.now();
    return this.workers.filter((w) => {
      if (w.draining || w.protocol !== FLEET_PROTOCOL || exclude.has(w.id)) return false;
      const until = this.cooldown.get(w.id);
      if (until !== undefined && until > now) return false;
      return w.capacity === 0 || this.load(w) < w.capacity;
    });
  }

  pick(exclude: ReadonlySet<string>): WorkerTarget | undefined {
    const list = this.eligible(exclude);
    if (list.length === 0) return undefined;
    const score = (w: WorkerEntry): number => (w.capacity > 0 ? this.load(w) / w.capacity : this.load(w) / 1e6);
    let best = Infinity;
    let ties: WorkerEntry[] = [];
    for (const w of list) {
      const s = score(w);
      if (s < best - 1e-9) {
        best = s;
        ties = [w];
      } else if (Math.abs(s - best) <= 1e-9) ties.push(w);
    }
    const w = ties[Math.floor(this.random() * ties.length)];
    return { id: w.id, url: w.url };
  }

  placed(target: WorkerTarget): void {
    this.placedSince.set(target.id, (this.placedSince.get(target.id) ?? 0) + 1);
  }

  failed(target: WorkerTarget, code: string): void {
    this.cooldown.set(target.id, this.clock.now() + COOLDOWN_MS);
    this.log.warn({ worker: target.id, code }, `worker ${target.id} did not take a call (${code}); trying another`);
    this.onRetry?.(code);
  }

  private load(w: WorkerEntry): number {
    return w.load + (this.placedSince.get(w.id) ?? 0);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.refresh().finally(() => this.schedule());
    }, this.refreshMs);
  }
}
