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
import { ToolRunner, standaloneCallContainer } from './tools.js';
import { outboundHooks, type AmdOutcome } from './outbound-hooks.js';
import { holdWhile } from './thinking.js';
import { realClock, type Clock } from '../time/clock.js';
import { holdingFetch } from '../time/hold-fetch.js';
import type { DependencyContainer } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';

export interface FlowRunContext {
  config: VoicebotConfig;
  /** Flow to start (its `start` step). */
  flow: string;
  logger: Logger;
  /**
   * The call's child DI container (the app passes its per-call scope). Tool
   * handlers get it; its TOKENS.HttpClient serves http steps, http tools and
   * play urls. Without one, a container with this context's config, logger,
   * clock and fetch is made for the call.
   */
  container?: DependencyContainer;
  /** Replaces the container's HTTP client (tests). */
  fetch?: typeof fetch;
  /** The call's time source: on a virtual clock, fetches hold it until their response arrived. */
  clock?: Clock;
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
  const setup = outboundHooks(config)?.setupFor(session.info.id);
  const scope: TemplateScope = {
    call: { id: session.info.id, from: session.info.from, to: session.info.to, direction: session.info.direction ?? 'inbound' },
    vars: ctx.resume ? { ...ctx.resume.vars } : { ...setup?.vars },
    configVars: config.vars,
    tools: {},
  };
  const container = ctx.container ?? standaloneCallContainer(ctx);
  const http = ctx.fetch ?? (container.resolve(TOKENS.HttpClient) as typeof fetch);
  const fetchFn = ctx.clock ? holdingFetch(ctx.clock, http) : http;
  const rc: RunContext = {
    session,
    config,
    logger,
    fetch: fetchFn,
    templates,
    scope,
    tools: new ToolRunner(config, templates, fetchFn, session, scope, ctx.clock ?? realClock, container),
    history: ctx.resume ? [...ctx.resume.history] : [],
    counters: new Map(),
    endedByFlow: false,
    clock: ctx.clock ?? realClock,
  };

  let current: string | undefined = ctx.resume
    ? resumeTarget(config, ctx.resume.step, flow.start)
    : setup?.amd
      ? await amdStart(session, config, ctx.flow, setup.amd, logger)
      : flow.start;
  let last: Step | undefined;
  // One hotkey handler for the whole call, reading the running step's keys (not one pushed per step).
  let running: { keys: Record<string, string>; ac: AbortController; jump: string | undefined } | undefined;
  session.setDtmfInterceptor((digit) => {
    const r = running;
    const target = r?.keys[digit];
    if (!r || !target) return false;
    if (!r.jump) {
      r.jump = target;
      r.ac.abort(new HotkeyJump(target));
    }
    return true;
  });
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
      const turn = { keys: hotkeysFor(config, step), ac, jump: undefined as string | undefined };
      running = turn;

      let result: StepResult;
      // A slow http step: the caller hears hold audio instead of dead air (settings.hold).
      const hold = step.kind === 'http' && config.settings.hold ? holdWhile(session, config.settings.hold) : undefined;
      try {
        result = await STEP_EXECUTORS[step.kind](step as never, rc, ac.signal).finally(() => hold?.stop());
        errorJumps = 0;
      } catch (e) {
        if (turn.jump !== undefined) result = turn.jump;
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
        running = undefined;
      }
      if (turn.jump !== undefined) {
        logger.debug({ step: qualified(step), to: turn.jump }, 'dtmf hotkey');
        result = turn.jump;
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
 * An outbound call with answering-machine detection starts where the outcome
 * says: on.human / on.machine / on.unknown of the flow (then global), else at
 * `start`. The machine outcome arrives after the beep, so a message left from
 * the machine handler is recorded whole.
 */
async function amdStart(session: CallSession, config: VoicebotConfig, flowName: string, amd: Promise<AmdOutcome>, logger: Logger): Promise<string | undefined> {
  const flow = config.flows[flowName]!;
  const outcome = await Promise.race([amd, new Promise<undefined>((r) => session.endSignal.addEventListener('abort', () => r(undefined), { once: true }))]);
  if (outcome === undefined || session.ended) return undefined;
  // A machine's message must start right after the beep; nobody listens to it afterwards.
  if (outcome !== 'machine') await dropGreeting(session);
  const target = flow.on[outcome] ?? config.on[outcome];
  logger.info({ amd: outcome, target: target ?? flow.start }, `answering-machine detection: ${outcome}`);
  return target ?? flow.start;
}

/**
 * What the callee said while AMD listened (their "Hello?", a machine's
 * greeting) is queued in the session as type-ahead; it is not an answer to
 * the flow's first question. Take it out with zero-timeout listens (bounded).
 */
async function dropGreeting(session: CallSession): Promise<void> {
  const ac = new AbortController();
  const cap = realClock.setTimeout(() => ac.abort(), 2000);
  try {
    for (let i = 0; i < 5 && !session.ended && !ac.signal.aborted; i++) {
      const r = await session.listen({ input: ['speech', 'dtmf'], timeoutMs: 0, signal: ac.signal });
      if (r.type === 'timeout') return;
    }
  } catch {
    // Nothing to drop (no STT), or the call ended: the flow starts as it is.
  } finally {
    realClock.clearTimeout(cap);
  }
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
