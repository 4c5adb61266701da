import type { SlotName } from '../plugins/slots.js';

/**
 * The validated, normalized, frozen config the engine runs on. Produced by
 * core/config/load.ts from voicebot.yaml: durations are ms numbers, every
 * slot is a fallback chain (array), every step has an explicit `kind`, and
 * every target (next/goto/else/...) is qualified as "flow.step".
 */
export interface VoicebotConfig {
  version: 1;
  plugins: PluginsConfig;
  settings: Settings;
  /** Already env-interpolated; `{{...}}` templates inside stay for run time. */
  vars: Record<string, string>;
  tools: Record<string, ToolConfig>;
  flows: Record<string, FlowConfig>;
  routes: RouteConfig[];
  /** Global handlers, looked up after the step's and the flow's. */
  on: Handlers;
  /** Where the config came from: relative paths resolve against `dir`. */
  source: { file: string; dir: string };
  /** Names of vars whose value came from the environment (redacted in logs). */
  secretVars: string[];
}

export interface ProviderConfig {
  provider: string;
  /** Plugin options (validated against the plugin's own schema), without `provider`. */
  options: Record<string, unknown>;
}

/** Each configured slot is a fallback chain, first provider first. */
export type PluginsConfig = { [S in SlotName]?: ProviderConfig[] };

/** settings.turn.interruption, normalized (see README "Turn-taking" → "Interruptions"). */
export interface InterruptionSettings {
  /** Words (backchannels not counted) the caller must say before the bot stops; 0: the VAD alone stops it. */
  minWords: number;
  /** Words that acknowledge without taking the floor ("mhm"). */
  backchannels: string[];
  /** ms after an onset with no words before the bot goes on where it paused. */
  falseInterruptionMs: number;
  /** pause: the bot falls silent at an onset; duck: it goes on quieter until confirmed or resumed. */
  mode: 'pause' | 'duck';
}

export interface Settings {
  language: string;
  bargeIn: { enabled: boolean; minSpeechMs: number };
  /** Turn-taking; absent parts take their defaults. */
  turn?: { interruption?: InterruptionSettings };
  /** shutdown: ms app.stop() waits for active calls before ending them (default 10 s). */
  timeouts: { noInput: number; endOfSpeech: number; maxCall: number; shutdown?: number };
  recording: { enabled: boolean; dir: string };
  /**
   * Rate (Hz) the engine runs VAD/recording at; legs and plugins are converted
   * to/from it. `auto`: the leg's own rate when the VAD and STT take it, so an
   * 8 kHz phone call is not resampled on every frame.
   */
  sampleRate: number | 'auto';
  /** Local softphone / HTTP server of `voicebot run` (provider: local). */
  server: { host: string; port: number };
  /**
   * Fallback chains (a list under stt/llm/tts): attemptMs the caller waits for
   * one provider's first result, budgetMs in silence across the chain before
   * on.error; onAuthError moves on after 401/403 too. See core/engine/fallback/chain.ts.
   */
  fallback?: { attemptMs: number; budgetMs: number; onAuthError: boolean };
  /** The calls HTTP API of `voicebot run`; absent unless settings.api.token is set. */
  api?: ApiSettings;
  /** Hold ("thinking") audio while an http step runs longer than `afterMs`; absent: silence. */
  hold?: { file?: string; afterMs: number };
  /** Ops HTTP server (/healthz, /readyz, /metrics); undefined = off. */
  ops?: { host: string; port: number };
  fleet: FleetSettings;
}

export interface ApiSettings {
  /** Bearer token every request must carry. */
  token: string;
  host: string;
  port: number;
  outbound: { maxConcurrent: number; perMinute: number; ringTimeoutMs: number };
}

/** Answering-machine detection of an outbound call (flow `amd:` or the call's own). */
export interface AmdConfig {
  /** ms after the answer by which AMD must decide; then `unknown`. */
  timeoutMs: number;
  /** ms to wait for the beep after a machine was detected; then the message starts anyway. */
  beepTimeoutMs: number;
}


/** Several edges and workers (README "Running a fleet"); times in ms. */
export interface FleetSettings {
  redis?: string;
  keyPrefix: string;
  /** Worker: most concurrent calls; 0 = no limit. */
  capacity: number;
  advertiseUrl?: string;
  heartbeatMs: number;
  ttlMs: number;
  drainTimeoutMs: number;
  drainMessage: string;
  dispatchBudgetMs: number;
  /** Edge: a call no worker can take is answered, hears this WAV (absolute path), and is hung up; unset = not answered. */
  noWorker?: { play: string };
}

export interface RouteConfig {
  /** Called number; exact match, or `*` for any. */
  to: string;
  flow: string;
  /** Calls of this direction only (default inbound). */
  direction?: 'inbound' | 'outbound';
}

/** Values are qualified targets "flow.step". */
export interface Handlers {
  dtmf?: Record<string, string>;
  error?: string;
  hangup?: string;
  noInput?: string;
  /** Answering-machine detection outcomes of an outbound call (flows with `amd:`). */
  machine?: string;
  human?: string;
  unknown?: string;
  /** Fleet: where a re-dispatched call goes on after its worker was lost (default: the step it was in). */
  workerLost?: string;
}

