import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, loadConfig } from '../../core/config/load.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { HEADER, lines } from './helpers.js';

const flow = (steps: string, extra = ''): string => `${HEADER}${extra}flows:\n  main:\n    steps:\n${steps}`;
/** Only the code and message of each line: positions are pinned by validation.test.ts. */
const msgs = (l: string[]): string[] => l.map((x) => x.replace(/^\S+ /, ''));

describe('flow semantics at load time', () => {
  it('every tool an llm step names must exist, with a did-you-mean', async () => {
    const { lines: l } = await lines(
      flow('      a:\n        llm: { system: S, tools: [book, lookp] }\n', 'tools:\n  book: { description: B, http: { url: "http://x" } }\n  lookup: { description: L, http: { url: "http://x" } }\n'),
    );
    expect(msgs(l)).toEqual(['error VB_ERR_CONFIG_TOOL Unknown tool "lookp". Did you mean "lookup"? Define it under tools:.']);
  });

  it("exits.tool must be one of the step's tools", async () => {
    const { lines: l } = await lines(
      flow(
        '      a:\n        llm: { system: S, tools: [book], exits: [ { tool: book, goto: b }, { tool: cancel, goto: b } ] }\n      b: { hangup: bye }\n',
        'tools:\n  book: { description: B, http: { url: "http://x" } }\n  cancel: { description: C, http: { url: "http://x" } }\n',
      ),
    );
    expect(msgs(l)).toEqual(['error VB_ERR_CONFIG_TOOL Exit on tool "cancel", which is not in this step\'s tools (book). Add it to llm.tools.']);
  });

  it('a tool needs exactly one of http and handler; a handler file must exist', async () => {
    const { lines: l } = await lines(
      flow(
        '      a:\n        llm: { system: S, tools: [both, neither, gone] }\n',
        'tools:\n  both: { description: B, http: { url: "http://x" }, handler: ./t.js#f }\n  neither: { description: N }\n  gone: { description: G, handler: ./nope.js#f }\n',
      ),
    );
    expect(msgs(l)).toEqual([
      'error VB_ERR_CONFIG_TOOL Tool "both" needs exactly one of http or handler.',
      'error VB_ERR_CONFIG_TOOL Tool "neither" needs exactly one of http or handler.',
      'error VB_ERR_CONFIG_TOOL Handler file /cfg/nope.js does not exist.',
    ]);
  });

  it('branch requires else', async () => {
    const { lines: l } = await lines(flow('      a:\n        branch: [ { var: x, equals: 1, goto: b } ]\n      b: { hangup: bye }\n'));
    expect(msgs(l)).toEqual(['error VB_ERR_CONFIG_SCHEMA "flows.main.steps.a" is missing the required key "else"']);
  });

  it('a cycle of steps that never waits for the caller is an error; one with a listen or llm step is fine', async () => {
    const bad = await lines(flow('      a: { say: hi }\n      b: { set: { n: 1 } }\n      c: { goto: a }\n'));
    expect(msgs(bad.lines)).toEqual([
      'error VB_ERR_CONFIG_FLOW Steps main.a → main.b → main.c → main.a loop forever without waiting for the caller. Put a listen or llm step in the loop, or end it.',
    ]);
    expect(bad.result.config).toBeUndefined();
    const self = await lines(flow('      a: { goto: a }\n'));
    expect(msgs(self.lines)).toEqual(['error VB_ERR_CONFIG_FLOW Steps main.a → main.a loop forever without waiting for the caller. Put a listen or llm step in the loop, or end it.']);
    const ok = await lines(flow('      a: { say: hi }\n      b:\n        listen: { input: [dtmf] }\n      c: { goto: a }\n'));
    expect(ok.lines).toEqual([]);
    const llm = await lines(flow('      a: { say: hi }\n      b: { llm: { system: S, maxTurns: 1, exits: [ { maxTurns: true, goto: a } ] } }\n'));
    expect(llm.lines).toEqual([]);
  });

  it('templates naming unknown things are warnings, not errors', async () => {
    const { lines: l, result } = await lines(
      flow(
        '      a:\n        listen: { prompt: "Name?" }\n        save: name\n' +
          '      b: { set: { greeting: "Hi {{name}}" } }\n' +
          '      c: { say: "{{greeting}} {{company}} {{call.from}} {{vars.name}} {{tools.book.id}}" }\n' +
          '      d: { say: "{{nmae}} {{call.number}} {{tools.nope.id}} {{args.day}} {{vars.zzz}}" }\n',
        'vars: { company: Acme }\ntools:\n  book: { description: B, params: { day: string }, http: { url: "http://x/{{args.day}}" } }\n',
      ),
    );
    expect(result.config).toBeDefined();
    expect(msgs(l)).toEqual(
      ['nmae', 'call.number', 'tools.nope.id', 'args.day', 'vars.zzz'].map(
        (n) => `warning VB_WARN_TEMPLATE_UNKNOWN Template {{${n}}} refers to a name that is not defined in vars, a save, a set or call.*; it will render empty.`,
      ),
    );
  });

  it('regexes must compile; (?i) is accepted', async () => {
    const { lines: l } = await lines(
      flow(
        '      a:\n        listen: { input: [speech] }\n        routes: [ { regex: "(?i)sales", goto: b }, { regex: "(unclosed", goto: b } ]\n' +
          '      b:\n        branch: [ { var: x, matches: "[z-a]", goto: c } ]\n        else: c\n      c: { hangup: bye }\n',
      ),
    );
    expect(msgs(l)).toEqual([
      'error VB_ERR_CONFIG_FLOW Invalid regex in step "a": Invalid regular expression: /(unclosed/i: Unterminated group.',
      'error VB_ERR_CONFIG_FLOW Invalid regex in step "b": Invalid regular expression: /[z-a]/i: Range out of order in character class.',
    ]);
  });

  it('routes, branch cases and llm exits must test something; a maxTurns exit needs maxTurns; dtmf routes need dtmf input', async () => {
    const { lines: l } = await lines(
      flow(
        '      a:\n        listen: { input: [speech], routes: [ { goto: b }, { dtmf: "1", goto: b } ] }\n' +
          '      b:\n        branch: [ { var: x, goto: c } ]\n        else: c\n' +
          '      c: { llm: { system: S, exits: [ { goto: d }, { maxTurns: true, goto: d } ] } }\n      d: { hangup: bye }\n',
      ),
    );
    expect(msgs(l)).toEqual([
      'error VB_ERR_CONFIG_FLOW Route 1 of step "a" tests nothing; give it one of dtmf, regex, equals, intent (use else: for any other input).',
      'error VB_ERR_CONFIG_FLOW Route 2 of step "a" waits for keys, but the step\'s input is only speech. Add dtmf to listen.input.',
      'error VB_ERR_CONFIG_FLOW Branch case 1 of step "b" has no condition; give it one of equals, in, matches, exists.',
      'error VB_ERR_CONFIG_FLOW Exit 1 of step "c" has no condition; give it one of tool, maxTurns: true, intent.',
      'error VB_ERR_CONFIG_FLOW Exit on maxTurns in step "c", which has no llm.maxTurns; set maxTurns or remove the exit.',
    ]);
  });

  it('play needs exactly one of file and url, and an existing file', async () => {
    const { lines: l } = await lines(flow('      a: { play: { file: missing.wav } }\n      b: { play: {} }\n      c: { play: { file: "{{SOUND}}" } }\n', 'vars: { SOUND: x.wav }\n'));
    expect(msgs(l)).toEqual([
      "error VB_ERR_CONFIG_FLOW Audio file /cfg/missing.wav does not exist (relative paths start at the config's directory).",
      'error VB_ERR_CONFIG_FLOW Step "b" plays nothing; give play exactly one of file, url.',
    ]);
  });
});

describe('shipped example flows', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'vb-flows-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const dir = new URL('../../flows/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'));

  it('there are at least the three of the issue', () => {
    expect(files).toEqual(expect.arrayContaining(['receptionist.yaml', 'ivr.yaml', 'after-hours.yaml']));
  });

  it.each(files)('%s validates with no problem at all', async (f) => {
    const { config, diagnostics } = await loadConfig(new URL(f, dir).pathname, { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.map((d) => formatDiagnostic(d))).toEqual([]);
    expect(config).toBeDefined();
  });

  it('a config with a semantic error does not load', async () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(file, flow('      a: { goto: b }\n      b: { goto: a }\n'));
    const { config, diagnostics } = await loadConfig(file, { env: {}, registry: createDefaultRegistry() });
    expect(config).toBeUndefined();
    expect(diagnostics.map((d) => d.code)).toEqual(['VB_ERR_CONFIG_FLOW']);
  });
});
