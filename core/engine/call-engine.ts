import type { AudioBuffer, AudioFrame } from '../audio/frame.js';
import type { PacerClock } from '../audio/pacer.js';
import type { Settings } from '../config/types.js';
import { VoicebotError, toVoicebotError } from '../errors/index.js';
import type { Logger } from '../logging.js';
import type { PluginMetric } from '../plugins/base.js';
import type { LlmPlugin } from '../plugins/llm.js';
import type { SttPlugin } from '../plugins/stt.js';
import type { CallInfo, CallLeg, HangupReason, TransferOptions } from '../plugins/telephony.js';
import type { TtsPlugin } from '../plugins/tts.js';
import type { VadPlugin } from '../plugins/vad.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { callClock } from './call-clock.js';
import { CallState, callStateError, isLive, transition } from './call-state.js';
import type { CallEvent, CallEventListener } from './events.js';
import { classifyIntent } from './intent.js';
import { routeCallMetrics } from './metric-router.js';
import type { Outbound } from './outbound.js';
import { createCallParts, type CallInputPath } from './call-parts.js';
import type { CallRecorder } from './recorder.js';
import type { ReplyGenerator } from './reply-generator.js';
import type { CallSession, DistributiveOmit, ListenOptions, ListenResult, RespondOptions, RespondResult, SayOptions, SayResult } from './session-api.js';
import type { TurnController } from './turn-controller.js';
import type { TurnMetricsTracker } from './turn-metrics.js';

export interface CallSessionOptions {
  /** The answered leg. */
  leg: CallLeg;
  plugins: { vad: VadPlugin; stt?: SttPlugin; llm?: LlmPlugin; tts?: TtsPlugin };
  settings: Settings;
  logger: Logger;
  /** The process-wide frame clock every call's outbound audio is paced by; its `time` is the call's clock. */
  clock: PacerClock;
  flowName?: string;
  /** Overrides settings.recording. */
  recording?: { enabled?: boolean; dir?: string };
  /** TTS voice, passed through to the provider. */
  voice?: string;
  /** ms without a new key before collected DTMF digits are delivered (default 3000). */
  interDigitMs?: number;
  /** ms to wait for a streaming STT final after the engine ended the utterance (default 3000). */
  sttFinalTimeoutMs?: number;
}

export type EngineSession = CallSession & { start(): void; close(reason: HangupReason): Promise<void> };

export function createCallSession(opts: CallSessionOptions): CallEngine {
  return new CallEngine(opts);
}

/**
 * One call: its lifecycle and event bus, and the wiring of its parts —
 *   leg → CallerInput (resample, VAD, pre-roll, endpointing)
 *       → Recognizer (streaming shape; batch STT adapted) → TurnController
 *         (barge-in, listen queue, no-input and DTMF timers) → listen()
 *   say/respond → ReplyGenerator (LLM, sentences, TTS, tools) → Outbound
 *       (pacer, stop, heard position) → leg
 * and TurnMetricsTracker across both. Everything runs on the injected
 * Clock; close() releases everything the call holds, whichever side ends it.
 */
export class CallEngine implements EngineSession {
  readonly info: CallInfo;
  private state = CallState.Answered;
  private readonly time: Clock;
  private readonly t0: number;
  private readonly endAc = new AbortController();
  private readonly listeners = new Set<CallEventListener>();
  private readonly leg: CallLeg;
  private readonly settings: Settings;
  private readonly log: Logger;
  private readonly plugins: CallSessionOptions['plugins'];
  private readonly flowName: string;
  private readonly input: CallInputPath;
  private readonly turns: TurnController;
  private readonly outbound: Outbound;
  private readonly replies: ReplyGenerator;
  private readonly metrics: TurnMetricsTracker;
  private readonly recorder: CallRecorder | undefined;
  private readonly recordDir: string;
  private interceptor: ((digit: string) => boolean) | undefined;
  private maxTimer: TimerHandle | undefined;
  private offMetrics: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private endReason: HangupReason | undefined;

