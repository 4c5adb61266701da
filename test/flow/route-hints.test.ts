import { describe, expect, it } from 'vitest';
import { routeHints } from '../../core/flow/steps/listen.js';
import type { ListenStep } from '../../core/config/types.js';

const step = (routes: ListenStep['routes']): Pick<ListenStep, 'routes'> => ({ routes });

describe('listen route hints (words a recognizer may favour)', () => {
  it('takes equals routes and plain-word regex alternations', () => {
    expect(routeHints(step([{ equals: 'billing', goto: 'b' }, { regex: '(?i)support|help', goto: 's' }, { regex: '^(sales)$', goto: 'x' }] as never))).toEqual([
      'billing',
      'support',
      'help',
      'sales',
    ]);
  });

  it('leaves out anything cleverer than words, and DTMF routes', () => {
    expect(routeHints(step([{ regex: '(?i)sale[s]?', goto: 'a' }, { regex: '\\d{4}', goto: 'b' }, { dtmf: '1', goto: 'c' }] as never))).toEqual([]);
  });
});
