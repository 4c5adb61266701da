import { randomBytes } from 'node:crypto';
import type { VoicebotApp } from '../app/app.js';
import { routeCall } from '../app/routing.js';
import { AnsweringMachineDetector, type AmdResult } from '../audio/amd.js';
import { normalizeAmd } from '../config/normalize.js';
import type { AmdConfig } from '../config/types.js';
import type { CallEvent } from '../engine/events.js';
import { VoicebotError, toVoicebotError } from '../errors/index.js';
import { setOutboundHooks, type AmdOutcome, type CallSetup, type DialRequest, type OutboundHooks, type WarmTransferRequest } from '../flow/outbound-hooks.js';
import type { ChatMessage } from '../plugins/llm.js';
import type { CallInfo, HangupReason } from '../plugins/telephony.js';
import { realClock, type Clock, type TimerHandle } from '../time/clock.js';
import { controlLeg } from './controlled-leg.js';
import { summarizeForAgent, warmTransfer } from './warm-transfer.js';

export interface OutboundLimits {
  /** Outbound calls dialling or connected at once. */
  maxConcurrent: number;
  /** Calls started in any 60 s window. */
  perMinute: number;
  ringTimeoutMs: number;
}

/** Life of one placed call as the API reports it. */
export enum OutboundState {
  Dialing = 'dialing',
  Answered = 'answered',
  Ended = 'ended',
  Failed = 'failed',
}

const ALLOWED: Record<OutboundState, readonly OutboundState[]> = {
  [OutboundState.Dialing]: [OutboundState.Answered, OutboundState.Failed],
  [OutboundState.Answered]: [OutboundState.Ended],
  [OutboundState.Ended]: [],
  [OutboundState.Failed]: [],
};

export interface TranscriptLine {
  who: 'bot' | 'caller';
  text: string;
  /** ms since the call started (engine time). */
  t: number;
}

/** What GET /v1/calls/{id} returns. */
export interface OutboundCallView {
  id: string;
  /** The telephony leg's id (the `callId` of the call's events), once dialling started. */
  callId?: string;
  to: string;
  from?: string;
  flow: string;
  state: OutboundState;
  createdAt: string;
  answeredAt?: string;
  endedAt?: string;
  endReason?: HangupReason;
  error?: { code: string; message: string };
  amd?: { outcome: AmdOutcome; decidedAfterMs: number; readyAfterMs: number; reason: string; beep?: { hz: number; durationMs: number } };
  transcript: TranscriptLine[];
}

/** Events of placed calls besides the engine's own (printed by `voicebot call`). */
export type OutboundEvent =
  | { type: 'outbound.dialing'; id: string; callId: string; to: string; flow: string }
  | { type: 'outbound.answered'; id: string; callId: string }
  | { type: 'outbound.amd'; id: string; callId: string; outcome: AmdOutcome; decidedAfterMs: number; readyAfterMs: number; reason: string }
  | { type: 'outbound.failed'; id: string; code: string; message: string }
  | { type: 'outbound.ended'; id: string; callId: string; reason: HangupReason };

export interface PlaceRequest extends DialRequest {
  ringTimeoutMs?: number;
}

interface Rec {
  view: OutboundCallView;
  abort: AbortController;
  setup: CallSetup;
  done: Promise<OutboundCallView>;
  hangup?: () => Promise<void>;
}

/** Calls a finished record is kept for GET before it is dropped. */
const KEEP_FINISHED = 200;

/**
 * Places calls for the API, `voicebot call` and the flow's `dial` step:
 * checks the limits, dials through the telephony plugin, runs the flow on the
 * answered leg (with answering-machine detection when asked), and keeps each
 * call's state and transcript.
 */
export class OutboundCalls implements OutboundHooks {
  private readonly calls = new Map<string, Rec>();
  private readonly byLeg = new Map<string, Rec>();
  private readonly started: number[] = [];
  private readonly listeners = new Set<(ev: OutboundEvent) => void>();
  private readonly clock: Clock;
  private readonly offApp: () => void;