  constructor(opts: CallSessionOptions) {
    this.time = callClock(opts.clock.time, (e) => this.fail(e, 'running a call timer'));
    this.t0 = this.time.now();
    this.leg = opts.leg;
    this.info = opts.leg.info;
    this.settings = opts.settings;
    this.log = opts.logger;
    this.plugins = opts.plugins;
    this.flowName = opts.flowName ?? '';
    const parts = createCallParts(opts, {
      info: this.info,
      time: this.time,
      t0: this.t0,
      endSignal: this.endAc.signal,
      log: this.log,
      now: () => this.now(),
      emit: (ev) => this.emit(ev),
      bargeIn: () => this.bargeIn(),
      pauseBot: (mode) => this.pauseBot(mode),
      resumeBot: (ms) => this.resumeBot(ms),
      hotkey: (d) => this.hotkey(d),
      fail: (e, where) => this.fail(e, where),
      sttFailed: (e) => this.sttFailed(e),
      speakFailed: (slot, e) => this.speakFailed(slot, e),
    });
    this.input = parts.input;
    this.turns = parts.turns;
    this.outbound = parts.outbound;
    this.replies = parts.replies;
    this.metrics = parts.metrics;
    this.recorder = parts.recorder;
    const rec = { ...opts.settings.recording, ...opts.recording };
    this.recordDir = rec.dir ?? 'recordings';
  }

  // ── state and events ───────────────────────────────────────────────────

  now(): number {
    return this.time.now() - this.t0;
  }

  get ended(): boolean {
    return this.state === CallState.Ending || this.state === CallState.Ended;
  }

  get endSignal(): AbortSignal {
    return this.endAc.signal;
  }

  get callState(): CallState {
    return this.state;
  }

  get reason(): HangupReason | undefined {
    return this.endReason;
  }

  /** Registered event listeners (the leak test expects 0 after close). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  emit(ev: DistributiveOmit<CallEvent, 'callId' | 't'>): void {
    const full = { ...ev, callId: this.info.id, t: Math.round(this.now()) } as CallEvent;
    for (const l of this.listeners) {
      try {
        l(full);
      } catch (e) {
        this.log.error({ err: (e as Error)?.message }, 'call event listener threw');
      }
    }
  }

  on(listener: CallEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Attach to the leg and start the call clock. Call once, after construction. */
  start(): void {
    this.state = transition(this.info.id, this.state, CallState.Active);
    const media = this.leg.media;
    media.setReceiver(this.onFrame);
    this.leg.onDtmf(this.onDtmf);
    this.leg.onEnded(this.onLegEnded);
    this.outbound.start();
    const { vad, stt, llm, tts } = this.plugins;
    this.offMetrics = routeCallMetrics([vad, stt, llm, tts], this.info.id, this.onPluginMetric);
    const maxCall = this.settings.timeouts.maxCall;
    if (maxCall > 0 && Number.isFinite(maxCall)) this.maxTimer = this.timer(this.onMaxCall, maxCall);
    this.emit({ type: 'call.started', from: this.info.from, to: this.info.to, flow: this.flowName });
    this.log.info({ from: this.info.from, to: this.info.to, flow: this.flowName, inputRate: media.inputRate, outputRate: media.outputRate }, 'call started');
  }

  // ── the flow's API ─────────────────────────────────────────────────────

  listen(opts: ListenOptions): Promise<ListenResult> {
    try {
      this.assertLive('listen');
      if (this.turns.listening) throw callStateError(this.info.id, 'listen while already listening', this.state);
      if (opts.input.includes('speech') && !this.plugins.stt && !opts.input.includes('dtmf')) throw this.missingSlot('stt', 'listen for speech');
      if (opts.signal?.aborted) throw opts.signal.reason;
    } catch (e) {
      return Promise.reject(e);
    }
    return this.turns.listen(opts, this.endSignal, () => callStateError(this.info.id, 'listen', this.state));
  }

  async say(text: string, opts: SayOptions = {}): Promise<SayResult> {
    this.assertLive('say');
    if (!this.plugins.tts) throw this.missingSlot('tts', 'say');
    return this.replies.say(text, opts);
  }

  async play(audio: AudioBuffer, opts: SayOptions = {}): Promise<SayResult> {
    this.assertLive('play');
    return this.replies.play(audio, opts);
  }

  async respond(opts: RespondOptions): Promise<RespondResult> {
    this.assertLive('respond');
    if (!this.plugins.llm) throw this.missingSlot('llm', 'respond');
    if (!this.plugins.tts) throw this.missingSlot('tts', 'respond');
    return this.replies.respond(opts);
  }

