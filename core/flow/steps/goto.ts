import type { GotoStep } from '../../config/types.js';
import type { StepExecutor } from '../context.js';

export const runGoto: StepExecutor<GotoStep> = async (step) => step.target;
