import type { AudioBuffer } from '../audio/frame.js';
import type { ChatMessage, ToolCall, ToolSpec } from '../plugins/llm.js';
import type { CallInfo, HangupReason, TransferOptions } from '../plugins/telephony.js';
import type { CallEvent, CallEventListener } from './events.js';
import type { InterruptionOverride } from './interruption.js';

/**
 * What the flow runner (core/flow) drives; implemented by the call engine
 * (core/engine). Every method that waits takes an AbortSignal so a DTMF
 * hotkey or a hangup can cut it short. After the call ended every method
 * rejects with VB_ERR_CALL_STATE (the runner checks `ended` first).
 */
export interface CallSession {
  readonly info: CallInfo;
  /** ms since answer. */
  now(): number;
  readonly ended: boolean;
  /** Aborted when the call ends (any side); use it to stop waiting work. */
  readonly endSignal: AbortSignal;

  /** Speak text (TTS → paced out). Resolves when played to the end or interrupted. */
  say(text: string, opts?: SayOptions): Promise<SayResult>;
  /** Play decoded audio (a WAV), resampled by the engine. */
  play(audio: AudioBuffer, opts?: SayOptions): Promise<SayResult>;
  /**
   * Wait for the caller: speech (VAD → endpointing → STT final) and/or DTMF.
   * An utterance the caller started while the bot was speaking (barge-in) is
   * delivered by the next listen().
   */
  listen(opts: ListenOptions): Promise<ListenResult>;
  /**
   * One bot turn with the LLM: stream tokens → sentence chunks → TTS → out,
   * run tool calls through `runTool` and feed results back, until the model
   * stops. Returns the turn's history delta, keeping only what was played.
   */
  respond(opts: RespondOptions): Promise<RespondResult>;
  /** Ask the llm slot which of `intents` (short descriptions) the text matches; null when none. */
  classifyIntent(text: string, intents: readonly string[], signal?: AbortSignal): Promise<string | null>;
  transfer(to: string, opts?: TransferOptions): Promise<void>;
  /** Speak `text` (if any), then hang up. */
  hangup(text?: string, reason?: HangupReason): Promise<void>;

  /**
   * Every caller DTMF digit goes first to this interceptor (the runner's
   * hotkeys, one handler set once per call). Returning true consumes the
   * digit: listen() does not see it.
   */
  setDtmfInterceptor(fn: ((digit: string) => boolean) | undefined): void;
  /** Emit an event on the call (flow.step, tool.called...). `callId` and `t` are filled in. */
  emit(ev: DistributiveOmit<CallEvent, 'callId' | 't'>): void;
  on(listener: CallEventListener): () => void;
}

export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface SayOptions {
  /** Overrides settings.bargeIn.enabled for this prompt; an object also enables it, with its own interruption rule. */
  bargeIn?: BargeInOption;
  signal?: AbortSignal;
}

/** A step's `bargeIn`: on/off, or on with its own rule (`{ backchannels: true }`: "okay" stops this prompt). */
export type BargeInOption = boolean | InterruptionOverride;

export interface SayResult {
  interrupted: boolean;
  /** The part the caller heard (all of it unless interrupted). */
  playedText: string;
}

export interface ListenOptions {
  input: readonly ('speech' | 'dtmf')[];
  /** ms to wait for the caller to start; then `timeout`. */
  timeoutMs: number;
  /** Finish DTMF after this many digits. */
  numDigits?: number;
  /** Finish DTMF on this key (not included in digits). */
  finishOnKey?: string;
  hints?: readonly string[];
  /**
   * The prompt just before this listen was cut off: if the utterance that
   * cut it ends without a word, resolve `{ type: 'timeout', cutOff: true }`
   * at once (the listen step goes on with the prompt) instead of waiting.
   */
  cutOff?: boolean;
  signal?: AbortSignal;
}

export type ListenResult =
  | { type: 'speech'; text: string }
  | { type: 'dtmf'; digits: string }
  /** cutOff: the caller cut the prompt off and then said nothing (only when the listen asked, ListenOptions.cutOff). */
  | { type: 'timeout'; cutOff?: true };

/** Sound while a tool runs, inside the turn's playback (a separate play() would end the turn). */
export interface ToolHold {
  /** Plays `audio` once after what the bot already queued; `signal` cuts it at once. False: not played to the end (cut, or the turn stopped). */
  play(audio: AudioBuffer, signal: AbortSignal): Promise<boolean>;
}

export interface RespondOptions {
  /** Conversation so far (system first). Not modified: the turn's additions come back as `history`. */
  messages: ChatMessage[];
  tools?: readonly ToolSpec[];
  /** Runs a tool; the returned value is JSON-serialized back to the model. Throwing reports the error to the model. */
  runTool?: (call: ToolCall, signal: AbortSignal, hold: ToolHold) => Promise<unknown>;
  /** Stop the tool loop after a tool with one of these names ran (an llm step exit). */
  stopOnTools?: readonly string[];
  bargeIn?: BargeInOption;
  signal?: AbortSignal;
  temperature?: number;
  maxTokens?: number;
}

export interface RespondResult {
  /** Text the caller heard. */
  playedText: string;
  interrupted: boolean;
  toolCalls: { call: ToolCall; result?: unknown; error?: string }[];
  /** Set when a tool listed in stopOnTools ran. */
  stoppedOnTool?: string;
  /**
   * What this turn adds to the conversation, in order: assistant messages
   * (cut to what the caller heard) and tool calls with their results.
   * respond() does not modify `messages`; append this to keep the history.
   */
  history: ChatMessage[];
}