  async classifyIntent(text: string, intents: readonly string[], signal?: AbortSignal): Promise<string | null> {
    this.assertLive('classifyIntent');
    if (!this.plugins.llm) throw this.missingSlot('llm', 'intent classification');
    return classifyIntent(this.plugins.llm, this.info.id, text, intents, signal, this.endSignal);
  }

  /** The flow's hotkeys: one handler for the call, asked first about every digit. */
  setDtmfInterceptor(fn: ((digit: string) => boolean) | undefined): void {
    this.interceptor = fn;
  }

  async transfer(to: string, opts?: TransferOptions): Promise<void> {
    this.assertLive('transfer');
    this.state = transition(this.info.id, this.state, CallState.Transferring);
    try {
      await this.leg.transfer(to, opts);
    } catch (e) {
      if (this.state === CallState.Transferring) this.state = transition(this.info.id, this.state, CallState.Active);
      throw toVoicebotError(e, 'VB_ERR_TRANSFER_FAILED', { callId: this.info.id, to });
    }
    this.emit({ type: 'call.transferred', to });
    await this.close('transferred');
  }

  async hangup(text?: string, reason: HangupReason = 'bot-hangup'): Promise<void> {
    this.assertLive('hangup');
    if (text) {
      try {
        await this.say(text, { bargeIn: false });
      } catch (e) {
        // The goodbye is best effort; the call ends either way.
        this.log.warn({ code: (e as VoicebotError)?.code }, 'could not speak the goodbye');
      }
    }
    if (this.ended) return;
    const closing = this.close(reason);
    await this.leg.hangup(reason).catch((e: unknown) => this.log.warn({ err: (e as Error)?.message }, 'leg hangup failed'));
    await closing;
  }

  /** End the call and release everything it holds. Idempotent; the first reason wins. Does not hang up the leg. */
  close(reason: HangupReason): Promise<void> {
    this.closing ??= this.teardown(reason);
    return this.closing;
  }

  // ── inside ─────────────────────────────────────────────────────────────

  private assertLive(action: string): void {
    if (!isLive(this.state)) throw callStateError(this.info.id, action, this.state);
  }

  private missingSlot(slot: 'stt' | 'llm' | 'tts', what: string): VoicebotError {
    return new VoicebotError('VB_ERR_CONFIG_MISSING_SLOT', { detail: what, slot });
  }

  /** A timer of this call (its clock ends the call, coded, if the callback throws). */
  private timer(fn: () => void, ms: number): TimerHandle {
    return this.time.setTimeout(fn, ms);
  }

  /** Something broke inside a callback of this call: log it and end the call, never the process. */
  private fail(e: unknown, where: string): void {
    if (this.ended) return;
    const err = toVoicebotError(e, 'VB_ERR_PROVIDER', { provider: 'engine', slot: 'engine' });
    this.log.error({ code: err.code }, `call failed while ${where}: ${err.message}`);
    this.emit({ type: 'call.error', code: err.code, message: err.message });
    const closing = this.close('error');
    void this.leg.hangup('error').catch(() => {});
    void closing;
  }

  private speakFailed(slot: 'tts' | 'llm', e: unknown): VoicebotError {
    if (this.ended) return callStateError(this.info.id, 'speak', this.state);
    const provider = (slot === 'tts' ? this.plugins.tts?.provider : this.plugins.llm?.provider) ?? slot;
    const err = toVoicebotError(e, 'VB_ERR_PROVIDER', { provider, slot });
    this.log.error({ code: err.code, slot }, `${slot} failed during the bot's turn: ${err.message}`);
    return err;
  }

  private readonly onFrame = (frame: AudioFrame): void => {
    if (this.state !== CallState.Active) return;
    // A throwing plugin must end this call, not the leg's socket handler (and with it other calls).
    try {
      this.input.process(frame);
    } catch (e) {
      this.fail(e, 'processing caller audio');
    }
  };

  private readonly onDtmf = (digit: string): void => {
    if (!isLive(this.state)) return;
    this.emit({ type: 'dtmf', digits: digit });
    this.recorder?.transcript.push({ t: Math.round(this.now()), speaker: 'dtmf', text: digit });
    this.turns.digit(digit);
  };

