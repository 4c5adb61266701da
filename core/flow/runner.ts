import type { Step, VoicebotConfig } from '../config/types.js';
import type { CallSession } from '../engine/session-api.js';
import type { CallEvent } from '../engine/events.js';
import type { DistributiveOmit } from '../engine/session-api.js';
import { VoicebotError, toVoicebotError } from '../errors/index.js';
import type { Logger } from '../logging.js';
import type { ChatMessage } from '../plugins/llm.js';
import { findHandler, hotkeysFor, qualified, type RunContext, type StepResult } from './context.js';
import { AUDIO_KINDS, STEP_EXECUTORS } from './steps/index.js';
import { Templates, type TemplateScope } from './templates.js';
import { ToolRunner } from './tools.js';

export interface FlowRunContext {
  config: VoicebotConfig;
  /** Flow to start (its `start` step). */
  flow: string;
  logger: Logger;
  /** Replaces global fetch for http steps, http tools and play urls (tests). */
  fetch?: typeof fetch;
  /** Continue a call another worker was running (fleet re-dispatch): from `on.workerLost`, else from `resume.step`. */
  resume?: FlowState;
  /** Called as each step starts, with what another worker needs to continue the call from there. */
  onState?: (state: FlowState) => void;
}

/** What survives a worker loss: the running step, saved variables and the LLM conversation. */
export interface FlowState {
  /** Qualified step ("flow.step"). */
  step: string;
  vars: Record<string, unknown>;
  history: ChatMessage[];
}

/**
 * Steps a call may run before the runner calls it a runaway loop. Generous:
 * a real conversation waits for the caller between steps, so only a loop of
 * non-waiting steps (goto/branch/set/http) gets anywhere near it.
 */
export const MAX_STEPS_PER_CALL = 1000;
/** Consecutive error-handler jumps before the call is ended instead (an error handler that fails itself). */
const MAX_ERROR_JUMPS = 3;

/** Thrown into a step's signal when a hotkey fires, so waits end at once. */
class HotkeyJump extends Error {
  constructor(readonly target: string) {
    super(`hotkey → ${target}`);
    this.name = 'AbortError';
  }
}

function resolveStep(config: VoicebotConfig, target: string, from: string): Step {
  const dot = target.indexOf('.');
  const [flowName, stepName] = dot < 0 ? [from.split('.')[0], target] : [target.slice(0, dot), target.slice(dot + 1)];
  const step = config.flows[flowName]?.steps[stepName];
  if (!step) throw new VoicebotError('VB_ERR_FLOW_TARGET', { target, from });
  return step;
}

/** Where a re-dispatched call goes on: the lost step's `on.workerLost` (step → flow → global), else that step again. */
function resumeTarget(config: VoicebotConfig, lost: string, fallback: string): string {
  let step: Step;
  try {
    step = resolveStep(config, lost, fallback);
  } catch {
    return fallback; // this worker's config has no such step: start the flow over, with the saved vars
  }
  return findHandler(config, step, 'workerLost') ?? lost;
}

function safeEmit(session: CallSession, ev: DistributiveOmit<CallEvent, 'callId' | 't'>): void {
  try {
    session.emit(ev);
  } catch {
    // After the call ended the engine may refuse events; the hangup handler still runs.
  }
}

/**
 * Run one call through a flow: from the flow's `start`, each step returns
 * where to go (or its `next`). DTMF hotkeys abort the current step and jump;
 * step failures jump to the `error` handler or end the call with reason
 * `error`; a caller hangup runs the `hangup` handler without audio.
 * Resolves when the flow is done; the caller of runFlow hangs up a call the
 * flow left open.
 */
