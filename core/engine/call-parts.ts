import type { AudioFrame } from '../audio/frame.js';
import { Resampler } from '../audio/resampler.js';
import type { VoicebotError } from '../errors/index.js';
import type { Logger } from '../logging.js';
import type { CallInfo } from '../plugins/telephony.js';
import type { Clock } from '../time/clock.js';
import type { CallSessionOptions } from './call-engine.js';
import { CallerInput } from './caller-input.js';
import type { CallEvent } from './events.js';
import { Outbound } from './outbound.js';
import { engineRateFor, pickRate } from './rates.js';
import { createRecognizer, type Recognizer } from './recognizer.js';
import { CallRecorder } from './recorder.js';
import { ReplyGenerator } from './reply-generator.js';
import type { DistributiveOmit } from './session-api.js';
import { TurnController } from './turn-controller.js';
import { TurnMetricsTracker } from './turn-metrics.js';

/** What the parts need from the call that owns them. */
export interface CallPartsHost {
  info: CallInfo;
  time: Clock;
  /** Clock ms at answer. */
  t0: number;
  endSignal: AbortSignal;
  log: Logger;
  /** ms since answer. */
  now(): number;
  emit(ev: DistributiveOmit<CallEvent, 'callId' | 't'>): void;
  bargeIn(): void;
  pauseBot(mode: 'pause' | 'duck'): void;
  resumeBot(pausedMs: number): void;
  hotkey(digit: string): boolean;
  fail(e: unknown, where: string): void;
  sttFailed(e: unknown): void;
  speakFailed(slot: 'tts' | 'llm', e: unknown): VoicebotError;
}

/** The caller's side, frame in → utterances recognized → the turn controller. */
export interface CallInputPath {
  process(frame: AudioFrame): void;
  close(): void;
}

export interface CallParts {
  input: CallInputPath;
  turns: TurnController;
  outbound: Outbound;
  replies: ReplyGenerator;
  metrics: TurnMetricsTracker;
  recorder: CallRecorder | undefined;
}

/**
 * Builds one call's parts at the rates its leg and plugins agree on and
 * connects them (the data path in README "How it fits together"). Every
 * connection is a plain callback: nothing here runs per frame but them.
 */
export function createCallParts(opts: CallSessionOptions, h: CallPartsHost): CallParts {
  const { vad, stt, llm, tts } = opts.plugins;
  const { settings } = opts;
  const media = opts.leg.media;
  const frameMs = media.frameMs || 20;
  const engineRate = engineRateFor(settings.sampleRate, media.inputRate, vad.capabilities.sampleRates, stt?.capabilities.sampleRates);
  const vadRate = pickRate(vad.capabilities.sampleRates, engineRate);
  const sttRate = stt ? pickRate(stt.capabilities.sampleRates, engineRate) : engineRate;
  const rec = { ...settings.recording, ...opts.recording };
  const recorder = rec.enabled ? new CallRecorder(engineRate) : undefined;
  const recRs = recorder && media.outputRate !== engineRate ? new Resampler(media.outputRate, engineRate) : undefined;

  const metrics = new TurnMetricsTracker((tm) => {
    recorder?.turns.push(tm);
    h.emit({ type: 'turn.metrics', ...tm });
    h.log.info({ ...tm }, 'turn metrics');
  });
  const turns = new TurnController({
    clock: h.time,
    minSpeechMs: settings.bargeIn.minSpeechMs,
    interDigitMs: opts.interDigitMs ?? 3000,
    interruption: settings.turn?.interruption,
    bargeIn: h.bargeIn,
    pauseBot: h.pauseBot,
    resumeBot: h.resumeBot,
    callerSaid: (text, u) => {
      metrics.open(u.speechEndAt, u.endpointAt, h.time.now());
      h.emit({ type: 'caller.said', text, final: true });
      recorder?.transcript.push({ t: Math.round(h.now()), speaker: 'caller', text });
      h.log.info({ turn: metrics.turns, text }, 'caller said');
    },
    hotkey: h.hotkey,
  });
  const recognizer: Recognizer | undefined = stt
    ? createRecognizer({
        stt,
        sampleRate: sttRate,
        language: settings.language,
        callId: h.info.id,
        clock: h.time,
        signal: h.endSignal,
        finalTimeoutMs: opts.sttFinalTimeoutMs,
        sink: { interim: (seq, t) => turns.interim(seq, t.text), final: (seq, text) => turns.final(seq, text), error: h.sttFailed },
      })
    : undefined;

  let seq = 0;
  let callerOffsetMs: number | undefined;
  const callerInput = new CallerInput({
    inputRate: media.inputRate,
    engineRate,
    vadRate,
    sttRate,
    frameMs,
    detector: vad.createDetector({ sampleRate: vadRate }),
    endOfSpeechMs: settings.timeouts.endOfSpeech,
    clock: h.time,
    sink: {
      engineAudio: recorder
        ? (s, ts) => {
            callerOffsetMs ??= h.now() - ts;
            recorder.addCaller(s, ts + callerOffsetMs);
          }
        : undefined,
      speechStart: (pre) => {
        seq = recognizer ? recognizer.begin(pre) : seq + 1;
        turns.speechStart(seq);
      },
      audio: (f) => recognizer?.push(f),
      voiced: (ms) => turns.voiced(ms),
      endpoint: (speechEndAt, endpointAt) => {
        const discard = turns.endpoint(speechEndAt, endpointAt);
        if (recognizer) recognizer.end(seq, { discard, hints: turns.hints });
        else turns.final(seq, '');
      },
    },
  });

  const outbound = new Outbound({
    media,
    frameMs,
    clock: opts.clock,
    bargeInDefault: settings.bargeIn.enabled,
    onWire: (frame, atMs) => {
      metrics.onWire(atMs);
      if (recorder) recorder.addBot(recRs ? recRs.process(frame.samples) : frame.samples, atMs - h.t0);
    },
    onState: (s) => turns.setBot(s),
    fail: (e) => h.fail(e, 'sending bot audio'),
  });
  const replies = new ReplyGenerator({
    callId: h.info.id,
    language: settings.language,
    voice: opts.voice,
    llm,
    tts,
    outbound,
    metrics,
    now: () => h.time.now(),
    endSignal: h.endSignal,
    said: (text, interrupted) => {
      h.emit({ type: 'bot.said', text, interrupted });
      recorder?.transcript.push({ t: Math.round(h.now()), speaker: 'bot', text, interrupted });
      h.log.info({ text, interrupted }, 'bot said');
    },
    failed: h.speakFailed,
  });

  return {
    input: { process: (f) => callerInput.process(f), close: () => recognizer?.close() },
    turns,
    outbound,
    replies,
    metrics,
    recorder,
  };
}
