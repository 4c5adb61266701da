import { describe, expect, it } from 'vitest';
import { checkScenario, formatFailures, parseScenarios } from '../../core/flow/scenario.js';
import type { ObservedEvent } from '../../core/flow/scripted-caller.js';
import type { VoicebotError } from '../../core/errors/index.js';

const YAML = `
scenarios:
  - name: sales
    latencyBudgetMs: 900
    turns:
      - expect: { said: Welcome }
      - dtmf: "1"
        expect:
          step: ivr.sales
          said: /sales/i
      - say: book monday
        expect:
          tool: { name: book, args: { day: monday } }
    expect:
      ended: caller-hangup
      transferredTo: "+1555"
      http: [{ method: POST, path: /log, body: { from: "+1" } }]
`;

function ev(turn: number, e: Record<string, unknown>): ObservedEvent {
  return { callId: 'c', t: 0, callerTurn: turn, ...e } as ObservedEvent;
}

const GOOD: ObservedEvent[] = [
  ev(-1, { type: 'flow.step', flow: 'ivr', step: 'menu', kind: 'listen' }),
  ev(-1, { type: 'bot.said', text: 'Welcome to Acme', interrupted: false }),
  ev(0, { type: 'dtmf', digits: '1' }),
  ev(0, { type: 'flow.step', flow: 'ivr', step: 'sales', kind: 'say' }),
  ev(0, { type: 'bot.said', text: 'Sales here', interrupted: false }),
  ev(0, { type: 'turn.metrics', turn: 1, e2eMs: 400 }),
  ev(1, { type: 'tool.called', name: 'book', args: { day: 'Monday', time: '10' }, result: {} }),
  ev(1, { type: 'call.transferred', to: '+1555' }),
  ev(1, { type: 'call.ended', reason: 'caller-hangup', durationMs: 1 }),
];
const HTTP = [{ method: 'POST', path: '/log', query: {}, headers: {}, body: { from: '+1', extra: 1 } }];

describe('scenarios', () => {
  it('passes when everything happened', () => {
    const [sc] = parseScenarios(YAML, 'x.test.yaml').scenarios;
    expect(checkScenario(sc, { events: GOOD, reason: 'caller-hangup', http: HTTP })).toEqual([]);
  });

  it('a wrong expected step fails with a readable expected/actual diff', () => {
    const [sc] = parseScenarios(YAML.replace('step: ivr.sales', 'step: ivr.support'), 'x.test.yaml').scenarios;
    const failures = checkScenario(sc, { events: GOOD, reason: 'caller-hangup', http: HTTP });
    expect(failures).toHaveLength(1);
    expect(formatFailures(failures, '')).toBe(
      ['turn 2 (dtmf "1"): reached step', '  - expected: ivr.support', '  + actual:   ivr.sales'].join('\n'),
    );
  });

  it('reports said, tool args, latency budget, http and ended mismatches', () => {
    const [sc] = parseScenarios(YAML, 'x.test.yaml').scenarios;
    const events = GOOD.map((e) =>
      e.type === 'bot.said' && e.callerTurn === 0
        ? { ...e, text: 'Support here' }
        : e.type === 'tool.called'
          ? { ...e, args: { day: 'tuesday' } }
          : e.type === 'turn.metrics'
            ? { ...e, e2eMs: 1500 }
            : e.type === 'call.ended'
              ? { ...e, reason: 'error' as const }
              : e,
    ) as ObservedEvent[];
    const f = checkScenario(sc, { events, reason: 'error', http: [] });
    expect(f.map((x) => `${x.where}: ${x.what}`)).toEqual([
      'turn 2 (dtmf "1"): bot said',
      'turn 2 (dtmf "1"): e2e latency',
      'turn 3 (say "book monday"): tool called',
      'call: call ended',
      'call: http request',
    ]);
    expect(formatFailures(f)).toContain('+ actual:   book({"day":"tuesday"})');
    expect(formatFailures(f)).toContain('- expected: ≤ 900 ms');
  });

  it('a turn that never happened is reported', () => {
    const [sc] = parseScenarios(YAML, 'x.test.yaml').scenarios;
    const f = checkScenario(sc, { events: GOOD.filter((e) => e.callerTurn < 1), reason: 'bot-hangup', http: HTTP });
    expect(f[0]).toMatchObject({ where: 'turn 3 (say "book monday")', what: 'turn happened' });
  });

  it('rejects malformed scenario files with a coded error', () => {
    expect(() => parseScenarios('scenarios: []', 'a.test.yaml')).toThrow(/VB_ERR_SCENARIO|non-empty/);
    const top = ((): string => {
      try {
        parseScenarios('scenarioz: []', 'a.test.yaml');
        return 'no error';
      } catch (e) {
        return (e as VoicebotError).toLine();
      }
    })();
    expect(top).toMatch(/^a\.test\.yaml:1:1 error VB_ERR_SCENARIO .*unknown key "scenarioz". Did you mean "scenarios"\?/);
  });

  it('a broken scenario fails on its own, at line:col with a did-you-mean; the others are kept', () => {
    const brokenOnly = (yaml: string): string[] => {
      const f = parseScenarios(yaml, 'a.test.yaml');
      return f.broken.map((b) => `${b.name}: ${b.error.toLine()}`);
    };
    expect(brokenOnly('scenarios:\n  - name: a\n    turns:\n      - say: hi\n        dtmf: "1"\n')).toEqual([
      expect.stringMatching(/^a: a\.test\.yaml:5:9 error VB_ERR_SCENARIO .*one action per turn/),
    ]);
    expect(brokenOnly('scenarios:\n  - name: a\n    turns:\n      - say: hi\n        expect: { sed: x }\n')).toEqual([
      expect.stringMatching(/^a: a\.test\.yaml:5:19 error VB_ERR_SCENARIO .*unknown key "sed". Did you mean "said"\?/),
    ]);
    const f = parseScenarios('scenarios:\n  - name: a\n    turns: [ { say: hi } ]\n  - name: b\n    expcet: { ended: true }\n    turns: [ { say: hi } ]\n', 'a.test.yaml');
    expect(f.scenarios.map((s) => s.name)).toEqual(['a']);
    expect(f.broken.map((b) => [b.name, b.error.toLine()])).toEqual([
      ['b', expect.stringMatching(/^a\.test\.yaml:5:5 error VB_ERR_SCENARIO .*scenarios\[1\]: unknown key "expcet". Did you mean "expect"\?/)],
    ]);
  });
});

describe('scenario http mocks', () => {
  it('accepts delayMs and rejects unknown keys', () => {
    const ok = parseScenarios('scenarios:\n  - name: a\n    httpMocks: [ { path: /slow, delayMs: 50, json: {} } ]\n    turns: [ { say: hi } ]\n', 'a.test.yaml');
    expect(ok.scenarios[0].httpMocks).toEqual([{ path: '/slow', delayMs: 50, json: {} }]);
    expect(parseScenarios('scenarios:\n  - name: a\n    httpMocks: [ { path: /x, jsn: {} } ]\n    turns: [ { say: hi } ]\n', 'a.test.yaml').broken[0].error.toLine()).toMatch(
      /a\.test\.yaml:3:30 error VB_ERR_SCENARIO .*httpMocks\[0\]: unknown key "jsn". Did you mean "json"\?/,
    );
  });
});