  constructor(
    private readonly app: VoicebotApp,
    private readonly limits: OutboundLimits,
    opts: { clock?: Clock } = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.offApp = app.onEvent((ev) => this.onAppEvent(ev));
    setOutboundHooks(app.config, this);
  }

  onEvent(listener: (ev: OutboundEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls dialling or connected now. */
  get active(): number {
    let n = 0;
    for (const r of this.calls.values()) if (r.view.state === OutboundState.Dialing || r.view.state === OutboundState.Answered) n++;
    return n;
  }

  /** OutboundHooks (the dial step). */
  dial(req: DialRequest): { id: string } {
    return { id: this.place(req).id };
  }

  setupFor(callId: string): CallSetup | undefined {
    return this.byLeg.get(callId)?.setup;
  }

  /** OutboundHooks (transfer summarize). */
  summarize(conversation: readonly ChatMessage[], instruction: string | undefined, signal?: AbortSignal): Promise<string> {
    const llm = this.app.plugins.llm;
    if (!llm) return Promise.reject(new VoicebotError('VB_ERR_PLUGIN_UNSUPPORTED', { provider: 'none', slot: 'llm', feature: 'summarize (configure plugins.llm)' }));
    return summarizeForAgent(llm, conversation, instruction, signal);
  }

  /** OutboundHooks (transfer mode: warm). */
  warmTransfer(caller: CallInfo, req: WarmTransferRequest): Promise<void> {
    const telephony = this.app.plugins.telephony;
    if (!telephony) return Promise.reject(new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: caller.id, to: req.to, detail: 'no telephony plugin' }));
    return warmTransfer(caller, { ...req, ringTimeoutMs: req.ringTimeoutMs ?? this.limits.ringTimeoutMs }, {
      telephony,
      tts: this.app.plugins.tts,
      language: this.app.config.settings.language,
      clock: this.clock,
      logger: this.app.logger,
    });
  }

  /** Start a call; throws a coded error at once when it cannot be placed. */
  place(req: PlaceRequest): OutboundCallView {
    const tel = this.app.plugins.telephony;
    if (!tel || !tel.capabilities.outbound) throw new VoicebotError('VB_ERR_OUTBOUND_UNSUPPORTED', { provider: tel?.provider ?? 'none' });
    const to = typeof req.to === 'string' ? req.to.trim() : '';
    if (!to) throw new VoicebotError('VB_ERR_OUTBOUND_NUMBER', { to: String(req.to ?? '') });
    const flow = req.flow ?? routeCall(this.app.config, to, 'outbound');
    if (!flow || !Object.hasOwn(this.app.config.flows, flow)) {
      throw new VoicebotError('VB_ERR_API_REQUEST', { route: 'POST /v1/calls', detail: `unknown flow "${flow}"; use one of ${Object.keys(this.app.config.flows).join(', ')}` });
    }
    const active = this.active;
    if (active >= this.limits.maxConcurrent) throw new VoicebotError('VB_ERR_API_CONCURRENCY', { active, limit: this.limits.maxConcurrent });
    const now = this.clock.now();
    while (this.started.length && now - this.started[0]! >= 60_000) this.started.shift();
    if (this.started.length >= this.limits.perMinute) {
      throw new VoicebotError('VB_ERR_API_RATE_LIMIT', { limit: this.limits.perMinute, retryAfterS: Math.max(1, Math.ceil((60_000 - (now - this.started[0]!)) / 1000)) });
    }
    this.started.push(now);

    const amdCfg = req.amd === false ? undefined : req.amd === true ? normalizeAmd(true) : (req.amd ?? this.app.config.flows[flow]!.amd);
    const view: OutboundCallView = {
      id: `call_${randomBytes(9).toString('base64url')}`,
      to,
      flow,
      state: OutboundState.Dialing,
      createdAt: new Date(this.clock.wallNow()).toISOString(),
      transcript: [],
    };
    const rec: Rec = { view, abort: new AbortController(), setup: { vars: { ...req.vars } }, done: Promise.resolve(view) };
    this.calls.set(view.id, rec);
    rec.done = this.run(rec, req, amdCfg).then(() => view);
    this.prune();
    return this.snapshot(view);
  }

