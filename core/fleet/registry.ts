/**
 * The worker registry in Redis (ioredis). Each worker keeps one JSON entry
 * under `<prefix>:worker:<id>` with a TTL it renews every heartbeat, and its
 * id in the set `<prefix>:workers`; a worker that dies stops renewing and its
 * entry expires within `ttl`. Edges read the set and the entries (never
 * SCAN) and drop ids whose entry is gone.
 */
import { Redis } from 'ioredis';
import { VoicebotError } from '../errors/index.js';
import type { Logger } from '../logging.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { redisLabel } from './labels.js';

export { redisLabel };

/** Bumped when edges and workers stop understanding each other's stream protocol. */
export const FLEET_PROTOCOL = 1;

export interface WorkerEntry {
  id: string;
  /** Where edges stream calls (ws:// or wss://). */
  url: string;
  /** Most concurrent calls; 0 = no limit. */
  capacity: number;
  load: number;
  /** Package version, for people; `protocol` decides compatibility. */
  version: string;
  protocol: number;
  draining: boolean;
  host: string;
  pid: number;
  /** Wall-clock ms of this write. */
  updatedAt: number;
}

export const keys = (prefix: string): { set: string; entry: (id: string) => string } => ({
  set: `${prefix}:workers`,
  entry: (id) => `${prefix}:worker:${id}`,
});

/** One ioredis client that fails fast per command and keeps reconnecting in the background. */
export function connectRedis(url: string, log: Logger): Redis {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (n) => Math.min(100 * 2 ** n, 2000),
  });
  let reported = false;
  r.on('error', (e: Error) => {
    if (reported) return;
    reported = true;
    const err = new VoicebotError('VB_ERR_FLEET_REDIS', { url: redisLabel(url), detail: e.message });
    log.error({ code: err.code }, err.message);
  });
  r.on('ready', () => {
    if (reported) log.info({ redis: redisLabel(url) }, 'worker registry reachable again');
    reported = false;
  });
  return r;
}

/** Worker side: keeps this worker's entry alive while it runs. */
export class WorkerRegistration {
  private timer: TimerHandle | undefined;
  private pending = false;
  private lastOk = false;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly entry: () => Omit<WorkerEntry, 'updatedAt'>,
    private readonly heartbeatMs: number,
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The last write reached Redis. */
  get registered(): boolean {
    return this.lastOk && !this.stopped;
  }

  async start(): Promise<void> {
    await this.redis.connect().catch(() => {}); // reported by the client's error handler; heartbeats retry
    await this.write();
    this.schedule();
  }

  /** Write now (load or draining changed); writes that overlap are coalesced into one. */
  update(): void {
    if (this.stopped || this.pending) return;
    this.pending = true;
    // Coalesce a burst of call starts/ends into one write.
    this.clock.setTimeout(() => {
      this.pending = false;
      void this.write();
    }, 10);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    const k = keys(this.prefix);
    const id = this.entry().id;
    await Promise.race([this.redis.multi().del(k.entry(id)).srem(k.set, id).exec(), new Promise((r) => setTimeout(r, 1000))]).catch(() => {});
    this.redis.disconnect();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.write().finally(() => this.schedule());
    }, this.heartbeatMs);
  }

  private async write(): Promise<void> {
    if (this.stopped) return;
    const e: WorkerEntry = { ...this.entry(), updatedAt: this.clock.wallNow() };
    const k = keys(this.prefix);
    try {
      await this.redis.multi().set(k.entry(e.id), JSON.stringify(e), 'PX', this.ttlMs).sadd(k.set, e.id).exec();
      if (!this.lastOk) this.log.info({ id: e.id, url: e.url }, 'registered in the worker registry');
      this.lastOk = true;
    } catch {
      this.lastOk = false; // the client's error handler reported it once
    }
  }
}

/** Edge side: the registry's current entries (ids without an entry are pruned from the set). */
export async function listWorkers(redis: Redis, prefix: string): Promise<WorkerEntry[]> {
  const k = keys(prefix);
  const ids = await redis.smembers(k.set);
  if (ids.length === 0) return [];
  const raw = await redis.mget(ids.map(k.entry));
  const out: WorkerEntry[] = [];
  const gone: string[] = [];
  raw.forEach((v, i) => {
    if (v === null) return void gone.push(ids[i]);
    try {
      const e = JSON.parse(v) as WorkerEntry;
      if (typeof e.id === 'string' && typeof e.url === 'string' && /^wss?:\/\//.test(e.url)) out.push(e);
    } catch {
      gone.push(ids[i]);
    }
  });
  if (gone.length) await redis.srem(k.set, ...gone).catch(() => {});
  return out;
}
