import type { ForwardOptions, ForwardResult, RemoteAudioStream, RunRole, StreamEvent, StreamHandler, WorkerPicker } from '../../core/plugin-api.js';
import { VoicebotError } from '../../core/plugin-api.js';
import { silentLogger, type Logger, type PluginContext } from '../../core/plugin-api.js';
import { AudioStreamPlugin, type AudioStreamCapabilities } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import type { CallLeg } from '../../core/plugin-api.js';
import { realClock, type Clock } from '../../core/plugin-api.js';
import { EdgeStream, safeUrl, type EdgeSettings } from './edge.js';
import { CODECS, type Codec } from './protocol.js';
import { StreamServer, type WorkerSettings } from './worker.js';

export { EdgeStream } from './edge.js';
export { StreamServer, WorkerLeg } from './worker.js';
export { FrameSender, FrameDecoder } from './media.js';
export * from './protocol.js';

export interface WebSocketStreamOptions {
  /** Edge: the worker to stream calls to, e.g. ws://10.0.0.5:8081/calls. */
  url?: string;
  /** Shared secret both ends must hold (use ${VOICEBOT_STREAM_TOKEN}). */
  token: string;
  /** Worker: where to accept streams. */
  listen?: { host?: string; port?: number; path?: string };
  /** Codecs this end offers (edge, in order of preference) or accepts (worker). */
  codecs?: Codec[];
  /** Audio allowed to wait per direction when the network is slow; older frames are dropped beyond it. */
  maxBufferedMs?: number;
  /** How long a dropped stream may take to come back before the call is ended. */
  reconnectGraceMs?: number;
  /** Edge: time to connect and get `started`. */
  connectTimeoutMs?: number;
  /** Both: ping period; a peer that misses one ping is treated as gone. */
  pingIntervalMs?: number;
  /** Worker: an authenticated connection that sends no `start` within this is closed. */
  startTimeoutMs?: number;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8081,
  path: '/calls',
  codecs: ['l16', 'pcmu', 'pcma'] as Codec[],
  maxBufferedMs: 500,
  reconnectGraceMs: 5000,
  connectTimeoutMs: 5000,
  pingIntervalMs: 5000,
  startTimeoutMs: 5000,
};

/**
 * The audio-stream over WebSocket. On an edge it streams answered legs to a
 * worker; on a worker it accepts streams and hands each to the app as a
 * CallLeg; with role `all` it does both over loopback, and attach() returns
 * the worker-side leg (so the app runs unchanged).
 */
export class WebSocketAudioStream extends AudioStreamPlugin implements RemoteAudioStream {
  readonly capabilities: AudioStreamCapabilities = { remote: true };
  readonly options: WebSocketStreamOptions;
  private role: RunRole = 'all';
  private handler: StreamHandler | undefined;
  private server: StreamServer | undefined;
  private readonly edges = new Set<EdgeStream>();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private stopped = false;
  private draining = false;

  private readonly clock: Clock;

  constructor(
    options: WebSocketStreamOptions,
    ctx: Partial<PluginContext> = {},
    provider = 'websocket',
    /** settings.fleet: a worker's capacity (0 = no limit); with a registry an edge needs no `url`. */
    private readonly fleet: { capacity: number; registry: boolean } = {
      capacity: ctx.settings?.fleet?.capacity ?? 0,
      registry: Boolean(ctx.settings?.fleet?.redis),
    },
  ) {
    super(provider);
    this.options = options;
    this.log = ctx.logger ?? silentLogger();
    this.clock = ctx.clock ?? realClock;
  }

  setDraining(draining: boolean): void {
    this.draining = draining;
    if (this.server) this.server.draining = draining;
  }

  setRole(role: RunRole, onStream: StreamHandler | undefined): void {
    if (role === 'edge' && !this.options.url && !this.fleet.registry) {
      throw new VoicebotError('VB_ERR_WS_ROLE', {
        role,
        detail: 'needs plugins.audioStream.url: the worker to stream calls to, e.g. url: ws://127.0.0.1:8081/calls (next to token:), or settings.fleet.redis to pick workers from the registry.',
      });
    }
    this.role = role;
    this.handler = onStream;
  }

  get listenUrl(): string | undefined {
    return this.server?.url;
  }

  get workerUrl(): string | undefined {
    return this.role === 'edge' ? this.options.url : this.server?.url;
  }

  /** The worker end of this process (tests inspect its legs). */
  get streamServer(): StreamServer | undefined {
    return this.server;
  }

  private get settings(): WorkerSettings & EdgeSettings {
    const o = this.options;
    return {
      host: o.listen?.host ?? DEFAULTS.host,
      port: o.listen?.port ?? DEFAULTS.port,
      path: o.listen?.path ?? DEFAULTS.path,
      token: o.token,
      codecs: o.codecs ?? DEFAULTS.codecs,
      maxBufferedMs: o.maxBufferedMs ?? DEFAULTS.maxBufferedMs,
      reconnectGraceMs: o.reconnectGraceMs ?? DEFAULTS.reconnectGraceMs,
      connectTimeoutMs: o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      pingIntervalMs: o.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
      startTimeoutMs: o.startTimeoutMs ?? DEFAULTS.startTimeoutMs,
      capacity: this.fleet.capacity,
      url: o.url ?? '',
    };
  }

