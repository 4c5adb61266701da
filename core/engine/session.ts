import type { AudioBuffer, AudioFrame } from '../audio/frame.js';
import { OutboundPacer, type PacerClock } from '../audio/pacer.js';
import { Resampler } from '../audio/resampler.js';
import type { Settings } from '../config/types.js';
import { VoicebotError, toVoicebotError } from '../errors/index.js';
import type { Logger } from '../logging.js';
import type { PluginMetric } from '../plugins/base.js';
import type { ChatMessage, LlmPlugin, ToolCall } from '../plugins/llm.js';
import type { SttPlugin, SttStream, Transcript } from '../plugins/stt.js';
import type { CallInfo, CallLeg, HangupReason, TransferOptions } from '../plugins/telephony.js';
import type { TtsPlugin } from '../plugins/tts.js';
import type { VadDetector, VadPlugin } from '../plugins/vad.js';
import { LinkedAbort } from './abort.js';
import { CallState, callStateError, isLive, transition } from './call-state.js';
import type { CallEvent, CallEventListener, TurnMetrics } from './events.js';
import { routeCallMetrics } from './metric-router.js';
import { Playback, type Segment } from './playback.js';
import { engineRateFor, pickRate } from './rates.js';
import { CallRecorder } from './recorder.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { SentenceSplitter, splitSentences } from './sentence-splitter.js';
import type {
  CallSession,
  DistributiveOmit,
  ListenOptions,
  ListenResult,
  RespondOptions,
  RespondResult,
  SayOptions,
  SayResult,
} from './session-api.js';