  list(): OutboundCallView[] {
    return [...this.calls.values()].map((r) => this.snapshot(r.view));
  }

  get(id: string): OutboundCallView | undefined {
    const r = this.calls.get(id);
    return r && this.snapshot(r.view);
  }

  /** Resolves with the final view once the call is over (failed or ended). */
  whenDone(id: string): Promise<OutboundCallView> | undefined {
    return this.calls.get(id)?.done.then((v) => this.snapshot(v));
  }

  /** Hang up (or stop dialling). Resolves once the call is over. */
  async hangup(id: string): Promise<OutboundCallView | undefined> {
    const r = this.calls.get(id);
    if (!r) return undefined;
    if (r.view.state === OutboundState.Dialing) r.abort.abort();
    else if (r.view.state === OutboundState.Answered) await r.hangup?.().catch(() => undefined);
    return r.done.then((v) => this.snapshot(v));
  }

  close(): void {
    this.offApp();
    setOutboundHooks(this.app.config, undefined);
    for (const r of this.calls.values()) if (r.view.state === OutboundState.Dialing) r.abort.abort();
  }

  private snapshot(v: OutboundCallView): OutboundCallView {
    return { ...v, transcript: [...v.transcript], ...(v.amd ? { amd: { ...v.amd } } : {}) };
  }

  private move(rec: Rec, to: OutboundState): void {
    if (!ALLOWED[rec.view.state].includes(to)) throw new VoicebotError('VB_ERR_CALL_STATE', { callId: rec.view.id, action: `move to ${to}`, state: rec.view.state });
    rec.view.state = to;
  }

