/**
 * Everything `voicebot run` adds for running in a fleet, around one app:
 * the ops HTTP server and metrics (every role), the worker's registry entry,
 * the edge's dispatcher and startup check, and the SIGTERM drain.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { VoicebotApp } from '../app/app.js';
import type { Logger } from '../logging.js';
import { realClock, type Clock } from '../time/clock.js';
import type { Dispatcher } from './dispatcher.js';
import { drain, type DrainOutcome } from './drain.js';
import { redisLabel } from './labels.js';
import type { VoicebotMetrics } from './metrics.js';
import type { OpsServer, Readiness } from './ops-server.js';
import { probeWorker } from './probe.js';
import type { WorkerRegistration } from './registry.js';

/** How often an edge re-reads the registry. */
export const REFRESH_MS = 500;

export interface FleetOptions {
  version: string;
  clock?: Clock;
  /** Worker id in the registry (default host-pid-random; Kubernetes: the pod name via VOICEBOT_WORKER_ID). */
  workerId?: string;
}

export class FleetNode {
  readonly metrics: VoicebotMetrics | undefined;
  readonly ops: OpsServer | undefined;
  readonly registration: WorkerRegistration | undefined;
  readonly dispatcher: Dispatcher | undefined;
  readonly workerId: string;
  private readonly clock: Clock;

  /**
   * Loads only what the config uses (ioredis with settings.fleet.redis,
   * prom-client with settings.ops), so a plain `voicebot run` pays for neither.
   */
  static async create(app: VoicebotApp, log: Logger, opts: FleetOptions): Promise<FleetNode> {
    const { role, config } = app;
    const f = config.settings.fleet;
    const clock = opts.clock ?? realClock;
    const workerId = opts.workerId ?? `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
    let registration: WorkerRegistration | undefined;
    let dispatcher: Dispatcher | undefined;
    if (f.redis && (role === 'worker' || role === 'edge')) {
      const { FLEET_PROTOCOL, WorkerRegistration, connectRedis } = await import('./registry.js');
      if (role === 'worker') {
        const reg = new WorkerRegistration(
          connectRedis(f.redis, log),
          f.keyPrefix,
          () => ({
            id: workerId,
            url: f.advertiseUrl ?? app.remote?.listenUrl ?? '',
            capacity: f.capacity,
            load: app.activeCalls,
            version: opts.version,
            protocol: FLEET_PROTOCOL,
            draining: app.draining,
            host: hostname(),
            pid: process.pid,
          }),
          f.heartbeatMs,
          f.ttlMs,
          clock,
          log.child({ fleet: 'registry' }),
        );
        // Load changes reach the registry at once, not only with the next heartbeat.
        app.onLoadChange(() => reg.update());
        registration = reg;
      } else {
        const { Dispatcher } = await import('./dispatcher.js');
        dispatcher = new Dispatcher(connectRedis(f.redis, log), f.keyPrefix, f.dispatchBudgetMs, REFRESH_MS, clock, log.child({ fleet: 'dispatch' }));
        app.dispatcher = dispatcher;
      }
    }
    let node: FleetNode | undefined;
    let metrics: VoicebotMetrics | undefined;
    let server: OpsServer | undefined;
    const ops = config.settings.ops;
    if (ops) {
      const [{ VoicebotMetrics }, { OpsServer }] = await Promise.all([import('./metrics.js'), import('./ops-server.js')]);
      const m = new VoicebotMetrics(app, { capacity: () => (role === 'edge' ? 0 : f.capacity), registered: () => registration?.registered ?? false });
      if (dispatcher) dispatcher.onRetry = (code) => m.dispatchRetries.inc({ code });
      metrics = m;
      server = new OpsServer(ops, () => node!.readiness(), m.registry);
    }
    node = new FleetNode(app, log, clock, workerId, registration, dispatcher, metrics, server);
    // OpenTelemetry API only (no-op until the user registers an SDK); small to load.
    (await import('./tracing.js')).traceCalls(app, opts.version);
    return node;
  }

  private constructor(
    private readonly app: VoicebotApp,
    private readonly log: Logger,
    clock: Clock,
    workerId: string,
    registration: WorkerRegistration | undefined,
    dispatcher: Dispatcher | undefined,
    metrics: VoicebotMetrics | undefined,
    ops: OpsServer | undefined,
  ) {
    this.metrics = metrics;
    this.ops = ops;
    this.clock = clock;
    this.workerId = workerId;
    this.registration = registration;
    this.dispatcher = dispatcher;
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (!this.app.isUp) reasons.push('plugins not started');
    if (this.app.draining) reasons.push('draining');
    if (this.registration && !this.registration.registered) reasons.push('not registered in the worker registry');
    if (this.dispatcher && !this.dispatcher.registryReachable) reasons.push('worker registry not reachable');
    return { ready: reasons.length === 0, reasons };
  }

  /** Before app.start(): the ops server answers /healthz at once (readyz stays false until up). */
  async listen(): Promise<void> {
    await this.ops?.listen();
  }

  /** After app.start(): register the worker / load the edge's view of the registry. */
  async start(): Promise<void> {
    await this.registration?.start();
    await this.dispatcher?.start();
  }

  /** The edge's startup check, as one line for people: can it reach a worker, and is its token accepted? */
  async checkWorkers(token: string | undefined): Promise<{ ok: boolean; line: string }> {
    const d = this.dispatcher;
    const redis = this.app.config.settings.fleet.redis;
    let url: string | undefined;
    if (d) {
      if (!d.registryReachable) return { ok: false, line: `edge check: the worker registry at ${redisLabel(redis ?? '')} is not reachable (VB_ERR_FLEET_REDIS); calls are refused until it is` };
      const t = d.pick(new Set());
      if (!t) return { ok: false, line: `edge check: the registry lists ${d.known.length} worker(s), none ready with free capacity; calls are refused until one registers` };
      url = t.url;
    } else url = this.app.remote?.workerUrl;
    if (!url || !token) return { ok: false, line: 'edge check: no worker URL or token configured' };
    const shown = url.replace(/[?#].*$/, '');
    const r = await probeWorker(url, token);
    return r.ok
      ? { ok: true, line: `edge check: worker ${shown} reachable, token accepted${d ? ` (${d.eligible().length} of ${d.known.length} registered worker(s) ready)` : ''}` }
      : { ok: false, line: `edge check: worker ${shown}: ${r.why}` };
  }

  /** SIGTERM: mark draining (registry + readiness), let calls finish, end the rest politely. */
  drain(force: AbortSignal): Promise<DrainOutcome> {
    const f = this.app.config.settings.fleet;
    return drain(this.app, {
      timeoutMs: f.drainTimeoutMs,
      message: f.drainMessage,
      clock: this.clock,
      log: this.log,
      force,
      onDrainStart: () => this.registration?.update(),
    });
  }

  /** Leave the registry (before app.stop(), so no edge picks a stopping worker). */
  async leave(): Promise<void> {
    await this.registration?.stop();
    this.dispatcher?.stop();
  }

  async close(): Promise<void> {
    await this.leave();
    await this.ops?.close();
  }
}
