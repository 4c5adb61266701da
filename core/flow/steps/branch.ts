import type { BranchCase, BranchStep } from '../../config/types.js';
import type { StepExecutor } from '../context.js';
import { configRegex } from '../regex.js';
import { stringify } from '../templates.js';

function same(a: unknown, b: unknown): boolean {
  // Saved speech/digits are strings while YAML gives numbers/booleans: compare as text.
  if (a === b) return true;
  if (a === undefined || a === null) return b === undefined || b === null;
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return stringify(a).trim().toLowerCase() === stringify(b).trim().toLowerCase();
}

export function caseMatches(c: BranchCase, value: unknown): boolean {
  if (c.exists !== undefined) {
    const present = value !== undefined && value !== null && value !== '';
    if (present !== c.exists) return false;
  }
  if (c.equals !== undefined && !same(value, c.equals)) return false;
  if (c.in !== undefined && !c.in.some((x) => same(value, x))) return false;
  if (c.matches !== undefined && !configRegex(c.matches).test(stringify(value))) return false;
  return true;
}

export const runBranch: StepExecutor<BranchStep> = async (step, rc) => {
  for (const c of step.cases) {
    if (caseMatches(c, rc.templates.resolve(c.var, rc.scope))) return c.goto;
  }
  return step.else;
};
