import { describe, expect, it } from 'vitest';
import { Endpointer, PREEMPT_AFTER_MS, STABLE_MS, endpointLimits, endpointWaitMs, judgeTranscript } from '../../core/engine/endpointing.js';
import { HEADER, lines } from '../config/helpers.js';

async function loadConfigText(yaml: string) {
  const { lines: l, result } = await lines(yaml);
  expect(l).toEqual([]);
  return result.config!;
}

describe('judgeTranscript', () => {
  it.each([
    ['', false, {}, 'none'],
    ['Yes please.', true, {}, 'complete'],
    ['Is it open on Sunday?', true, {}, 'complete'],
    // Punctuation counts only in a final: an interim's full stop may be followed by more words.
    ['Yes please.', false, {}, 'likely'],
    ['yes please', true, {}, 'likely'],
    ['I would like to', true, {}, 'incomplete'],
    ['coffee and', false, {}, 'incomplete'],
    ['tea or', true, {}, 'incomplete'],
    ['my number is', true, {}, 'incomplete'],
    ['well, um', false, {}, 'incomplete'],
    ['so first,', true, {}, 'incomplete'],
    // A number announced and still short of a full one: more digits are coming.
    ['my number is 555', true, {}, 'incomplete'],
    ['my number is five five five', false, {}, 'incomplete'],
    ['my number is 555 867 5309', true, {}, 'likely'],
    ['I am 42', true, {}, 'likely'],
    // The listen's numDigits decides for spoken digits.
    ['1 2 3', true, { numDigits: 4 }, 'incomplete'],
    ['1 2 3 4', true, { numDigits: 4 }, 'complete'],
    ['one two three four', false, { numDigits: 4 }, 'complete'],
    // A route already matched by the words so far.
    ['sales', false, { matches: (t: string) => /sales/i.test(t) }, 'complete'],
    ['sales and', false, { matches: (t: string) => /sales/i.test(t) }, 'incomplete'],
  ] as const)('%j (final %s) → %s', (text, final, cues, verdict) => {
    expect(judgeTranscript(text, final, cues)).toBe(verdict);
  });
});

describe('endpointWaitMs', () => {
  const l = endpointLimits(200, 1500, 600);
  it('maps verdicts to silences; still-changing words wait the longest', () => {
    expect(endpointWaitMs(l, 'complete', false)).toBe(200);
    expect(endpointWaitMs(l, 'likely', false)).toBe(400);
    expect(endpointWaitMs(l, 'none', false)).toBe(600);
    expect(endpointWaitMs(l, 'incomplete', false)).toBe(1500);
    expect(endpointWaitMs(l, 'complete', true)).toBe(1500);
  });
  it('a fixed timer is every tier the same', () => {
    const f = endpointLimits(600, 600, 600);
    for (const v of ['complete', 'likely', 'none', 'incomplete'] as const) expect(endpointWaitMs(f, v, false)).toBe(600);
  });
  it('the no-words wait is clamped into [min, max]', () => {
    expect(endpointLimits(200, 400, 600).noWordsMs).toBe(400);
    expect(endpointLimits(800, 1500, 600).noWordsMs).toBe(800);
  });
});

describe('Endpointer', () => {
  it('waits the longest while an interim changes, then by the verdict; reports the words once per change after PREEMPT_AFTER_MS of silence', () => {
    let now = 0;
    const stable: string[] = [];
    const e = new Endpointer(endpointLimits(200, 1500, 600), () => now);
    e.onStable = (t) => stable.push(t);
    expect(e.waitMs(20)).toBe(600);
    e.hypothesis('what time', false);
    expect(e.waitMs(40)).toBe(1500);
    expect(e.waitMs(PREEMPT_AFTER_MS - 1)).toBe(1500);
    expect(stable).toEqual([]);
    expect(e.waitMs(PREEMPT_AFTER_MS)).toBe(1500);
    expect(stable).toEqual(['what time']);
    now = STABLE_MS - 1;
    expect(e.waitMs(STABLE_MS)).toBe(1500);
    now = STABLE_MS;
    expect(e.waitMs(STABLE_MS)).toBe(400);
    expect(e.waitMs(STABLE_MS + 20)).toBe(400);
    expect(stable).toEqual(['what time']);
    // A final is stable at once.
    e.hypothesis('what time is it?', true);
    expect(e.waitMs(20)).toBe(200);
    expect(stable).toEqual(['what time', 'what time is it?']);
  });

  it('a listen override and its cues apply until the listen ends', () => {
    const e = new Endpointer(endpointLimits(200, 1500, 600), () => 0);
    e.hypothesis('sales', true);
    e.setListen({ matches: (t) => t === 'sales' }, { minMs: 100, maxMs: 3000 });
    expect(e.waitMs(20)).toBe(100);
    e.hypothesis('sales and', true);
    expect(e.waitMs(20)).toBe(3000);
    e.setListen(undefined);
    expect(e.waitMs(20)).toBe(1500);
    e.reset();
    expect(e.waitMs(20)).toBe(600);
  });
});

describe('settings.turn', () => {
  it('defaults to word-aware endpointing with the preemptive reply', async () => {
    const c = await loadConfigText(`${HEADER}flows:\n  main:\n    steps:\n      hi: { say: Hello }\n`);
    expect(c.settings.turn).toEqual({ minEndpointMs: 200, maxEndpointMs: 1500, preemptive: true });
  });
  it('a config that sets endOfSpeech and no turn keeps the fixed timer', async () => {
    const c = await loadConfigText(`${HEADER}settings:\n  timeouts: { endOfSpeech: 450ms }\nflows:\n  main:\n    steps:\n      hi: { say: Hello }\n`);
    expect(c.settings.turn).toBeUndefined();
    expect(c.settings.timeouts.endOfSpeech).toBe(450);
  });
  it('reads turn keys and a listen step override', async () => {
    const c = await loadConfigText(
      [
        HEADER.trimEnd(),
        'settings:',
        '  timeouts: { endOfSpeech: 450ms }',
        '  turn: { minEndpoint: 150ms, maxEndpoint: 2s, preemptive: false }',
        'flows:',
        '  main:',
        '    steps:',
        '      ask:',
        '        listen: { prompt: Your number?, endpoint: { min: 300ms, max: 3s } }',
        '      bye: { hangup: Bye }',
        '',
      ].join('\n'),
    );
    expect(c.settings.turn).toEqual({ minEndpointMs: 150, maxEndpointMs: 2000, preemptive: false });
    expect(c.flows.main.steps.ask).toMatchObject({ kind: 'listen', endpoint: { minMs: 300, maxMs: 3000 } });
  });
});
