import type { SetStep } from '../../config/types.js';
import type { StepExecutor } from '../context.js';

export const runSet: StepExecutor<SetStep> = async (step, rc) => {
  // Rendered against the scope before any assignment, so `a: "{{b}}", b: x` sees the old b.
  const rendered = rc.templates.renderValue(step.values, rc.scope) as Record<string, unknown>;
  Object.assign(rc.scope.vars, rendered);
  return undefined;
};