export interface CallSessionOptions {
  /** The answered leg. */
  leg: CallLeg;
  plugins: { vad: VadPlugin; stt?: SttPlugin; llm?: LlmPlugin; tts?: TtsPlugin };
  settings: Settings;
  logger: Logger;
  /** The process-wide frame clock every call's outbound audio is paced by. */
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

/** Caller audio kept from before the VAD fired, so the first syllable reaches STT. */
const PREROLL_MS = 300;
/** Longest utterance buffered for a non-streaming STT; it is cut (turn ends) there. */
const MAX_UTTERANCE_MS = 30_000;
/** Results waiting for a listen(); older ones are dropped. */
const MAX_QUEUED_RESULTS = 4;
const MAX_DTMF_BUFFER = 32;
/** Tool rounds in one respond() before the engine stops asking the model. */
const MAX_TOOL_ROUNDS = 8;

interface PendingListen {
  opts: ListenOptions;
  resolve: (r: ListenResult) => void;
  reject: (e: unknown) => void;
  timer: TimerHandle | undefined;
  digitTimer: TimerHandle | undefined;
  digits: string;
  offAbort: () => void;
}

/** One caller utterance from VAD onset to the endpoint. */
interface Utterance {
  startedDuringPlayback: boolean;
  cutIn: boolean;
  speechEndAt: number;
  endpointAt: number;
  discard: boolean;
}

interface MetricsDraft {
  turn: number;
  speechEndAt: number;
  endpointAt: number;
  finalAt: number;
  llmStartAt?: number;
  llmFirstAt?: number;
  ttsStartAt?: number;
  ttsFirstAt?: number;
}

export function createCallSession(opts: CallSessionOptions): CallEngine {
  return new CallEngine(opts);
}

/**
 * The per-call engine: caller audio → VAD → endpointing → STT → listen(),
 * and text → LLM → sentence chunks → TTS → pacer → leg. Everything a call
 * acquires (timers, pacer registration, STT stream, listeners, abort
 * controllers) is released by close(), whichever side ends the call.
 *
 * Hot path (one call per 20 ms frame and direction): plain callbacks bound
 * once, reused frames and buffers, no promise or closure per frame.
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
  private readonly vad: VadPlugin;
  private readonly stt: SttPlugin | undefined;
  private readonly llm: LlmPlugin | undefined;
  private readonly tts: TtsPlugin | undefined;
  private readonly flowName: string;
  private readonly voice: string | undefined;
  private readonly interDigitMs: number;
  private readonly sttFinalTimeoutMs: number;
  private readonly frameMs: number;
  private readonly engineRate: number;

  // Inbound audio: reused converters and frames.
  private readonly inRs: Resampler | undefined;
  private readonly vadRs: Resampler | undefined;
  private readonly sttRs: Resampler | undefined;
  private readonly vadFrame: AudioFrame;
  private readonly sttFrame: AudioFrame;
  private readonly sttRate: number;
  private readonly detector: VadDetector;
  private readonly preroll: Int16Array;
  private prerollPos = 0;
  private prerollFull = false;
  private utterBuf: Int16Array;
  private utterLen = 0;
  private capturing = false;
  private silenceMs = 0;
  private voicedMs = 0;
  private utterMs = 0;
  private lastSpeechEndAt = 0;
  private lastVoicedAt = 0;
  private utter: Utterance | undefined;
  private callerOffsetMs: number | undefined;

  // STT.
  private sttStream: SttStream | undefined;
  private finals: string[] = [];
  private interimPending = false;
  private awaitingFinal: { u: Utterance; timer: TimerHandle } | undefined;
  private pendingSttError: VoicebotError | undefined;

  // listen() and DTMF.
  private pendingListen: PendingListen | undefined;
  private readonly results: ListenResult[] = [];
  private dtmfBuffer = '';
  private interceptor: ((digit: string) => boolean) | undefined;

  // Outbound audio.
  private readonly pacer: OutboundPacer;
  private readonly ttsRate: number;
  private ttsRs: Resampler | undefined;
  private enqueuedMs = 0;
  private playback: Playback | undefined;

  // Metrics, recording, lifecycle.
  private turn = 0;
  private metrics: MetricsDraft | undefined;
  private readonly recorder: CallRecorder | undefined;
  private readonly recordDir: string;
  private readonly recRs: Resampler | undefined;
  private maxTimer: TimerHandle | undefined;
  private offMetrics: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private endReason: HangupReason | undefined;

  constructor(opts: CallSessionOptions) {
    this.time = opts.clock.time;
    this.t0 = this.time.now();
    this.leg = opts.leg;
    this.info = opts.leg.info;
    this.settings = opts.settings;
    this.log = opts.logger;
    this.vad = opts.plugins.vad;
    this.stt = opts.plugins.stt;
    this.llm = opts.plugins.llm;
    this.tts = opts.plugins.tts;
    this.flowName = opts.flowName ?? '';
    this.voice = opts.voice;
    this.interDigitMs = opts.interDigitMs ?? 3000;
    this.sttFinalTimeoutMs = opts.sttFinalTimeoutMs ?? 3000;
    const media = opts.leg.media;
    this.frameMs = media.frameMs || 20;
    this.engineRate = engineRateFor(opts.settings.sampleRate, media.inputRate, this.vad.capabilities.sampleRates, this.stt?.capabilities.sampleRates);

    this.inRs = media.inputRate === this.engineRate ? undefined : new Resampler(media.inputRate, this.engineRate);
    const vadRate = pickRate(this.vad.capabilities.sampleRates, this.engineRate);
    this.vadRs = vadRate === this.engineRate ? undefined : new Resampler(this.engineRate, vadRate);
    this.vadFrame = { samples: new Int16Array(0), sampleRate: vadRate, timestampMs: 0 };
    this.detector = this.vad.createDetector({ sampleRate: vadRate });
    this.sttRate = this.stt ? pickRate(this.stt.capabilities.sampleRates, this.engineRate) : this.engineRate;
    this.sttRs = this.sttRate === this.engineRate ? undefined : new Resampler(this.engineRate, this.sttRate);
    this.sttFrame = { samples: new Int16Array(0), sampleRate: this.sttRate, timestampMs: 0 };
    this.preroll = new Int16Array((this.sttRate * PREROLL_MS) / 1000);
    this.utterBuf = new Int16Array(this.stt?.capabilities.streaming ? 0 : this.sttRate * 2);

    this.ttsRate = this.tts ? pickRate(this.tts.capabilities.sampleRates, media.outputRate) : media.outputRate;
    this.pacer = new OutboundPacer({
      sampleRate: media.outputRate,
      frameMs: this.frameMs,
      clock: opts.clock,
      sink: this.onBotFrame,
      onDrained: this.onDrained,
    });

    const rec = { ...opts.settings.recording, ...opts.recording };
    this.recordDir = rec.dir ?? 'recordings';
    if (rec.enabled) {
      this.recorder = new CallRecorder(this.engineRate);
      this.recRs = media.outputRate === this.engineRate ? undefined : new Resampler(media.outputRate, this.engineRate);
    }
  }

  // ── CallSession: state ─────────────────────────────────────────────────

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

  /** Attach to the leg and start the call clock. Call once, after construction. */
  start(): void {
    this.state = transition(this.info.id, this.state, CallState.Active);
    const media = this.leg.media;
    media.setReceiver(this.onFrame);
    this.leg.onDtmf(this.onDtmf);
    this.leg.onEnded(this.onLegEnded);
    this.pacer.start();
    this.offMetrics = routeCallMetrics([this.vad, this.stt, this.llm, this.tts], this.info.id, this.onPluginMetric);
    const maxCall = this.settings.timeouts.maxCall;
    if (maxCall > 0 && Number.isFinite(maxCall)) this.maxTimer = this.timer(this.onMaxCall, maxCall);
    this.emit({ type: 'call.started', from: this.info.from, to: this.info.to, flow: this.flowName });
    this.log.info({ from: this.info.from, to: this.info.to, flow: this.flowName, inputRate: media.inputRate, outputRate: media.outputRate }, 'call started');
  }

  private assertLive(action: string): void {
    if (!isLive(this.state)) throw callStateError(this.info.id, action, this.state);
  }

  private missingSlot(slot: 'stt' | 'llm' | 'tts', what: string): VoicebotError {
    return new VoicebotError('VB_ERR_CONFIG_MISSING_SLOT', { detail: what, slot });
  }

  // ── Events ─────────────────────────────────────────────────────────────

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

