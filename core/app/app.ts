import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { PacerClock } from '../audio/pacer.js';
import type { VoicebotConfig } from '../config/types.js';
import { TOKENS } from '../di/tokens.js';
import { createCallSession } from '../engine/call-engine.js';
import type { CallEvent, CallEventListener } from '../engine/events.js';
import { VoicebotError, toVoicebotError } from '../errors/index.js';
import { runFlow } from '../flow/runner.js';
import { realClock, type Clock } from '../time/clock.js';
import { createLogger, type Logger } from '../logging.js';
import type { PluginBase } from '../plugins/base.js';
import { createDefaultRegistry, type PluginRegistry } from '../plugins/registry.js';
import type { SlotName } from '../plugins/slots.js';
import type { CallLeg, IncomingCall, TelephonyHandler } from '../plugins/telephony.js';
import { createPlugins, type ResolvedPlugins, type SlotOverrides } from './plugins.js';
import { asRemoteStream, type RemoteAudioStream, type RunRole, type StreamEvent, type WorkerPicker } from './roles.js';
import type { FlowState } from '../flow/runner.js';
import type { CallSession } from '../engine/session-api.js';
import { routeCall } from './routing.js';
import { NoWorkerFallback } from '../fleet/no-worker.js';

/** Optional on a telephony plugin: receives every event of the calls it carries. */
export interface CallEventObserver {
  onCallEvent(ev: CallEvent): void;
}

/** Optional on a streamed leg (worker side): mirrors the call's events and flow state to the edge. */
export interface CallMirror extends CallEventObserver {
  onFlowState(state: FlowState): void;
}

export interface AppOptions {
  config: VoicebotConfig;
  logger?: Logger;
  registry?: PluginRegistry;
  /** Replace configured slots with ready instances (simulate forces mock telephony). */
  overrides?: SlotOverrides;
  /** Slots not to create (e.g. telephony on a worker that takes streamed calls). */
  skip?: readonly SlotName[];
  /**
   * Which part of the bot this process runs (default `all`). `edge`: telephony
   * only, calls are streamed to a worker; `worker`: engine only, calls arrive
   * as streams. Both need a remote audioStream (provider websocket).
   */
  role?: RunRole;
  /** The time source of every call and plugin (default realClock; simulations pass a VirtualClock). */
  clock?: Clock;
  /**
   * The DI container to build the app in (default: a child of tsyringe's root).
   * Whatever is registered in it before create() — TOKENS.Clock, TOKENS.HttpClient,
   * TOKENS.Logger, a slot token such as TOKENS.Tts — replaces voicebot's own.
   */
  container?: DependencyContainer;
}

const DEFAULT_SHUTDOWN_MS = 10_000;
/** After calls were told to end at the shutdown deadline, how long their teardown may take. */
const SHUTDOWN_GRACE_MS = 2_000;

