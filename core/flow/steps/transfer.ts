import { resolve } from 'node:path';
import type { TransferStep } from '../../config/types.js';
import { VoicebotError } from '../../errors/index.js';
import { render, type RunContext, type StepExecutor, type StepResult } from '../context.js';
import { outboundHooks } from '../outbound-hooks.js';
import { loadHoldAudio } from '../thinking.js';

export const runTransfer: StepExecutor<TransferStep> = async (step, rc, signal) => {
  if (step.announce) {
    const text = render(rc, step.announce);
    if (text.trim()) await rc.session.say(text, { bargeIn: false, signal });
  }
  const to = render(rc, step.to);
  if (step.mode === 'warm') return runWarm(step, rc, signal, to);
  try {
    await rc.session.transfer(to, { mode: 'blind', timeoutMs: step.timeoutMs });
  } catch (e) {
    if (signal.aborted || rc.session.ended || !step.onFail) throw e;
    rc.logger.warn({ to, err: (e as Error).message }, 'transfer failed; taking onFail');
    return step.onFail;
  }
  rc.endedByFlow = true;
  return null;
};

/** Warm: the caller hears hold audio while the agent is called and told the summary; then the two are connected. */
async function runWarm(step: TransferStep, rc: RunContext, signal: AbortSignal, to: string): Promise<StepResult> {
  const hooks = outboundHooks(rc.config);
  const hold = new AbortController();
  const stopHold = () => hold.abort();
  signal.addEventListener('abort', stopHold, { once: true });
  let holding: Promise<void> = Promise.resolve();
  try {
    if (!hooks) throw new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: rc.session.info.id, to, detail: 'warm transfer needs the outbound service (voicebot run with settings.api, or voicebot call)' });
    const audio = await loadHoldAudio(step.hold ? resolve(rc.config.source.dir, step.hold) : rc.config.settings.hold?.file);
    holding = (async () => {
      while (!hold.signal.aborted && !rc.session.ended) {
        try {
          await rc.session.play(audio, { bargeIn: false, signal: hold.signal });
        } catch {
          return;
        }
      }
    })();
    let summary = step.summary ? render(rc, step.summary) : undefined;
    if (step.summarize) {
      try {
        summary = await hooks.summarize(rc.history, typeof step.summarize === 'string' ? render(rc, step.summarize) : undefined, signal);
      } catch (e) {
        // The template (if any) still tells the agent something.
        rc.logger.warn({ err: (e as Error).message }, 'llm summary failed; using the summary template');
      }
    }
    await hooks.warmTransfer(rc.session.info, {
      to,
      summary,
      ringTimeoutMs: step.timeoutMs,
      signal,
      onBridging: () => {
        hold.abort();
        rc.session.emit({ type: 'call.transferred', to });
      },
    });
  } catch (e) {
    // The bot speaks next (onFail): the hold audio stops first.
    hold.abort();
    await holding;
    if (signal.aborted || rc.session.ended || !step.onFail) throw e;
    rc.logger.warn({ to, err: (e as Error).message }, 'warm transfer failed; taking onFail');
    return step.onFail;
  } finally {
    signal.removeEventListener('abort', stopHold);
  }
  hold.abort();
  await holding;
  rc.endedByFlow = true;
  return null;
}