  private emit(ev: OutboundEvent): void {
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  private async run(rec: Rec, req: PlaceRequest, amdCfg: AmdConfig | undefined): Promise<void> {
    const { view } = rec;
    const tel = this.app.plugins.telephony!;
    let legId: string | undefined;
    try {
      const answered = await tel.dial({
        to: view.to,
        callerId: req.callerId,
        ringTimeoutMs: req.ringTimeoutMs ?? this.limits.ringTimeoutMs,
        signal: rec.abort.signal,
        onRinging: (info) => {
          legId = info.id;
          view.callId = info.id;
          view.from = info.from;
          this.byLeg.set(info.id, rec);
          this.emit({ type: 'outbound.dialing', id: view.id, callId: info.id, to: view.to, flow: view.flow });
        },
      });
      legId = answered.info.id;
      view.callId = legId;
      view.from ??= answered.info.from;
      this.byLeg.set(legId, rec);
      this.move(rec, OutboundState.Answered);
      view.answeredAt = new Date(this.clock.wallNow()).toISOString();
      this.emit({ type: 'outbound.answered', id: view.id, callId: legId });
      rec.setup.sendDtmf = (d) => answered.sendDtmf(d);
      const attached = await this.app.plugins.audioStream.attach(answered);
      const amd = amdCfg ? this.startAmd(rec, attached.media.inputRate, amdCfg) : undefined;
      const stopAmd = amd?.stop;
      const controlled = controlLeg(attached, amd?.frame);
      rec.hangup = () => controlled.hangupFromOutside('bot-hangup');
      try {
        // Never rejects: the app reports a flow's failure as the call's error event.
        await this.app.runLeg(controlled.leg, view.flow);
      } finally {
        stopAmd?.();
      }
      // The engine's call.ended (seen in onAppEvent) carries the reason.
      const reason = view.endReason ?? 'bot-hangup';
      this.move(rec, OutboundState.Ended);
      view.endReason = reason;
      view.endedAt = new Date(this.clock.wallNow()).toISOString();
      this.emit({ type: 'outbound.ended', id: view.id, callId: legId, reason });
    } catch (e) {
      const err = toVoicebotError(e, 'VB_ERR_OUTBOUND_FAILED', { to: view.to, detail: e instanceof Error ? e.message : String(e) });
      if (view.state === OutboundState.Dialing) {
        this.move(rec, OutboundState.Failed);
        view.error = { code: err.code, message: err.message };
        view.endedAt = new Date(this.clock.wallNow()).toISOString();
        this.emit({ type: 'outbound.failed', id: view.id, code: err.code, message: err.message });
      } else if (view.state === OutboundState.Answered) {
        this.move(rec, OutboundState.Ended);
        view.error = { code: err.code, message: err.message };
        view.endReason = 'error';
        view.endedAt = new Date(this.clock.wallNow()).toISOString();
        this.emit({ type: 'outbound.ended', id: view.id, callId: legId ?? '', reason: 'error' });
      }
    } finally {
      if (legId) this.byLeg.delete(legId);
    }
  }

  private onAppEvent(ev: CallEvent): void {
    const rec = this.byLeg.get(ev.callId);
    if (!rec) return;
    if (ev.type === 'caller.said' && ev.final) {
      rec.view.transcript.push({ who: 'caller', text: ev.text, t: ev.t });
      this.transcriptCue?.(ev.callId, ev.text);
    } else if (ev.type === 'bot.said') rec.view.transcript.push({ who: 'bot', text: ev.text, t: ev.t });
    else if (ev.type === 'call.ended') rec.view.endReason = ev.reason;
  }

  private transcriptCue: ((callId: string, text: string) => void) | undefined;
  private readonly amdByLeg = new Map<string, AnsweringMachineDetector>();

  /**
   * AMD on the answered leg's caller audio. Frames are timed by their count
   * (the far end paces RTP; arrival on a loaded host comes in bursts), and
   * when none arrive the clock moves time on from the last one.
   */
  private startAmd(rec: Rec, rate: number, cfg: AmdConfig): { frame: (f: { samples: Int16Array }) => void; stop: () => void } {
    const detector = new AnsweringMachineDetector({ sampleRate: rate, timeoutMs: cfg.timeoutMs, beepTimeoutMs: cfg.beepTimeoutMs });
    const legId = rec.view.callId!;
    let mediaMs = 0;
    let lastFrameAt = this.clock.now();
    const elapsed = () => mediaMs + Math.max(0, this.clock.now() - lastFrameAt - 100);
    this.amdByLeg.set(legId, detector);
    this.transcriptCue ??= (id, text) => {
      const d = this.amdByLeg.get(id);
      d?.addTranscript(text, this.amdElapsed.get(id)?.() ?? 0);
    };
    this.amdElapsed.set(legId, elapsed);
    let timer: TimerHandle | undefined;
    const tick = () => {
      detector.tick(elapsed());
      if (!detector.done) timer = this.clock.setTimeout(tick, 100);
    };
    timer = this.clock.setTimeout(tick, 100);
    const forget = () => {
      this.clock.clearTimeout(timer);
      this.amdByLeg.delete(legId);
      this.amdElapsed.delete(legId);
    };
    rec.setup.amd = new Promise<AmdOutcome>((resolve) => {
      detector.onDone((r: AmdResult) => {
        forget();
        rec.view.amd = { outcome: r.outcome, decidedAfterMs: Math.round(r.decidedAtMs), readyAfterMs: Math.round(r.readyAtMs), reason: r.reason, ...(r.beep ? { beep: r.beep } : {}) };
        this.emit({ type: 'outbound.amd', id: rec.view.id, callId: legId, outcome: r.outcome, decidedAfterMs: rec.view.amd.decidedAfterMs, readyAfterMs: rec.view.amd.readyAfterMs, reason: r.reason });
        resolve(r.outcome);
      });
    });
    return {
      frame: (f) => {
        if (detector.done) return;
        const at = Math.max(mediaMs, elapsed() - 100);
        detector.pushFrame(f.samples, at);
        mediaMs = at + (f.samples.length * 1000) / rate;
        lastFrameAt = this.clock.now();
      },
      stop: forget,
    };
  }

  private readonly amdElapsed = new Map<string, () => number>();

  /** Keep memory bounded: drop the oldest finished calls beyond KEEP_FINISHED. */
  private prune(): void {
    const finished = [...this.calls.values()].filter((r) => r.view.state === OutboundState.Ended || r.view.state === OutboundState.Failed);
    for (const r of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.calls.delete(r.view.id);
  }
}
