import type { HangupReason } from '../plugins/telephony.js';

/**
 * Typed events of one call. The CLI prints exactly these with `--json`, one
 * per line; logs carry the same fields. `t` is ms since the call started.
 */
export type CallEvent =
  | { type: 'call.started'; callId: string; t: number; from: string; to: string; flow: string }
  | { type: 'flow.step'; callId: string; t: number; flow: string; step: string; kind: string }
  | { type: 'bot.said'; callId: string; t: number; text: string; interrupted: boolean }
  /** Speech over the bot reached onset: it paused (or ducked) until words stop it or the window resumes it. */
  | { type: 'bot.paused'; callId: string; t: number; mode: 'pause' | 'duck'; heardMs: number }
  /** A false interruption (no words, a backchannel): the bot went on where it paused. */
  | { type: 'bot.resumed'; callId: string; t: number; pausedMs: number }
  /** The caller cut the bot off: `heard` is what they heard of it, `heardMs` its outbound position. */
  | { type: 'bot.interrupted'; callId: string; t: number; heardMs: number; heard: string }
  | { type: 'caller.said'; callId: string; t: number; text: string; final: boolean }
  | { type: 'dtmf'; callId: string; t: number; digits: string }
  /**
   * The flow runner is about to wait for the caller (listen/llm step) and the
   * bot's audio before it has played out: a scripted caller speaks now.
   */
  | { type: 'bot.listening'; callId: string; t: number; flow: string; step: string; input: ('speech' | 'dtmf')[] }
  | ({ type: 'turn.metrics'; callId: string; t: number } & TurnMetrics)
  | { type: 'tool.called'; callId: string; t: number; name: string; args: unknown; result?: unknown; error?: string }
  | { type: 'call.transferred'; callId: string; t: number; to: string }
  | { type: 'call.error'; callId: string; t: number; code: string; message: string; slot?: string }
  | { type: 'call.ended'; callId: string; t: number; reason: HangupReason; durationMs: number };

export type CallEventType = CallEvent['type'];

/** Per-turn latencies in ms; absent when the turn had no such stage. */
export interface TurnMetrics {
  turn: number;
  /** Caller stopped speaking → engine decided the turn ended (≈ endOfSpeech). */
  endOfUtteranceMs?: number;
  /** Utterance end → final transcript. */
  sttMs?: number;
  /** LLM request → first token. */
  llmTtftMs?: number;
  /** First TTS request → first audio chunk. */
  ttsTtfbMs?: number;
  /** Caller stopped speaking → first bot audio frame on the wire. */
  e2eMs?: number;
  /** Framework's own share: e2e minus endpointing, stt, ttft and ttfb. */
  overheadMs?: number;
  /** LLM first token → first TTS request (sentence cutting, our share). */
  llmToTtsMs?: number;
  /** TTS first audio chunk → first paced frame on the wire (resampling, pacing, our share). */
  ttsToWireMs?: number;
}

export type CallEventListener = (ev: CallEvent) => void;
