import type { HangupStep } from '../../config/types.js';
import { render, type StepExecutor } from '../context.js';

export const runHangup: StepExecutor<HangupStep> = async (step, rc) => {
  rc.endedByFlow = true;
  const text = step.text ? render(rc, step.text) : undefined;
  await rc.session.hangup(text?.trim() ? text : undefined, 'bot-hangup');
  return null;
};
