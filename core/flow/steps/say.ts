import type { SayStep } from '../../config/types.js';
import { render, type StepExecutor } from '../context.js';

export const runSay: StepExecutor<SayStep> = async (step, rc, signal) => {
  const text = render(rc, step.text);
  if (text.trim()) await rc.session.say(text, { bargeIn: step.bargeIn, signal });
  return undefined;
};
