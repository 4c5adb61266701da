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
import { Dispatcher } from './dispatcher.js';
import { drain, type DrainOutcome } from './drain.js';
import { VoicebotMetrics } from './metrics.js';
import { OpsServer, type Readiness } from './ops-server.js';
import { probeWorker } from './probe.js';
import { FLEET_PROTOCOL, WorkerRegistration, connectRedis, redisLabel } from './registry.js';

/** How often an edge re-reads the registry. */
export const REFRESH_MS = 500;

export interface FleetOptions {
  version: string;
  clock?: Clock;
  /** Worker id in the registry (default host-pid-random; Kubernetes: the pod name via VOICEBOT_WORKER_ID). */
  workerId?: string;
}

export class FleetNode {
  readonly metrics: VoicebotMetrics;
  readonly ops: OpsServer | undefined;
  readonly registration: WorkerRegistration | undefined;
  readonly dispatcher: Dispatcher | undefined;
  readonly workerId: string;
  private readonly clock: Clock;

  constructor(
    private readonly app: VoicebotApp,
    private readonly log: Logger,
    opts: FleetOptions,
  ) {
    const { role, config } = app;
    const f = config.settings.fleet;
    this.clock = opts.clock ?? realClock;
    this.workerId = opts.workerId ?? `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
    if (f.redis && role === 'worker') {
      this.registration = new WorkerRegistration(
        connectRedis(f.redis, log),
        f.keyPrefix,
        () => ({
          id: this.workerId,
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
        this.clock,
        log.child({ fleet: 'registry' }),
      );
      // Load changes reach the registry at once, not only with the next heartbeat.
      app.onEvent((ev) => {
        if (ev.type === 'call.started' || ev.type === 'call.ended') this.registration?.update();
      });
    }
    if (f.redis && role === 'edge') {
      this.dispatcher = new Dispatcher(connectRedis(f.redis, log), f.keyPrefix, f.dispatchBudgetMs, REFRESH_MS, this.clock, log.child({ fleet: 'dispatch' }));
      app.dispatcher = this.dispatcher;
    }
    this.metrics = new VoicebotMetrics(app, { capacity: () => (role === 'edge' ? 0 : f.capacity), registered: () => this.registration?.registered ?? false });
    if (this.dispatcher) this.dispatcher.onRetry = (code) => this.metrics.dispatchRetries.inc({ code });
    const ops = config.settings.ops;
    this.ops = ops ? new OpsServer(ops, () => this.readiness(), this.metrics.registry) : undefined;
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
