import type { TransferStep } from '../../config/types.js';
import { render, type StepExecutor } from '../context.js';

export const runTransfer: StepExecutor<TransferStep> = async (step, rc, signal) => {
  if (step.announce) {
    const text = render(rc, step.announce);
    if (text.trim()) await rc.session.say(text, { bargeIn: false, signal });
  }
  const to = render(rc, step.to);
  try {
    await rc.session.transfer(to, { mode: step.mode, timeoutMs: step.timeoutMs });
  } catch (e) {
    if (signal.aborted || rc.session.ended || !step.onFail) throw e;
    rc.logger.warn({ to, err: (e as Error).message }, 'transfer failed; taking onFail');
    return step.onFail;
  }
  rc.endedByFlow = true;
  return null;
};