export async function runFlow(session: CallSession, ctx: FlowRunContext): Promise<void> {
  const { config, logger } = ctx;
  const flow = config.flows[ctx.flow];
  if (!flow) throw new VoicebotError('VB_ERR_FLOW_TARGET', { target: ctx.flow, from: 'route' });
  const templates = new Templates(config);
  const scope: TemplateScope = {
    call: { id: session.info.id, from: session.info.from, to: session.info.to },
    vars: ctx.resume ? { ...ctx.resume.vars } : {},
    configVars: config.vars,
    tools: {},
  };
  const fetchFn = ctx.fetch ?? globalThis.fetch;
  const rc: RunContext = {
    session,
    config,
    logger,
    fetch: fetchFn,
    templates,
    scope,
    tools: new ToolRunner(config, templates, fetchFn, session, scope),
    history: ctx.resume ? [...ctx.resume.history] : [],
    counters: new Map(),
    endedByFlow: false,
  };

  let current: string | undefined = ctx.resume ? resumeTarget(config, ctx.resume.step, flow.start) : flow.start;
  let last: Step | undefined;
  let steps = 0;
  let errorJumps = 0;

  const endWithError = async (err: VoicebotError, step: Step | undefined): Promise<void> => {
    const where = step ? qualified(step) : ctx.flow;
    logger.error({ code: err.code, step: where }, `flow ${ctx.flow} ended the call at ${where}: ${err.code} ${err.message}`);
    safeEmit(session, { type: 'call.error', code: err.code, message: err.message });
    rc.endedByFlow = true;
    if (!session.ended) await session.hangup(undefined, 'error').catch(() => {});
  };

  try {
    while (current !== undefined && !session.ended) {
      let step: Step;
      try {
        step = resolveStep(config, current, last ? qualified(last) : flow.start);
      } catch (e) {
        await endWithError(e as VoicebotError, last);
        return;
      }
      if (++steps > MAX_STEPS_PER_CALL) {
        await endWithError(new VoicebotError('VB_ERR_FLOW_LOOP', { callId: session.info.id, steps: MAX_STEPS_PER_CALL, step: current }), step);
        return;
      }
      last = step;
      // State first: whoever sees this step's event already has the state to continue from it.
      ctx.onState?.({ step: qualified(step), vars: scope.vars, history: rc.history });
      safeEmit(session, { type: 'flow.step', flow: step.flow, step: step.name, kind: step.kind });

      const ac = new AbortController();
      const onEnd = (): void => ac.abort(session.endSignal.reason);
      session.endSignal.addEventListener('abort', onEnd, { once: true });
      let jump: string | undefined;
      const keys = hotkeysFor(config, step);
      session.setDtmfInterceptor(
        Object.keys(keys).length
          ? (digit) => {
              const target = keys[digit];
              if (!target) return false;
              if (!jump) {
                jump = target;
                ac.abort(new HotkeyJump(target));
              }
              return true;
            }
          : undefined,
      );

      let result: StepResult;
      try {
        result = await STEP_EXECUTORS[step.kind](step as never, rc, ac.signal);
        errorJumps = 0;
      } catch (e) {
        if (jump !== undefined) result = jump;
        else if (session.ended) break;
        else {
          const err = toVoicebotError(e, 'VB_ERR_FLOW_STEP', { step: qualified(step), kind: step.kind });
          const handler = findHandler(config, step, 'error');
          if (!handler || errorJumps >= MAX_ERROR_JUMPS) {
            await endWithError(err, step);
            return;
          }
          errorJumps++;
          logger.warn({ code: err.code, step: qualified(step), handler }, `step failed, going to error handler: ${err.message}`);
          safeEmit(session, { type: 'call.error', code: err.code, message: err.message });
          result = handler;
        }
      } finally {
        session.endSignal.removeEventListener('abort', onEnd);
        session.setDtmfInterceptor(undefined);
      }
      if (jump !== undefined) {
        logger.debug({ step: qualified(step), to: jump }, 'dtmf hotkey');
        result = jump;
      }
      rc.previous = qualified(step);
      current = result === null ? undefined : result === undefined ? step.next : result;
    }
  } finally {
    session.setDtmfInterceptor(undefined);
  }

  if (session.ended && !rc.endedByFlow && last) await runHangupHandler(rc, last);
}

/**
 * The caller hung up: run the `hangup` handler's steps (log the call over
 * http, set values) with no audio. Steps that need the call are skipped, and
 * nothing here can end a call twice or loop forever.
 */
async function runHangupHandler(rc: RunContext, at: Step): Promise<void> {
  const { config, logger, session } = rc;
  let current = findHandler(config, at, 'hangup');
  if (!current) return;
  logger.info({ step: qualified(at), handler: current }, 'caller hung up; running hangup handler');
  const ac = new AbortController();
  let steps = 0;
  let prev = at;
  while (current !== undefined) {
    if (++steps > MAX_STEPS_PER_CALL) {
      logger.error({ code: 'VB_ERR_FLOW_LOOP' }, `hangup handler loops at ${current}; stopped`);
      return;
    }
    let step: Step;
    try {
      step = resolveStep(config, current, qualified(prev));
    } catch (e) {
      logger.error({ code: (e as VoicebotError).code }, (e as Error).message);
      return;
    }
    safeEmit(session, { type: 'flow.step', flow: step.flow, step: step.name, kind: step.kind });
    let result: StepResult;
    if (AUDIO_KINDS.has(step.kind)) result = undefined;
    else {
      try {
        result = await STEP_EXECUTORS[step.kind](step as never, rc, ac.signal);
      } catch (e) {
        const err = toVoicebotError(e, 'VB_ERR_FLOW_STEP', { step: qualified(step), kind: step.kind });
        logger.error({ code: err.code, step: qualified(step) }, `hangup handler failed: ${err.message}`);
        return;
      }
    }
    prev = step;
    rc.previous = qualified(step);
    current = result === null ? undefined : result === undefined ? step.next : result;
  }
}