  protected override async _start(): Promise<void> {
    if (this.server || this.heartbeat) return;
    this.stopped = false;
    const s = this.settings;
    if (this.role !== 'edge') {
      const server = new StreamServer(s, this.log.child({ end: 'worker' }), this.clock);
      server.handler = this.handler;
      server.draining = this.draining;
      await server.listen();
      this.server = server;
      this.log.info({ url: server.url }, 'taking audio streams');
    }
    this.heartbeat = setInterval(() => {
      for (const e of this.edges) e.heartbeat();
    }, s.pingIntervalMs);
    this.heartbeat.unref();
  }

  protected override async _stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const e of [...this.edges]) e.close('shutdown');
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  /** In one process (role all): stream over loopback to our own worker end; resolve with the leg it surfaces. */
  protected async _attach(leg: CallLeg): Promise<CallLeg> {
    const server = this.server;
    const url = server?.url;
    if (!server || !url) {
      throw new VoicebotError('VB_ERR_PLUGIN_UNSUPPORTED', {
        provider: this.provider,
        slot: 'audioStream',
        feature: 'attach() without its worker end running in this process; start it, or use `voicebot run --role edge` / `--role worker`',
      });
    }
    const claim = server.claim(leg.info.id);
    const es = this.open(leg, undefined, url);
    try {
      await es.ready;
    } catch (e) {
      claim.cancel();
      throw e;
    }
    return claim.promise;
  }

  forward(leg: CallLeg, opts: ForwardOptions = {}): Promise<ForwardResult> {
    const url = this.role === 'edge' ? this.options.url : this.server?.url;
    if (opts.pick) return this.open(leg, opts.flow, url ?? '', opts.onEvent, opts.pick, opts.keepLegOnNoWorker).done;
    if (!url) {
      return Promise.resolve({
        reason: 'error',
        error: new VoicebotError('VB_ERR_WS_ROLE', { role: this.role, detail: 'has no worker to stream to: set plugins.audioStream.url.' }),
      });
    }
    return this.open(leg, opts.flow, url, opts.onEvent).done;
  }

  private open(leg: CallLeg, flow: string | undefined, url: string, onEvent?: (ev: StreamEvent) => void, pick?: WorkerPicker, keepLegOnNoWorker = false): EdgeStream {
    const log = this.log.child({ end: 'edge', callId: leg.info.id, ...(pick ? {} : { worker: safeUrl(url) }) });
    const es = new EdgeStream(leg, flow, { ...this.settings, url }, log, onEvent, pick, keepLegOnNoWorker);
    this.edges.add(es);
    void es.done.then(() => this.edges.delete(es));
    es.start();
    return es;
  }
}

export const websocketStreamPlugin = definePlugin<'audioStream', WebSocketStreamOptions>({
  slot: 'audioStream',
  name: 'websocket',
  description: 'Call audio over an authenticated WebSocket between an edge (telephony) and a worker (engine): voicebot run --role edge|worker',
  optionsSchema: {
    type: 'object',
    properties: {
      url: { type: 'string', pattern: '^wss?://', description: 'edge: the worker to stream calls to, e.g. ws://10.0.0.5:8081/calls' },
      token: { type: 'string', minLength: 16, description: 'shared secret (16+ characters), e.g. ${VOICEBOT_STREAM_TOKEN}; edges send it as Authorization: Bearer' },
      listen: {
        type: 'object',
        properties: {
          host: { type: 'string', description: 'default 127.0.0.1; 0.0.0.0 accepts other machines' },
          port: { type: 'integer', minimum: 0, maximum: 65535, description: 'default 8081; 0 picks a free port' },
          path: { type: 'string', pattern: '^/', description: 'default /calls' },
        },
        additionalProperties: false,
        description: 'worker: where to accept streams',
      },
      codecs: { type: 'array', items: { enum: [...CODECS] }, minItems: 1, uniqueItems: true, description: 'offered (edge, in order) / accepted (worker); default [l16, pcmu, pcma]' },
      maxBufferedMs: { type: 'integer', minimum: 40, maximum: 10000, description: 'audio allowed to wait per direction; the oldest is dropped beyond it (default 500)' },
      reconnectGraceMs: { type: 'integer', minimum: 0, maximum: 600000, description: 'how long a dropped stream may take to come back (default 5000)' },
      connectTimeoutMs: { type: 'integer', minimum: 100, maximum: 120000, description: 'edge: connect and start answer timeout (default 5000)' },
      pingIntervalMs: { type: 'integer', minimum: 100, maximum: 600000, description: 'liveness ping period (default 5000)' },
      startTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000, description: 'worker: close a connection that sends no start within this (default 5000)' },
    },
    required: ['token'],
    additionalProperties: false,
  },
  create: (options, ctx) =>
    new WebSocketAudioStream(options, ctx),
});
export default websocketStreamPlugin;