export interface ToolConfig {
  name: string;
  description: string;
  /** JSON Schema object for the arguments. */
  params: Record<string, unknown>;
  http?: HttpSpec;
  /** `./tools/file.js#export`, resolved against the config dir. */
  handler?: string;
  /** ms the whole run (handler or http) may take before the model gets VB_ERR_TOOL_TIMEOUT; default 10 s. */
  timeoutMs?: number;
}

export interface HttpSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  /** Templated; objects are sent as JSON. */
  body?: unknown;
  timeoutMs: number;
  /** Largest response body read; default 1 MiB. */
  maxBytes?: number;
}

export interface FlowConfig {
  name: string;
  /** Qualified "flow.step". */
  start: string;
  on: Handlers;
  /** In file order. */
  steps: Record<string, Step>;
  /** Answering-machine detection for outbound calls that run this flow. */
  amd?: AmdConfig;
}

export interface SourcePos {
  line: number;
  col: number;
}

interface StepBase {
  /** Step name (unqualified) and flow it lives in. */
  name: string;
  flow: string;
  /** Qualified target of the following step, or undefined when the flow ends here. */
  next?: string;
  on: Handlers;
  pos?: SourcePos;
}

/** A step's `bargeIn`: on/off, or on with its own interruption rule. */
export type StepBargeIn = boolean | { backchannels?: boolean; minWords?: number };

export interface SayStep extends StepBase {
  kind: 'say';
  text: string;
  bargeIn?: StepBargeIn;
}

export interface PlayStep extends StepBase {
  kind: 'play';
  file?: string;
  url?: string;
  /** url only: ms for the whole download (default 10 s). */
  timeoutMs?: number;
  /** url only: largest download (default 20 MiB). */
  maxBytes?: number;
  bargeIn?: boolean;
}

export type ListenInput = 'speech' | 'dtmf';

export interface ListenRoute {
  dtmf?: string;
  regex?: string;
  equals?: string;
  intent?: string;
  goto: string;
}

export interface ListenStep extends StepBase {
  kind: 'listen';
  prompt?: string;
  input: ListenInput[];
  numDigits?: number;
  finishOnKey?: string;
  /** ms of silence after the prompt before noInput; defaults to settings.timeouts.noInput. */
  timeoutMs?: number;
  retries: number;
  /** One per retry; the last repeats. Empty: re-prompt. */
  noInput: string[];
  noMatch: string[];
  save?: string;
  routes: ListenRoute[];
  else?: string;
  exhausted?: string;
  bargeIn?: StepBargeIn;
}

export interface LlmExit {
  tool?: string;
  maxTurns?: boolean;
  intent?: string;
  goto: string;
}

export interface LlmStep extends StepBase {
  kind: 'llm';
  system: string;
  tools: string[];
  context: 'append' | 'reset';
  maxTurns?: number;
  /** First line said when the step is entered. */
  say?: string;
  exits: LlmExit[];
  bargeIn?: StepBargeIn;
}

export interface BranchCase {
  var: string;
  equals?: unknown;
  in?: unknown[];
  matches?: string;
  exists?: boolean;
  goto: string;
}

export interface BranchStep extends StepBase {
  kind: 'branch';
  cases: BranchCase[];
  else: string;
}

export interface SetStep extends StepBase {
  kind: 'set';
  values: Record<string, unknown>;
}

export interface GotoStep extends StepBase {
  kind: 'goto';
  target: string;
}

export interface HttpStep extends StepBase, HttpSpec {
  kind: 'http';
  save?: string;
  onError?: string;
}

export interface TransferStep extends StepBase {
  kind: 'transfer';
  to: string;
  /** blind: hand the call over; warm: call the agent, tell them the summary, then connect (hold audio meanwhile). */
  mode: 'blind' | 'warm';
  /** Warm: what the agent hears before the caller is connected (templated). */
  summary?: string;
  /** Warm: the LLM writes the summary from the conversation; a string adds to its instruction. The template is the fallback. */
  summarize?: boolean | string;
  /** Warm: WAV the caller hears while the agent is called (default: a soft bundled chime). */
  hold?: string;
  announce?: string;
  timeoutMs?: number;
  onFail?: string;
}

/** Place an outbound call from a flow (e.g. a callback); this call's flow goes on. */
export interface DialStep extends StepBase {
  kind: 'dial';
  to: string;
  /** Flow the new call runs (default: routed by direction outbound). */
  flowName?: string;
  vars: Record<string, unknown>;
  callerId?: string;
  /** Save the new call's id under this name. */
  save?: string;
  onFail?: string;
}

/** Send DTMF to the far end (navigate another IVR); `w` waits 0.5 s. */
export interface SendDigitsStep extends StepBase {
  kind: 'sendDigits';
  digits: string;
}

export interface HangupStep extends StepBase {
  kind: 'hangup';
  text?: string;
}

export type Step =
  | SayStep
  | PlayStep
  | ListenStep
  | LlmStep
  | BranchStep
  | SetStep
  | GotoStep
  | HttpStep
  | TransferStep
  | HangupStep
  | DialStep
  | SendDigitsStep;

export type StepKind = Step['kind'];

export const STEP_KINDS: readonly StepKind[] = [
  'say',
  'play',
  'listen',
  'llm',
  'branch',
  'set',
  'goto',
  'http',
  'transfer',
  'hangup',
  'dial',
  'sendDigits',
];
