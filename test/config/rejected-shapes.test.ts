import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli/helpers.js';
import { HEADER, lines } from './helpers.js';

const CODED = /^voicebot\.yaml:\d+:\d+ (error|warning) VB_(ERR|WARN)_[A-Z_]+ /;

describe('config: nodes the schema rejected never reach the semantic checks', () => {
  it('voicebot validate: a scalar flow and a null step give coded file:line:col lines and exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vb-rejected-'));
    writeFileSync(join(dir, 'voicebot.yaml'), `${HEADER}flows:\n  foo: bar\n  main:\n    steps:\n      a: { say: hi }\n      b:\n      c: { goto: a }\n`);
    const r = cli(['validate', '-c', 'voicebot.yaml'], { cwd: dir });
    expect(r.status).toBe(1);
    const out = `${r.stdout}${r.stderr}`;
    expect(out).not.toMatch(/VB_ERR_PROVIDER|Cannot read properties/);
    expect(out).toContain('voicebot.yaml:8:8 error VB_ERR_CONFIG_SCHEMA "flows.foo" must be object');
    expect(out).toContain('voicebot.yaml:12:9 error VB_ERR_CONFIG_SCHEMA "flows.main.steps.b" must be object');
  });

  const cases: [string, string][] = [
    ['flow without steps', `flows:\n  main:\n    steps: { a: { say: x } }\n  other: { start: a }\n`],
    ['steps as a list', `flows:\n  main:\n    steps: [ { say: x } ]\n`],
    ['steps as null', `flows:\n  main:\n    steps:\n`],
    ['flows as a string', `flows: main\n`],
    ['null llm body', `flows:\n  main:\n    steps:\n      a: { llm: null }\n`],
    ['routes item null', `flows:\n  main:\n    steps:\n      a:\n        listen: { input: [dtmf] }\n        routes: [ null, { dtmf: "1", goto: a } ]\n`],
    ['branch body a scalar', `flows:\n  main:\n    steps:\n      a: { branch: yes, else: a }\n`],
    ['top-level routes with a null item', `flows:\n  main:\n    steps: { a: { say: x } }\nroutes: [ null, { to: "*", flow: nope } ]\n`],
    ['tools with null http', `tools:\n  t: { description: d, http: null }\nflows:\n  main:\n    steps: { a: { llm: { system: s, tools: [t] } } }\n`],
    ['handlers as a list', `on: [ a ]\nflows:\n  main:\n    on: 3\n    steps: { a: { say: x, on: { dtmf: null } } }\n`],
    ['settings scalars', `settings: 5\nflows:\n  main:\n    steps: { a: { say: x } }\n`],
    ['timeouts null', `settings: { timeouts: null, server: [] }\nflows:\n  main:\n    steps: { a: { say: x } }\n`],
    ['start a number, next a map', `flows:\n  main:\n    start: 3\n    steps: { a: { say: x, next: { b: 1 } } }\n`],
    ['vars a list', `vars: [1, 2]\nflows:\n  main:\n    steps: { a: { say: "{{x}}" } }\n`],
  ];
  for (const [name, body] of cases) {
    it(`${name}: coded lines with positions, no throw`, async () => {
      const { lines: l, result } = await lines(`${HEADER}${body}`);
      expect(result.config).toBeUndefined();
      expect(l.length).toBeGreaterThan(0);
      for (const line of l) expect(line).toMatch(CODED);
      expect(l.join('\n')).not.toMatch(/VB_ERR_CONFIG_CHECK_FAILED|Cannot read/);
    });
  }

  it('an alias bomb is a coded YAML error at the first alias, not a throw', async () => {
    const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]`)].join('\n');
    const { lines: l } = await lines(`${HEADER}vars:\n  x: 1\nbomb:\n  ${bomb.split('\n').join('\n  ')}\nflows:\n  main:\n    steps: { a: { say: x } }\n`);
    expect(l).toHaveLength(1);
    expect(l[0]).toMatch(/^voicebot\.yaml:11:12 error VB_ERR_CONFIG_YAML YAML syntax error: Excessive alias count/);
  });

  it('a 100 kB value is quoted clipped in the message', async () => {
    const { lines: l } = await lines(`${HEADER}flows:\n  main:\n    steps: { a: { goto: ${'x'.repeat(100_000)} } }\n`);
    expect(l).toHaveLength(1);
    expect(l[0].length).toBeLessThan(500);
    expect(l[0]).toContain('…(100000 chars)');
  });

  it('a reference into a rejected flow is not reported twice', async () => {
    const { lines: l } = await lines(`${HEADER}flows:\n  main:\n    steps:\n      a: { goto: other.x }\n  other: { steps: 3 }\n`);
    expect(l).toEqual(['voicebot.yaml:11:19 error VB_ERR_CONFIG_SCHEMA "flows.other.steps" must be object']);
  });
});