/** True when `p` settles within `ms`. */
function settlesWithin(p: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const t = clock.setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clock.clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * A plugin's own coded error (a port in use, bad credentials) already says
 * what to do; anything else is wrapped so the user learns which slot and
 * provider failed to start.
 */
async function startOne(p: PluginBase, provider: string, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (e) {
    if (e instanceof VoicebotError && e.code !== 'VB_ERR_PROVIDER') throw e;
    const detail = (e as Error)?.message ?? String(e);
    throw new VoicebotError('VB_ERR_PLUGIN_START', { provider, slot: p.slot, detail: detail.replace(/\.\s*$/, '') }, { cause: e });
  }
}

/** Slots each role does not create. */
const ROLE_SKIPS: Record<RunRole, readonly SlotName[]> = {
  all: [],
  edge: ['vad', 'stt', 'llm', 'tts'],
  worker: ['telephony'],
};

/**
 * The running bot: process-wide plugins in the root DI container, one child
 * container per call. Routes each inbound call to a flow, answers it exactly
 * once, runs the flow on a call engine, and tears the call down.
 */
export class VoicebotApp implements TelephonyHandler {
  readonly config: VoicebotConfig;
  readonly plugins: ResolvedPlugins;
  readonly logger: Logger;
  readonly clock: PacerClock;
  /** The app's time source (TOKENS.Clock); `clock` paces audio on it. */
  readonly time: Clock;
  readonly container: DependencyContainer;
  readonly role: RunRole;
  /** The audio stream's network side, when it has one (provider websocket). */
  readonly remote: RemoteAudioStream | undefined;
  private readonly listeners = new Set<CallEventListener>();
  private readonly streamListeners = new Set<(ev: StreamEvent) => void>();
  private noWorkerFallback: NoWorkerFallback | undefined;
  private readonly calls = new Map<string, Promise<void>>();
  /** How to end each active call when stop() runs out of patience. */
  private readonly enders = new Map<string, () => Promise<void>>();
  private readonly sessions = new Map<string, CallSession>();
  private readonly loadListeners = new Set<() => void>();
  private started = false;
  private stopping = false;
  /** Plugins started and telephony listening. */
  private up = false;
  /** SIGTERM: no new calls, live ones finish (core/fleet/drain.ts). */
  private drainingFlag = false;
  /** Edge in a fleet: picks a worker per call (set before start). */
  dispatcher: WorkerPicker | undefined;

  private constructor(config: VoicebotConfig, plugins: ResolvedPlugins, logger: Logger, role: RunRole, container: DependencyContainer) {
    this.config = config;
    this.plugins = plugins;
    this.logger = logger;
    this.role = role;
    this.remote = asRemoteStream(plugins.audioStream);
    this.container = container;
    // Config, Logger, Clock, HttpClient, Metrics and the slots are registered by createPlugins.
    this.time = container.resolve(TOKENS.Clock);
    this.clock = new PacerClock(20, this.time);
    this.container.register(TOKENS.PacerClock, { useValue: this.clock });
  }

  static async create(opts: AppOptions): Promise<VoicebotApp> {
    const logger = opts.logger ?? createLogger();
    const registry = opts.registry ?? createDefaultRegistry();
    const role = opts.role ?? 'all';
    const container = opts.container ?? rootContainer.createChildContainer();
    if (opts.clock) container.register(TOKENS.Clock, { useValue: opts.clock });
    const plugins = await createPlugins(opts.config, registry, logger, opts.overrides, [...(opts.skip ?? []), ...ROLE_SKIPS[role]], container);
    const app = new VoicebotApp(opts.config, plugins, logger, role, container);
    app.bindRole();
    return app;
  }

  /** Checks the role fits the config and tells a remote audio stream which halves run here. */
  private bindRole(): void {
    const { role, remote } = this;
    if (role !== 'all' && !remote) {
      throw new VoicebotError('VB_ERR_WS_ROLE', {
        role,
        detail: `needs a remote audio stream, but plugins.audioStream is ${this.plugins.audioStream.provider}. Set plugins.audioStream to { provider: websocket, url: ws://WORKER:8081/calls, token: \${VOICEBOT_STREAM_TOKEN} } (or run without --role).`,
      });
    }
    if (role === 'edge' && !this.plugins.telephony) {
      throw new VoicebotError('VB_ERR_WS_ROLE', { role, detail: 'answers calls, but plugins.telephony is not configured. Add plugins.telephony (or run this process with --role worker).' });
    }
    remote?.setRole(role, role === 'edge' ? undefined : (leg, flow, carried) => this.onStreamedLeg(leg, flow, carried));
  }

  /** Edge calls as they are streamed out (role edge): started, reconnecting, resumed, ended. */
  onStreamEvent(listener: (ev: StreamEvent) => void): () => void {
    this.streamListeners.add(listener);
    return () => this.streamListeners.delete(listener);
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  onEvent(listener: CallEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Start every plugin, telephony last so no call arrives before the rest is ready. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const p of this.servicePlugins()) await startOne(p, this.configuredName(p), () => p.start());
    const tel = this.plugins.telephony;
    if (tel && this.role !== 'worker') await startOne(tel, this.configuredName(tel), () => tel.listen(this));
    this.up = true;
  }

  /** Called whenever activeCalls changed (a fleet worker reports its load). */
  onLoadChange(listener: () => void): () => void {
    this.loadListeners.add(listener);
    return () => this.loadListeners.delete(listener);
  }

  private track(id: string, run: Promise<void>): void {
    this.calls.set(id, run);
    for (const l of this.loadListeners) l();
  }

  private untrack(id: string): void {
    this.calls.delete(id);
    for (const l of this.loadListeners) l();
  }

  /** Started and not stopping (readiness, with `draining`). */
  get isUp(): boolean {
    return this.up && !this.stopping;
  }

  get draining(): boolean {
    return this.drainingFlag;
  }

  /** Stop taking calls (incoming ones are rejected, a worker refuses new streams); live calls go on. */
  beginDrain(): void {
    if (this.drainingFlag) return;
    this.drainingFlag = true;
    this.remote?.setDraining?.(true);
  }

  /** Resolves once no call is running (calls that start meanwhile are waited for too). */
  async whenIdle(): Promise<void> {
    while (this.calls.size > 0) await Promise.allSettled([...this.calls.values()]);
  }

  /** End every live call here, saying `text` first where this process speaks (worker/all). */
  async endLiveCalls(text: string, reason: 'shutdown' = 'shutdown'): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => (s.ended ? undefined : s.hangup(text, reason))));
  }

  /** The provider as the config names it (`./plugins/x.js`, `openai`), which is what the user can find and fix. */
  private configuredName(p: PluginBase): string {
    const entries = this.config.plugins[p.slot];
    return entries?.length === 1 ? entries[0].provider : p.provider;
  }

  /** Stop taking calls, end the active ones, stop plugins. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.plugins.telephony) await this.plugins.telephony.stop().catch((e) => this.logError('telephony stop', e));
    // A worker's calls come from its stream server: stopping it ends them (edges are told `stop: shutdown`).
    if (this.remote && this.role !== 'edge') await this.plugins.audioStream.stop().catch((e) => this.logError('audioStream stop', e));
    await this.drainCalls();
    for (const p of this.servicePlugins().reverse()) await p.stop().catch((e) => this.logError(`${p.slot} stop`, e));
    this.container.dispose();
  }

  /**
   * Wait for the active calls up to settings.timeouts.shutdown, then end the
   * ones left (reason shutdown) and give them a short grace to unwind. A call
   * stuck in code that ignores its signal is abandoned rather than holding
   * the process: stop() always returns.
   */
  private async drainCalls(): Promise<void> {
    if (this.calls.size === 0) return;
    const deadline = this.config.settings.timeouts.shutdown ?? DEFAULT_SHUTDOWN_MS;
    const all = (): Promise<unknown> => Promise.allSettled([...this.calls.values()]);
    if (await settlesWithin(all(), deadline, this.time)) return;
    this.logger.warn({ calls: this.calls.size, shutdownMs: deadline }, `${this.calls.size} call(s) still active after ${deadline} ms of shutdown; ending them`);
    for (const [id, end] of this.enders) void end().catch((e) => this.logError(`call ${id} shutdown`, e));
    if (await settlesWithin(all(), SHUTDOWN_GRACE_MS, this.time)) return;
    const err = new VoicebotError('VB_ERR_SHUTDOWN_ABANDONED', { count: this.calls.size, ids: [...this.calls.keys()].join(', '), graceMs: SHUTDOWN_GRACE_MS });
    this.logger.error({ code: err.code }, err.message);
  }

  private servicePlugins(): PluginBase[] {
    const { audioStream, vad, stt, llm, tts } = this.plugins;
    return [audioStream, vad, stt, llm, tts].filter((p): p is NonNullable<typeof p> => p !== undefined);
  }

  /** TelephonyHandler: never throws; one call's failure stays that call's. */
  onIncomingCall(call: IncomingCall): void {
    if (this.stopping || this.drainingFlag) {
      void call.reject('unavailable').catch(() => {});
      return;
    }
    const flow = routeCall(this.config, call.info.to);
    if (!flow) {
      this.logger.info({ callId: call.info.id, to: call.info.to }, 'no route accepts this call; rejecting');
      void call.reject('decline').catch(() => {});
      return;
    }
    const run = (this.role === 'edge' ? this.handleEdgeCall(call, flow) : this.handleCall(call, flow))
      .catch((e) => this.logError(`call ${call.info.id}`, e))
      .finally(() => this.untrack(call.info.id));
    this.track(call.info.id, run);
  }

  /** Attach an already answered leg (e.g. a stream a worker received) and run a flow on it. */
  runLeg(leg: CallLeg, flow?: string, carried?: FlowState): Promise<void> {
    const f = flow ?? routeCall(this.config, leg.info.to) ?? Object.keys(this.config.flows)[0];
    const run = this.runCall(leg, f, carried)
      .catch((e) => this.logError(`call ${leg.info.id}`, e))
      .finally(() => this.untrack(leg.info.id));
    this.track(leg.info.id, run);
    return run;
  }

  /** A call that arrived as a stream (worker / all). */
  private onStreamedLeg(leg: CallLeg, flow: string | undefined, carried?: FlowState): void {
    if (this.stopping) {
      void leg.hangup('shutdown').catch(() => {});
      return;
    }
    void this.runLeg(leg, flow !== undefined && Object.hasOwn(this.config.flows, flow) ? flow : undefined, carried);
  }

  /** Edge: answer, then stream the leg to the worker until the call ends. */
  private async handleEdgeCall(call: IncomingCall, flow: string): Promise<void> {
    const remote = this.remote!;
    const pick = this.dispatcher;
    const fallback = this.noWorkerPlayer();
    // In a fleet, a call no worker can take is not answered (the caller's network plays busy/unavailable),
    // unless settings.fleet.noWorker asks the edge to answer and play a message.
    if (pick && !pick.pick(new Set())) {
      const e = new VoicebotError('VB_ERR_FLEET_NO_WORKER', { callId: call.info.id, detail: 'the registry lists no ready worker with free capacity' });
      this.logger.error({ callId: call.info.id, code: e.code }, e.message);
      if (fallback) return this.playNoWorker(await call.answer(), fallback, e);
      this.dispatchStream({ type: 'stream.ended', callId: call.info.id, reason: 'rejected', code: e.code, message: e.message });
      await call.reject('unavailable').catch(() => {});
      return;
    }
    const leg = await call.answer();
    const answeredAt = this.time.now();
    const callId = leg.info.id;
    this.enders.set(callId, () => leg.hangup('shutdown'));
    const r = await remote.forward(leg, { flow, onEvent: (ev) => this.dispatchStream(ev), ...(pick ? { pick, keepLegOnNoWorker: fallback !== undefined } : {}) });
    if (r.error) {
      this.logger.error({ callId, code: r.error.code }, `call ${callId} ended by its audio stream: ${r.error.message}`);
      // The edge runs no session that would report it: a line with a user interface (the softphone) shows why the call ended.
      this.dispatch({ type: 'call.error', callId, t: this.time.now() - answeredAt, code: r.error.code, message: r.error.message });
    }
    this.enders.delete(callId);
    if (fallback && pick && r.error?.code === 'VB_ERR_FLEET_NO_WORKER') return this.playNoWorker(leg, fallback, r.error);
    this.dispatchStream({ type: 'stream.ended', callId, reason: r.reason, ...(r.error ? { code: r.error.code, message: r.error.message } : {}) });
  }

  private noWorkerPlayer(): NoWorkerFallback | undefined {
    const f = this.config.settings.fleet.noWorker;
    if (f && !this.noWorkerFallback) this.noWorkerFallback = new NoWorkerFallback(f.play, this.clock);
    return this.noWorkerFallback;
  }

  /** settings.fleet.noWorker: the answered caller hears the message, then the edge hangs up. */
  private async playNoWorker(leg: CallLeg, fallback: NoWorkerFallback, e: VoicebotError): Promise<void> {
    const callId = leg.info.id;
    this.enders.set(callId, () => leg.hangup('shutdown'));
    const heard = await fallback.play(leg, (err) => this.logError(`call ${callId} settings.fleet.noWorker.play (${fallback.file})`, err));
    this.enders.delete(callId);
    this.logger.warn({ callId, code: e.code, fallback: heard }, `call ${callId}: no worker took it; ${heard === 'played' ? 'played settings.fleet.noWorker and hung up' : heard === 'caller-hangup' ? 'the caller hung up during settings.fleet.noWorker' : 'settings.fleet.noWorker could not be played; hung up'}`);
    const reason = heard === 'played' ? 'bot-hangup' : heard === 'caller-hangup' ? 'caller-hangup' : 'error';
    this.dispatchStream({ type: 'stream.ended', callId, reason, code: e.code, message: e.message, fallback: heard });
  }

  private dispatchStream(ev: StreamEvent): void {
    // Split mode: the worker's call events are shown here as if the call ran in this process.
    if (ev.type === 'worker.event') return this.dispatch(ev.event);
    for (const l of this.streamListeners) {
      try {
        l(ev);
      } catch (e) {
        this.logError('stream event listener', e);
      }
    }
  }

  private async handleCall(call: IncomingCall, flow: string): Promise<void> {
    const answered = await call.answer();
    const leg = await this.plugins.audioStream.attach(answered);
    await this.runCall(leg, flow);
  }

  private async runCall(leg: CallLeg, flow: string, carried?: FlowState): Promise<void> {
    const scope = this.container.createChildContainer();
    const log = this.logger.child({ callId: leg.info.id });
    const session = createCallSession({
      leg,
      plugins: { vad: this.plugins.vad, stt: this.plugins.stt, llm: this.plugins.llm, tts: this.plugins.tts },
      settings: this.config.settings,
      logger: log,
      clock: this.clock,
      flowName: flow,
    });
    scope.register(TOKENS.Logger, { useValue: log });
    scope.register(TOKENS.CallLeg, { useValue: leg });
    scope.register(TOKENS.CallSession, { useValue: session });
    const mirror = leg as Partial<CallMirror>;
    const toEdge = typeof mirror.onCallEvent === 'function' && typeof mirror.onFlowState === 'function' ? (mirror as CallMirror) : undefined;
    const off = session.on((ev) => {
      this.dispatch(ev);
      toEdge?.onCallEvent(ev);
    });
    this.sessions.set(leg.info.id, session);
    this.enders.set(leg.info.id, async () => {
      const closing = session.close('shutdown');
      await leg.hangup('shutdown').catch(() => {});
      await closing;
    });
    try {
      session.start();
      await runFlow(session, {
        config: this.config,
        flow,
        logger: log,
        clock: this.time,
        container: scope,
        ...(carried ? { resume: carried } : {}),
        ...(toEdge ? { onState: (st: FlowState) => toEdge.onFlowState(st) } : {}),
      });
      if (!session.ended) await session.hangup(undefined, 'bot-hangup');
    } catch (e) {
      const err = e instanceof VoicebotError ? e : toVoicebotError(e, 'VB_ERR_PROVIDER', { provider: 'flow', slot: 'flow' });
      log.error({ code: err.code }, `call ended by an unhandled error: ${err.message}`);
      if (!session.ended) await session.hangup(undefined, 'error').catch(() => {});
    } finally {
      await session.close('bot-hangup').catch((e) => this.logError('session close', e));
      this.sessions.delete(leg.info.id);
      off();
      this.enders.delete(leg.info.id);
      await scope.dispose();
    }
  }

  private dispatch(ev: CallEvent): void {
    // A telephony plugin with a user interface (the local softphone) shows its calls live.
    const tel = this.plugins.telephony as Partial<CallEventObserver> | undefined;
    if (typeof tel?.onCallEvent === 'function') {
      try {
        tel.onCallEvent(ev);
      } catch (e) {
        this.logError('telephony onCallEvent', e);
      }
    }
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch (e) {
        this.logError('event listener', e);
      }
    }
  }

  private logError(where: string, e: unknown): void {
    const err = e instanceof VoicebotError ? e : toVoicebotError(e, 'VB_ERR_PROVIDER', { provider: where, slot: 'app' });
    this.logger.error({ code: err.code }, `${where}: ${err.message}`);
  }
}
