import type { Step, VoicebotConfig } from '../config/types.js';
import type { CallSession, ListenOptions, ListenResult } from '../engine/session-api.js';
import type { Logger } from '../logging.js';
import type { Clock } from '../time/clock.js';
import type { ChatMessage } from '../plugins/llm.js';
import type { TemplateScope, Templates } from './templates.js';
import type { ToolRunner } from './tools.js';

/** Everything one call's steps share. One per runFlow(). */
export interface RunContext {
  session: CallSession;
  config: VoicebotConfig;
  logger: Logger;
  fetch: typeof fetch;
  templates: Templates;
  scope: TemplateScope;
  tools: ToolRunner;
  /** The per-call LLM conversation, without the system message (each llm step brings its own). */
  history: ChatMessage[];
  /** listen retry counters by qualified step name; reset when entered from another step. */
  counters: Map<string, { noInput: number; noMatch: number }>;
  /** Qualified name of the step that ran before the current one. */
  previous?: string;
  /** Set once the flow itself hung up or transferred: the call's end is not the caller's. */
  endedByFlow: boolean;
  /** The call's time source (the app's clock; realClock when none is given): steps that wait use it. */
  clock?: Clock;
}

/**
 * What a step returns: a qualified target to jump to, `undefined` to follow
 * the step's `next`, or `null` to end the flow (the call was handed off).
 */
export type StepResult = string | undefined | null;

export type StepExecutor<S extends Step = Step> = (step: S, rc: RunContext, signal: AbortSignal) => Promise<StepResult>;

export function qualified(step: Step): string {
  return `${step.flow}.${step.name}`;
}

export function render(rc: RunContext, text: string): string {
  return rc.templates.render(text, rc.scope);
}

/**
 * Every wait for the caller goes through here: the `bot.listening` event is
 * the signal a scripted caller (simulate, test) speaks on. It is emitted only
 * after the bot's own audio resolved (played out), so the caller never talks
 * over a prompt by accident.
 */
export function waitForCaller(rc: RunContext, step: Step, opts: ListenOptions): Promise<ListenResult> {
  rc.session.emit({ type: 'bot.listening', flow: step.flow, step: step.name, input: [...opts.input] });
  return rc.session.listen(opts);
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError');
}

export type HandlerKind = 'error' | 'hangup' | 'noInput' | 'machine' | 'human' | 'unknown' | 'workerLost';

/** Handlers are looked up step → flow → global (`on:` at the top of the config). */
export function findHandler(config: VoicebotConfig, step: Step, kind: HandlerKind): string | undefined {
  return step.on[kind] ?? config.flows[step.flow]?.on[kind] ?? config.on[kind];
}

/** DTMF hotkeys active in `step`: a step's key overrides its flow's, which overrides a global one. */
export function hotkeysFor(config: VoicebotConfig, step: Step): Record<string, string> {
  return { ...config.on.dtmf, ...config.flows[step.flow]?.on.dtmf, ...step.on.dtmf };
}