  /** Registered event listeners (the leak test expects 0 after close). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  private readonly onPluginMetric = (m: PluginMetric): void => {
    this.log.debug({ slot: m.slot, provider: m.provider, metric: m.name, ms: Math.round(m.ms) }, 'plugin metric');
  };

  // ── Inbound audio (hot path) ───────────────────────────────────────────

  private readonly onFrame = (frame: AudioFrame): void => {
    if (this.state !== CallState.Active) return;
    // A throwing plugin must end this call, not the leg's socket handler (and with it other calls).
    try {
      this.processFrame(frame);
    } catch (e) {
      this.fail(e, 'processing caller audio');
    }
  };

  private processFrame(frame: AudioFrame): void {
    const eng = this.inRs ? this.inRs.process(frame.samples) : frame.samples;
    if (this.recorder) {
      if (this.callerOffsetMs === undefined) this.callerOffsetMs = this.now() - frame.timestampMs;
      this.recorder.addCaller(eng, frame.timestampMs + this.callerOffsetMs);
    }
    const vf = this.vadFrame;
    vf.samples = this.vadRs ? this.vadRs.process(eng) : eng;
    vf.timestampMs = frame.timestampMs;
    const ev = this.detector.process(vf);
    const sf = this.sttFrame;
    sf.samples = this.sttRs ? this.sttRs.process(eng) : eng;
    sf.timestampMs = frame.timestampMs;

    if (ev === 'speech-start') {
      if (!this.capturing) this.beginUtterance();
      this.silenceMs = 0;
    } else if (ev === 'speech-end') {
      this.lastSpeechEndAt = this.time.now();
    }

    if (!this.capturing) {
      this.keepPreroll(sf.samples);
      return;
    }
    this.capture(sf);
    const ms = this.frameMs;
    this.utterMs += ms;
    if (this.detector.speaking) {
      this.silenceMs = 0;
      if (this.detector.probability >= 0.5) {
        this.voicedMs += ms;
        // The VAD reports speech-end only after its hangover; the caller really stopped at the last voiced frame.
        this.lastVoicedAt = this.time.now();
      }
      const pb = this.playback;
      if (pb !== undefined && pb.bargeIn && !pb.stopped && this.voicedMs >= this.settings.bargeIn.minSpeechMs) this.bargeIn();
    } else {
      this.silenceMs += ms;
      if (this.silenceMs >= this.settings.timeouts.endOfSpeech) this.endpoint();
    }
    if (this.capturing && this.utterMs >= MAX_UTTERANCE_MS) {
      this.lastVoicedAt = this.time.now();
      this.endpoint();
    }
  }

  /** A timer of this call on the call's clock: a throw in it ends this call (coded), never the process. */
  private timer(fn: () => void, ms: number): TimerHandle {
    return this.time.setTimeout(() => {
      try {
        fn();
      } catch (e) {
        this.fail(e, 'running a call timer');
      }
    }, ms);
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

  private keepPreroll(s: Int16Array): void {
    const ring = this.preroll;
    const n = ring.length;
    if (n === 0) return;
    for (let i = 0; i < s.length; i++) {
      ring[this.prerollPos++] = s[i];
      if (this.prerollPos === n) {
        this.prerollPos = 0;
        this.prerollFull = true;
      }
    }
  }

  private beginUtterance(): void {
    this.capturing = true;
    this.silenceMs = 0;
    this.voicedMs = 0;
    this.utterMs = 0;
    this.utterLen = 0;
    this.lastVoicedAt = 0;
    const w = this.awaitingFinal;
    if (w && !this.interimPending) {
      // The previous utterance produced nothing to wait for (noise): close it so its turn cannot take this one's text.
      this.time.clearTimeout(w.timer);
      this.awaitingFinal = undefined;
      this.finishTurn(this.takeFinals(), w.u);
    }
    // Still waiting for the previous utterance's final: its text must stay with it.
    if (!this.awaitingFinal) this.finals = [];
    const pb = this.playback;
    this.utter = { startedDuringPlayback: pb !== undefined && !pb.stopped, cutIn: false, speechEndAt: 0, endpointAt: 0, discard: false };
    // The caller is speaking: the no-input clock stops.
    const pl = this.pendingListen;
    if (pl?.timer) {
      this.time.clearTimeout(pl.timer);
      pl.timer = undefined;
    }
    if (!this.stt) return;
    // Once per utterance: hand STT the audio from just before the onset.
    const ring = this.preroll;
    const pre = this.prerollFull ? ring.length : this.prerollPos;
    const audio = new Int16Array(pre);
    if (this.prerollFull) {
      audio.set(ring.subarray(this.prerollPos), 0);
      audio.set(ring.subarray(0, this.prerollPos), ring.length - this.prerollPos);
    } else audio.set(ring.subarray(0, pre));
    this.prerollPos = 0;
    this.prerollFull = false;
    if (this.stt.capabilities.streaming) {
      this.ensureSttStream();
      if (pre > 0) this.sttStream?.push({ samples: audio, sampleRate: this.sttRate, timestampMs: 0 });
    } else this.appendUtterance(audio);
  }

  private capture(sf: AudioFrame): void {
    if (!this.stt) return;
    if (this.stt.capabilities.streaming) this.sttStream?.push(sf);
    else this.appendUtterance(sf.samples);
  }

  private appendUtterance(s: Int16Array): void {
    const need = this.utterLen + s.length;
    if (need > this.utterBuf.length) {
      let cap = Math.max(this.utterBuf.length, 1024);
      while (cap < need) cap *= 2;
      const n = new Int16Array(cap);
      n.set(this.utterBuf.subarray(0, this.utterLen));
      this.utterBuf = n;
    }
    this.utterBuf.set(s, this.utterLen);
    this.utterLen = need;
  }

  // ── Turn end: endpointing → STT ────────────────────────────────────────

  private endpoint(): void {
    const u = this.utter;
    this.capturing = false;
    this.utter = undefined;
    if (!u) return;
    u.speechEndAt = this.lastVoicedAt || this.lastSpeechEndAt || this.time.now();
    u.endpointAt = this.time.now();
    const pb = this.playback;
    // Speech over bot audio that did not cut it off (noise, or bargeIn off) is not a turn.
    u.discard = u.startedDuringPlayback && !u.cutIn && pb !== undefined && !pb.stopped;
    if (!this.stt) return;
    if (this.stt.capabilities.streaming) {
      const stream = this.sttStream;
      if (!stream) return;
      stream.endUtterance();
      if (this.interimPending || (this.finals.length === 0 && !u.discard)) {
        const timer = this.timer(this.onFinalTimeout, this.sttFinalTimeoutMs);
        this.awaitingFinal = { u, timer };
      } else this.finishTurn(this.takeFinals(), u);
      return;
    }
    const audio = this.utterBuf.slice(0, this.utterLen);
    this.utterLen = 0;
    if (u.discard) return;
    void this.recognizeUtterance(audio, u);
  }

  private async recognizeUtterance(audio: Int16Array, u: Utterance): Promise<void> {
    const stt = this.stt!;
    try {
      const t = await stt.recognize({
        audio,
        sampleRate: this.sttRate,
        language: this.settings.language,
        signal: this.endSignal,
        callId: this.info.id,
        hints: this.pendingListen?.opts.hints,
      });
      if (this.ended) return;
      this.finishTurn(t.text, u);
    } catch (e) {
      if (this.ended) return;
      this.sttFailed(e);
    }
  }

  private takeFinals(): string {
    const text = this.finals.join(' ').trim();
    this.finals = [];
    return text;
  }

  private ensureSttStream(): void {
    if (this.sttStream || !this.stt) return;
    try {
      this.sttStream = this.stt.stream({
        sampleRate: this.sttRate,
        language: this.settings.language,
        callId: this.info.id,
        onTranscript: this.onTranscript,
        onError: this.onSttStreamError,
      });
    } catch (e) {
      this.sttFailed(e);
    }
  }

  private readonly onTranscript = (t: Transcript): void => {
    if (this.ended) return;
    if (!t.final) {
      this.interimPending = true;
      return;
    }
    this.interimPending = false;
    if (t.text.trim()) this.finals.push(t.text.trim());
    const w = this.awaitingFinal;
    if (w && !this.interimPending) {
      this.time.clearTimeout(w.timer);
      this.awaitingFinal = undefined;
      this.finishTurn(this.takeFinals(), w.u);
    }
  };

  private readonly onFinalTimeout = (): void => {
    const w = this.awaitingFinal;
    this.awaitingFinal = undefined;
    this.interimPending = false;
    if (w) this.finishTurn(this.takeFinals(), w.u);
  };

  private readonly onSttStreamError = (e: unknown): void => {
    const s = this.sttStream;
    this.sttStream = undefined;
    try {
      s?.close();
    } catch {
      // The stream is being dropped anyway.
    }
    if (this.awaitingFinal) {
      this.time.clearTimeout(this.awaitingFinal.timer);
      this.awaitingFinal = undefined;
    }
    if (!this.ended) this.sttFailed(e);
  };

  private sttFailed(e: unknown): void {
    const err = toVoicebotError(e, 'VB_ERR_PROVIDER', { provider: this.stt?.provider ?? 'stt', slot: 'stt' });
    this.log.error({ code: err.code, slot: 'stt' }, `speech recognition failed: ${err.message}`);
    const pl = this.pendingListen;
    if (pl && pl.opts.input.includes('speech')) this.settleListen(pl, undefined, err);
    else this.pendingSttError = err;
  }

  private finishTurn(raw: string, u: Utterance): void {
    const text = raw.trim();
    if (!text || u.discard) {
      if (text) this.log.debug({ text }, 'caller speech over the bot ignored');
      this.restartNoInput();
      return;
    }
    const finalAt = this.time.now();
    this.flushMetrics();
    this.metrics = { turn: ++this.turn, speechEndAt: u.speechEndAt, endpointAt: u.endpointAt, finalAt };
    this.emit({ type: 'caller.said', text, final: true });
    this.recorder?.transcript.push({ t: Math.round(this.now()), speaker: 'caller', text });
    this.log.info({ turn: this.turn, text }, 'caller said');
    this.deliver({ type: 'speech', text });
  }

  // ── listen() ───────────────────────────────────────────────────────────

  listen(opts: ListenOptions): Promise<ListenResult> {
    try {
      this.assertLive('listen');
      if (this.pendingListen) throw callStateError(this.info.id, 'listen while already listening', this.state);
      if (opts.input.includes('speech') && !this.stt && !opts.input.includes('dtmf')) throw this.missingSlot('stt', 'listen for speech');
      if (opts.signal?.aborted) throw opts.signal.reason;
    } catch (e) {
      return Promise.reject(e);
    }
    const wantsSpeech = opts.input.includes('speech');
    if (wantsSpeech && this.pendingSttError) {
      const err = this.pendingSttError;
      this.pendingSttError = undefined;
      return Promise.reject(err);
    }
    // Something the caller said or pressed before we asked (barge-in, type-ahead).
    while (this.results.length) {
      const r = this.results.shift()!;
      if ((r.type === 'speech' && wantsSpeech) || (r.type === 'dtmf' && opts.input.includes('dtmf'))) return Promise.resolve(r);
    }
    return new Promise<ListenResult>((resolve, reject) => {
      const pl: PendingListen = { opts, resolve, reject, timer: undefined, digitTimer: undefined, digits: '', offAbort: () => {} };
      this.pendingListen = pl;
      const onAbort = (): void => this.settleListen(pl, undefined, opts.signal?.aborted ? opts.signal.reason : callStateError(this.info.id, 'listen', this.state));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.endSignal.addEventListener('abort', onAbort, { once: true });
      pl.offAbort = () => {
        opts.signal?.removeEventListener('abort', onAbort);
        this.endSignal.removeEventListener('abort', onAbort);
      };
      if (opts.input.includes('dtmf') && this.dtmfBuffer) {
        const typed = this.dtmfBuffer;
        this.dtmfBuffer = '';
        for (const d of typed) {
          if (this.pendingListen !== pl) return;
          this.listenDigit(pl, d);
        }
        if (this.pendingListen !== pl) return;
      }
      if (!this.capturing && !pl.digits) pl.timer = this.timer(() => this.settleListen(pl, { type: 'timeout' }), opts.timeoutMs);
    });
  }

  private restartNoInput(): void {
    const pl = this.pendingListen;
    if (!pl || pl.timer || pl.digits || this.capturing) return;
    pl.timer = this.timer(() => this.settleListen(pl, { type: 'timeout' }), pl.opts.timeoutMs);
  }

  private settleListen(pl: PendingListen, result: ListenResult | undefined, error?: unknown): void {
    if (this.pendingListen !== pl) return;
    this.pendingListen = undefined;
    if (pl.timer) this.time.clearTimeout(pl.timer);
    if (pl.digitTimer) this.time.clearTimeout(pl.digitTimer);
    pl.offAbort();
    if (result) pl.resolve(result);
    else pl.reject(error);
  }

  private deliver(r: ListenResult): void {
    const pl = this.pendingListen;
    if (pl && ((r.type === 'speech' && pl.opts.input.includes('speech')) || (r.type === 'dtmf' && pl.opts.input.includes('dtmf')))) {
      this.settleListen(pl, r);
      return;
    }
    this.results.push(r);
    if (this.results.length > MAX_QUEUED_RESULTS) this.results.shift();
  }

  // ── DTMF ───────────────────────────────────────────────────────────────

  setDtmfInterceptor(fn: ((digit: string) => boolean) | undefined): void {
    this.interceptor = fn;
  }

  private readonly onDtmf = (digit: string): void => {
    if (!isLive(this.state)) return;
    this.emit({ type: 'dtmf', digits: digit });
    this.recorder?.transcript.push({ t: Math.round(this.now()), speaker: 'dtmf', text: digit });
    let consumed = false;
    try {
      consumed = this.interceptor?.(digit) ?? false;
    } catch (e) {
      this.log.error({ err: (e as Error)?.message }, 'dtmf interceptor threw');
    }
    if (consumed) return;
    const pb = this.playback;
    if (pb && pb.bargeIn && !pb.stopped) this.bargeIn();
    const pl = this.pendingListen;
    if (pl && pl.opts.input.includes('dtmf')) this.listenDigit(pl, digit);
    else if (this.dtmfBuffer.length < MAX_DTMF_BUFFER) this.dtmfBuffer += digit;
  };

  private listenDigit(pl: PendingListen, d: string): void {
    if (pl.timer) {
      this.time.clearTimeout(pl.timer);
      pl.timer = undefined;
    }
    if (pl.digitTimer) this.time.clearTimeout(pl.digitTimer);
    pl.digitTimer = undefined;
    const { finishOnKey, numDigits } = pl.opts;
    if (finishOnKey && d === finishOnKey) {
      this.settleListen(pl, { type: 'dtmf', digits: pl.digits });
      return;
    }
    pl.digits += d;
    if (numDigits !== undefined && pl.digits.length >= numDigits) {
      this.settleListen(pl, { type: 'dtmf', digits: pl.digits });
      return;
    }
    pl.digitTimer = this.timer(() => this.settleListen(pl, { type: 'dtmf', digits: pl.digits }), this.interDigitMs);
  }

  // ── Outbound audio ─────────────────────────────────────────────────────

  private readonly onBotFrame = (frame: AudioFrame, atMs: number): void => {
    if (this.metrics !== undefined && this.metrics.ttsFirstAt !== undefined) this.emitMetrics(this.time.now());
    // This runs inside the shared PacerClock tick: a throw here would stop every call's audio.
    try {
      this.leg.media.write(frame);
      if (this.recorder) {
        const s = this.recRs ? this.recRs.process(frame.samples) : frame.samples;
        this.recorder.addBot(s, atMs - this.t0);
      }
    } catch (e) {
      this.fail(e, 'sending bot audio');
    }
  };

  private readonly onDrained = (): void => {
    const pb = this.playback;
    if (pb?.drained) {
      const d = pb.drained;
      pb.drained = undefined;
      d();
    }
  };

  private beginPlayback(bargeIn: boolean | undefined, signal: AbortSignal | undefined): Playback {
    const prev = this.playback;
    if (prev && !prev.stopped) this.stopAudio(prev);
    const pb = new Playback(bargeIn ?? this.settings.bargeIn.enabled, signal, this.endSignal);
    pb.signal.addEventListener('abort', () => this.stopAudio(pb), { once: true });
    this.playback = pb;
    return pb;
  }

  /** Silence the bot now: within the current frame, whatever was queued. */
  private stopAudio(pb: Playback): void {
    if (pb.stopped) return;
    pb.stopped = true;
    if (this.playback === pb) {
      pb.heardUntilMs = this.pacer.playedMs;
      this.pacer.clear();
      this.leg.media.clear();
      this.enqueuedMs = this.pacer.playedMs;
    }
    const d = pb.drained;
    pb.drained = undefined;
    d?.();
  }

  /** The caller cut in: stop the bot and cancel the LLM/TTS work behind it. */
  private bargeIn(): void {
    const pb = this.playback;
    if (!pb || pb.stopped) return;
    pb.interrupted = true;
    if (this.utter) this.utter.cutIn = true;
    this.log.info({ heardMs: Math.round(this.pacer.playedMs) }, 'barge-in: caller interrupted the bot');
    this.stopAudio(pb);
    pb.link.abort(new VoicebotError('VB_ERR_CANCELLED', { what: 'bot turn (caller barged in)' }));
  }

  /** Synthesize `text` and queue it for playing; resolves when synthesized (not played). */
  private async speakChunk(pb: Playback, text: string, round: number): Promise<void> {
    const tts = this.tts!;
    const seg: Segment = { text, round, startMs: -1, durationMs: 0, words: [], complete: false };
    pb.segments.push(seg);
    const m = this.metrics;
    if (m && m.ttsStartAt === undefined) m.ttsStartAt = this.time.now();
    const outRate = this.leg.media.outputRate;
    for await (const chunk of tts.synthesize({
      text,
      sampleRate: this.ttsRate,
      language: this.settings.language,
      voice: this.voice,
      signal: pb.signal,
      callId: this.info.id,
    })) {
      if (pb.stopped) return;
      if (m && m === this.metrics && m.ttsFirstAt === undefined) m.ttsFirstAt = this.time.now();
      let out = chunk.samples;
      if (chunk.sampleRate !== outRate) {
        if (!this.ttsRs || this.ttsRs.fromRate !== chunk.sampleRate) this.ttsRs = new Resampler(chunk.sampleRate, outRate);
        out = this.ttsRs.process(chunk.samples);
      }
      if (seg.startMs < 0) {
        seg.startMs = Math.max(this.enqueuedMs, this.pacer.playedMs);
        this.enqueuedMs = seg.startMs;
      }
      if (chunk.words) for (const w of chunk.words) seg.words.push(w);
      const ms = (out.length * 1000) / outRate;
      seg.durationMs += ms;
      this.enqueuedMs += ms;
      this.pacer.enqueue(out);
    }
    seg.complete = true;
  }

  private waitPlayed(pb: Playback): Promise<void> {
    if (pb.stopped || !this.pacer.active) return Promise.resolve();
    return new Promise((resolve) => {
      pb.drained = resolve;
    });
  }

  private finishPlayback(pb: Playback): SayResult {
    if (!pb.stopped) pb.heardUntilMs = Infinity;
    const playedText = pb.playedText();
    const interrupted = pb.stopped;
    if (this.playback === pb) this.playback = undefined;
    pb.link.dispose();
    if (playedText || pb.segments.length) {
      this.emit({ type: 'bot.said', text: playedText, interrupted });
      this.recorder?.transcript.push({ t: Math.round(this.now()), speaker: 'bot', text: playedText, interrupted });
      this.log.info({ text: playedText, interrupted }, 'bot said');
    }
    return { interrupted, playedText };
  }

  /** A failure while speaking: stop the audio, report what was heard, reject with a coded error. */
  private failPlayback(pb: Playback, e: unknown, slot: 'tts' | 'llm'): VoicebotError {
    this.stopAudio(pb);
    this.finishPlayback(pb);
    if (this.ended) return callStateError(this.info.id, 'speak', this.state);
    const provider = (slot === 'tts' ? this.tts?.provider : this.llm?.provider) ?? slot;
    const err = toVoicebotError(e, 'VB_ERR_PROVIDER', { provider, slot });
    this.log.error({ code: err.code, slot }, `${slot} failed during the bot's turn: ${err.message}`);
    return err;
  }

  async say(text: string, opts: SayOptions = {}): Promise<SayResult> {
    this.assertLive('say');
    if (!this.tts) throw this.missingSlot('tts', 'say');
    const pb = this.beginPlayback(opts.bargeIn, opts.signal);
    try {
      for (const piece of splitSentences(text)) {
        if (pb.stopped) break;
        await this.speakChunk(pb, piece, 0);
      }
      await this.waitPlayed(pb);
    } catch (e) {
      if (!pb.stopped || !pb.signal.aborted) throw this.failPlayback(pb, e, 'tts');
    }
    return this.finishPlayback(pb);
  }

  async play(audio: AudioBuffer, opts: SayOptions = {}): Promise<SayResult> {
    this.assertLive('play');
    const pb = this.beginPlayback(opts.bargeIn, opts.signal);
    const outRate = this.leg.media.outputRate;
    const samples = audio.sampleRate === outRate ? audio.samples : new Resampler(audio.sampleRate, outRate).process(audio.samples);
    const ms = (samples.length * 1000) / outRate;
    const seg: Segment = { text: '', round: 0, startMs: Math.max(this.enqueuedMs, this.pacer.playedMs), durationMs: ms, words: [], complete: true };
    pb.segments.push(seg);
    this.enqueuedMs = seg.startMs + ms;
    this.pacer.enqueue(samples);
    await this.waitPlayed(pb);
    const interrupted = pb.stopped;
    if (this.playback === pb) this.playback = undefined;
    pb.link.dispose();
    return { interrupted, playedText: '' };
  }

  async respond(opts: RespondOptions): Promise<RespondResult> {
    this.assertLive('respond');
    if (!this.llm) throw this.missingSlot('llm', 'respond');
    if (!this.tts) throw this.missingSlot('tts', 'respond');
    const llm = this.llm;
    const pb = this.beginPlayback(opts.bargeIn, opts.signal);
    const toolCalls: RespondResult['toolCalls'] = [];
    const pushed: { msg: Extract<ChatMessage, { role: 'assistant' }>; round: number; text: string }[] = [];
    let stoppedOnTool: string | undefined;
    let speaking: Promise<void> = Promise.resolve();
    let speakErr: unknown;
    let failedSlot: 'llm' | 'tts' = 'llm';

    try {
      for (let round = 0; round < MAX_TOOL_ROUNDS && !pb.stopped; round++) {
        const splitter = new SentenceSplitter();
        let text = '';
        const calls: ToolCall[] = [];
        const speak = (piece: string): void => {
          speaking = speaking.then(() => (pb.stopped || speakErr ? undefined : this.speakChunk(pb, piece, round))).catch((e: unknown) => {
            if (pb.stopped && pb.signal.aborted && !speakErr) return;
            speakErr ??= e;
            pb.link.abort(e);
          });
        };
        const m = this.metrics;
        if (m && m.llmStartAt === undefined) m.llmStartAt = this.time.now();
        for await (const ev of llm.chat({
          messages: opts.messages,
          tools: opts.tools,
          temperature: opts.temperature,
          maxTokens: opts.maxTokens,
          signal: pb.signal,
          callId: this.info.id,
        })) {
          if (pb.stopped) break;
          if (m && m === this.metrics && m.llmFirstAt === undefined && ev.type !== 'done') m.llmFirstAt = this.time.now();
          if (ev.type === 'text') {
            text += ev.text;
            for (const piece of splitter.push(ev.text)) speak(piece);
          } else if (ev.type === 'tool_call') calls.push(ev.call);
          else break;
        }
        const rest = splitter.flush();
        if (rest && !pb.stopped) speak(rest);
        await speaking;
        if (speakErr) {
          failedSlot = 'tts';
          throw speakErr;
        }
        if (calls.length === 0) {
          const msg: Extract<ChatMessage, { role: 'assistant' }> = { role: 'assistant', content: text.trim() };
          pushed.push({ msg, round, text: text.trim() });
          break;
        }
        const msg: Extract<ChatMessage, { role: 'assistant' }> = { role: 'assistant', content: text.trim(), toolCalls: calls };
        opts.messages.push(msg);
        pushed.push({ msg, round, text: text.trim() });
        for (const call of calls) {
          let result: unknown;
          let error: string | undefined;
          if (pb.signal.aborted) error = 'cancelled: the caller interrupted';
          else if (!opts.runTool) error = 'no tool runner is configured';
          else {
            try {
              result = await opts.runTool(call, pb.signal);
            } catch (e) {
              error = e instanceof Error ? e.message : String(e);
            }
          }
          toolCalls.push(error === undefined ? { call, result } : { call, error });
          opts.messages.push({
            role: 'tool',
            content: JSON.stringify(error === undefined ? (result ?? null) : { error }),
            toolCallId: call.id,
            name: call.name,
          });
          if (error === undefined && opts.stopOnTools?.includes(call.name)) stoppedOnTool ??= call.name;
        }
        if (stoppedOnTool) break;
      }
      await this.waitPlayed(pb);
    } catch (e) {
      void speaking.catch(() => {});
      const cancelled = pb.stopped && pb.signal.aborted && !speakErr;
      if (!cancelled) {
        this.patchHistory(pb, pushed, opts.messages);
        throw this.failPlayback(pb, speakErr ?? e, speakErr ? 'tts' : failedSlot);
      }
    }
    this.patchHistory(pb, pushed, opts.messages);
    const r = this.finishPlayback(pb);
    return { playedText: r.playedText, interrupted: r.interrupted, toolCalls, ...(stoppedOnTool ? { stoppedOnTool } : {}) };
  }

  /** Keep in the conversation only what the caller heard of each round. */
  private patchHistory(
    pb: Playback,
    pushed: { msg: Extract<ChatMessage, { role: 'assistant' }>; round: number; text: string }[],
    messages: ChatMessage[],
  ): void {
    if (!pb.stopped) pb.heardUntilMs = Infinity;
    for (const p of pushed) {
      const heard = pb.stopped ? pb.playedText(p.round) : p.text;
      p.msg.content = heard;
      if (!p.msg.toolCalls && heard && !messages.includes(p.msg)) messages.push(p.msg);
    }
    // Interrupted before the final round's message was recorded: keep what was heard of it.
    const rounds = new Set(pushed.map((p) => p.round));
    for (const s of pb.segments) {
      if (rounds.has(s.round)) continue;
      rounds.add(s.round);
      const heard = pb.playedText(s.round);
      if (heard) messages.push({ role: 'assistant', content: heard });
    }
  }

  async classifyIntent(text: string, intents: readonly string[], signal?: AbortSignal): Promise<string | null> {
    this.assertLive('classifyIntent');
    if (!this.llm) throw this.missingSlot('llm', 'intent classification');
    if (intents.length === 0) return null;
    const link = new LinkedAbort(signal, this.endSignal);
    let answer = '';
    try {
      for await (const ev of this.llm.chat({
        messages: [
          { role: 'system', content: ['CLASSIFY_INTENT', ...intents.map((i) => i.replace(/\n/g, ' '))].join('\n') },
          { role: 'user', content: text },
        ],
        temperature: 0,
        signal: link.signal,
        callId: this.info.id,
      })) {
        if (ev.type === 'text') answer += ev.text;
      }
    } catch (e) {
      if (link.signal.aborted) throw link.signal.reason;
      throw toVoicebotError(e, 'VB_ERR_PROVIDER', { provider: this.llm.provider, slot: 'llm' });
    } finally {
      link.dispose();
    }
    const a = answer.trim().replace(/^["']|["'.]$/g, '').trim().toLowerCase();
    if (!a || a === 'none') return null;
    return intents.find((i) => i.toLowerCase() === a) ?? intents.find((i) => a.startsWith(i.toLowerCase())) ?? null;
  }

  // ── Call control ───────────────────────────────────────────────────────

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

  /**
   * End the call and release everything it holds. Idempotent; the first
   * reason wins. Does not hang up the leg (hangup() does).
   */
  close(reason: HangupReason): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.teardown(reason);
    return this.closing;
  }

  private async teardown(reason: HangupReason): Promise<void> {
    this.endReason = reason;
    this.state = transition(this.info.id, this.state, CallState.Ending);
    if (this.maxTimer) this.time.clearTimeout(this.maxTimer);
    this.maxTimer = undefined;
    const media = this.leg.media;
    media.setReceiver(undefined);
    this.leg.onDtmf(undefined);
    this.leg.onEnded(undefined);
    this.interceptor = undefined;
    const pb = this.playback;
    if (pb) this.stopAudio(pb);
    this.pacer.stop();
    // Wakes every wait of this call: listen(), in-flight say/respond, tool runs.
    this.endAc.abort(callStateError(this.info.id, 'wait', CallState.Ending));
    if (this.pendingListen) this.settleListen(this.pendingListen, undefined, callStateError(this.info.id, 'listen', CallState.Ending));
    if (this.awaitingFinal) this.time.clearTimeout(this.awaitingFinal.timer);
    this.awaitingFinal = undefined;
    try {
      this.sttStream?.close();
    } catch (e) {
      this.log.warn({ err: (e as Error)?.message }, 'closing the STT stream failed');
    }
    this.sttStream = undefined;
    this.flushMetrics();
    this.offMetrics?.();
    this.offMetrics = undefined;
    const durationMs = Math.round(this.now());
    this.emit({ type: 'call.ended', reason, durationMs });
    this.log.info({ reason, durationMs, turns: this.turn }, 'call ended');
    this.state = transition(this.info.id, this.state, CallState.Ended);
    if (this.recorder) {
      try {
        const files = await this.recorder.write(this.recordDir, this.info.id, {
          callId: this.info.id,
          from: this.info.from,
          to: this.info.to,
          flow: this.flowName,
          reason,
          durationMs,
        });
        this.log.info(files, 'call recorded');
      } catch (e) {
        this.log.error({ err: (e as Error)?.message }, 'writing the call recording failed');
      }
    }
    this.listeners.clear();
    this.results.length = 0;
  }

  get reason(): HangupReason | undefined {
    return this.endReason;
  }

  // ── Turn metrics ───────────────────────────────────────────────────────

  private emitMetrics(firstFrameAt: number | undefined): void {
    const m = this.metrics;
    if (!m) return;
    this.metrics = undefined;
    const r = (x: number): number => Math.round(x * 10) / 10;
    const tm: TurnMetrics = { turn: m.turn, endOfUtteranceMs: r(m.endpointAt - m.speechEndAt), sttMs: r(m.finalAt - m.endpointAt) };
    if (m.llmStartAt !== undefined && m.llmFirstAt !== undefined) tm.llmTtftMs = r(m.llmFirstAt - m.llmStartAt);
    if (m.ttsStartAt !== undefined && m.ttsFirstAt !== undefined) tm.ttsTtfbMs = r(m.ttsFirstAt - m.ttsStartAt);
    if (m.llmFirstAt !== undefined && m.ttsStartAt !== undefined && m.ttsStartAt >= m.llmFirstAt) tm.llmToTtsMs = r(m.ttsStartAt - m.llmFirstAt);
    if (firstFrameAt !== undefined && m.ttsFirstAt !== undefined) tm.ttsToWireMs = r(firstFrameAt - m.ttsFirstAt);
    if (firstFrameAt !== undefined) {
      tm.e2eMs = r(firstFrameAt - m.speechEndAt);
      tm.overheadMs = r(tm.e2eMs - (tm.endOfUtteranceMs ?? 0) - (tm.sttMs ?? 0) - (tm.llmTtftMs ?? 0) - (tm.ttsTtfbMs ?? 0));
    }
    this.recorder?.turns.push(tm);
    this.emit({ type: 'turn.metrics', ...tm });
    this.log.info({ ...tm }, 'turn metrics');
  }

  /** A turn the bot never answered with audio still reports its listening side. */
  private flushMetrics(): void {
    if (this.metrics) this.emitMetrics(undefined);
  }
}