  private hotkey(digit: string): boolean {
    try {
      return this.interceptor?.(digit) ?? false;
    } catch (e) {
      this.log.error({ err: (e as Error)?.message }, 'dtmf interceptor threw');
      return false;
    }
  }

  /** The caller cut in: stop the bot and cancel the LLM/TTS work behind it. */
  private bargeIn(): void {
    const pb = this.outbound.playback;
    if (!pb || pb.stopped) return;
    pb.interrupted = true;
    this.log.info({ heardMs: Math.round(this.outbound.heardMs) }, 'barge-in: caller interrupted the bot');
    this.outbound.stop(pb);
    this.emit({ type: 'bot.interrupted', heardMs: Math.round(pb.heardUntilMs), heard: pb.playedText() });
    pb.link.abort(new VoicebotError('VB_ERR_CANCELLED', { what: 'bot turn (caller barged in)' }));
  }

  /** Speech over the bot reached onset: hold it where it is until the policy decides. */
  private pauseBot(mode: 'pause' | 'duck'): void {
    const pb = this.outbound.playback;
    if (!pb || pb.stopped) return;
    this.outbound.hold(pb, mode);
    this.emit({ type: 'bot.paused', mode, heardMs: Math.round(this.outbound.heardMs) });
  }

  /** A false interruption: the bot goes on where it paused. */
  private resumeBot(pausedMs: number): void {
    const pb = this.outbound.playback;
    if (!pb || pb.stopped) return;
    this.outbound.resume(pb);
    this.log.info({ pausedMs: Math.round(pausedMs) }, 'false interruption: the bot goes on');
    this.emit({ type: 'bot.resumed', pausedMs: Math.round(pausedMs) });
  }

  private sttFailed(e: unknown): void {
    if (this.ended) return;
    const err = toVoicebotError(e, 'VB_ERR_PROVIDER', { provider: this.plugins.stt?.provider ?? 'stt', slot: 'stt' });
    this.log.error({ code: err.code, slot: 'stt' }, `speech recognition failed: ${err.message}`);
    this.turns.speechError(err);
  }

  private readonly onPluginMetric = (m: PluginMetric): void => {
    this.log.debug({ slot: m.slot, provider: m.provider, metric: m.name, ms: Math.round(m.ms) }, 'plugin metric');
  };

  private readonly onLegEnded = (reason: HangupReason): void => {
    void this.close(reason);
  };

  private readonly onMaxCall = (): void => {
    this.maxTimer = undefined;
    if (this.ended) return;
    this.log.warn({ maxCallMs: this.settings.timeouts.maxCall }, 'call reached its maximum duration');
    const closing = this.close('max-duration');
    void this.leg.hangup('max-duration').catch(() => {});
    void closing;
  };

  private async teardown(reason: HangupReason): Promise<void> {
    this.endReason = reason;
    this.state = transition(this.info.id, this.state, CallState.Ending);
    this.time.clearTimeout(this.maxTimer);
    this.maxTimer = undefined;
    this.leg.media.setReceiver(undefined);
    this.leg.onDtmf(undefined);
    this.leg.onEnded(undefined);
    this.interceptor = undefined;
    this.outbound.close();
    // Wakes every wait of this call: listen(), in-flight say/respond, tool runs.
    this.endAc.abort(callStateError(this.info.id, 'wait', CallState.Ending));
    this.turns.close(callStateError(this.info.id, 'listen', CallState.Ending));
    try {
      this.input.close();
    } catch (e) {
      this.log.warn({ err: (e as Error)?.message }, 'closing the STT stream failed');
    }
    this.metrics.flush();
    this.offMetrics?.();
    this.offMetrics = undefined;
    const durationMs = Math.round(this.now());
    this.emit({ type: 'call.ended', reason, durationMs });
    this.log.info({ reason, durationMs, turns: this.metrics.turns }, 'call ended');
    this.state = transition(this.info.id, this.state, CallState.Ended);
    if (this.recorder) {
      try {
        const files = await this.recorder.write(this.recordDir, this.info.id, { callId: this.info.id, from: this.info.from, to: this.info.to, flow: this.flowName, reason, durationMs });
        this.log.info(files, 'call recorded');
      } catch (e) {
        this.log.error({ err: (e as Error)?.message }, 'writing the call recording failed');
      }
    }
    this.listeners.clear();
  }
}
