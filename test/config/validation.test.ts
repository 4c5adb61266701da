import { describe, expect, it } from 'vitest';
import { HEADER, lines } from './helpers.js';

const flow = (steps: string, extra = ''): string => `${HEADER}flows:\n  main:\n${extra}    steps:\n${steps}`;

describe('config validation: one exact line per problem', () => {
  it('accepts a valid config and freezes it with defaults filled', async () => {
    const { lines: l, result } = await lines(flow('      hi: { say: "Hello {{call.from}}" }\n'));
    expect(l).toEqual([]);
    const c = result.config!;
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.flows.main.steps.hi)).toBe(true);
    expect(c.settings.timeouts).toEqual({ noInput: 6000, endOfSpeech: 600, maxCall: 900000, shutdown: 10000 });
    expect(c.flows.main.start).toBe('main.hi');
    expect(c.plugins.tts).toEqual([{ provider: 'mock', options: {} }]);
  });

  it('YAML syntax error', async () => {
    const { lines: l } = await lines('version: 1\nflows: {\n');
    expect(l).toHaveLength(1);
    expect(l[0]).toMatch(/^voicebot\.yaml:\d+:\d+ error VB_ERR_CONFIG_YAML /);
  });

  it('duplicate keys', async () => {
    const { lines: l } = await lines(flow('      a: { say: x }\n      a: { say: y }\n'));
    expect(l).toContain('voicebot.yaml:11:7 error VB_ERR_CONFIG_DUPLICATE_KEY Duplicate key "a". Each key may appear once in a mapping; remove or rename one.');
  });

  it('unknown key with did-you-mean', async () => {
    const { lines: l } = await lines(`${HEADER}settings:\n  bargein: true\nflows:\n  main:\n    steps:\n      a: { say: x }\n`);
    expect(l).toEqual(['voicebot.yaml:8:3 error VB_ERR_CONFIG_UNKNOWN_KEY Unknown key "bargein" in settings. Did you mean "bargeIn"? Remove it or check the config reference in README.md.']);
  });

  it('wrong type', async () => {
    const { lines: l } = await lines(`${HEADER}settings:\n  bargeIn: { enabled: "yes" }\nflows:\n  main:\n    steps:\n      a: { say: x }\n`);
    expect(l).toEqual(['voicebot.yaml:8:23 error VB_ERR_CONFIG_SCHEMA "settings.bargeIn.enabled" must be boolean']);
  });

  it('bad duration', async () => {
    const { lines: l } = await lines(`${HEADER}settings:\n  timeouts: { noInput: 6 parsecs }\nflows:\n  main:\n    steps:\n      a: { say: x }\n`);
    expect(l).toEqual(['voicebot.yaml:8:24 error VB_ERR_CONFIG_DURATION Invalid duration "6 parsecs". Use a number of milliseconds or a string like 600ms, 6s, 15m, 1h.']);
  });

  it('a step with zero, several or an unknown kind', async () => {
    const { lines: l } = await lines(flow('      a: { next: b }\n      b: { say: x, hangup: y }\n      c: { sya: x }\n'));
    const kinds = 'say, play, listen, llm, branch, set, goto, http, transfer, hangup, dial, sendDigits';
    expect(l).toEqual([
      `voicebot.yaml:10:7 error VB_ERR_CONFIG_STEP_KIND Step "a" has no kind. A step has exactly one kind: ${kinds}.`,
      `voicebot.yaml:11:7 error VB_ERR_CONFIG_STEP_KIND Step "b" has several kinds (say, hangup). A step has exactly one kind: ${kinds}.`,
      `voicebot.yaml:12:12 error VB_ERR_CONFIG_STEP_KIND Step "c" has unknown kind "sya" (did you mean "say"?). A step has exactly one kind: ${kinds}.`,
    ]);
  });

  it('targets that do not exist: goto, next, else, start, hotkey', async () => {
    const { lines: l } = await lines(
      flow(
        '      a: { say: x, next: bb }\n      b:\n        listen: { input: [dtmf] }\n        routes: [ { dtmf: "1", goto: c } ]\n        else: nowhere\n      c: { goto: a }\n',
        '    start: strat\n    on: { dtmf: { "0": cc } }\n',
      ),
    );
    expect(l).toEqual([
      'voicebot.yaml:9:12 error VB_ERR_CONFIG_TARGET start target "strat" does not exist in flow "main". Use a step name or flow.step.',
      'voicebot.yaml:10:24 error VB_ERR_CONFIG_TARGET hotkey 0 target "cc" does not exist in flow "main". Did you mean "c"? Use a step name or flow.step.',
      'voicebot.yaml:12:26 error VB_ERR_CONFIG_TARGET next target "bb" does not exist in flow "main". Did you mean "b"? Use a step name or flow.step.',
      // a's next is broken, so nothing leads to b (and c only through b): both are really unreachable.
      'voicebot.yaml:13:7 warning VB_WARN_UNREACHABLE_STEP Step "b" in flow "main" is never reached. Link it with next/goto or remove it.',
      'voicebot.yaml:16:15 error VB_ERR_CONFIG_TARGET else target "nowhere" does not exist in flow "main". Use a step name or flow.step.',
      'voicebot.yaml:17:7 warning VB_WARN_UNREACHABLE_STEP Step "c" in flow "main" is never reached. Link it with next/goto or remove it.',
    ]);
  });

  it('unreachable steps are warnings, and the config still loads', async () => {
    const { lines: l, result } = await lines(flow('      a: { hangup: bye }\n      b: { say: never }\n'));
    expect(l).toEqual(['voicebot.yaml:11:7 warning VB_WARN_UNREACHABLE_STEP Step "b" in flow "main" is never reached. Link it with next/goto or remove it.']);
    expect(result.config).toBeDefined();
  });

  it('unknown provider lists the available ones', async () => {
    const { lines: l } = await lines(`version: 1\nplugins:\n  tts: { provider: mokc }\nflows:\n  main:\n    steps:\n      a: { say: x }\n`);
    expect(l).toEqual(['voicebot.yaml:3:20 error VB_ERR_CONFIG_UNKNOWN_PROVIDER Unknown tts provider "mokc". Did you mean "mock"? Available: mock, flite, openai. A custom provider is an npm package name or a path starting with ./']);
  });

  it("plugin options that fail the plugin's own schema", async () => {
    const { lines: l } = await lines(`version: 1\nplugins:\n  tts: [ { provider: mock, latncyMs: 5 } ]\nflows:\n  main:\n    steps:\n      a: { say: x }\n`);
    expect(l).toEqual([
      'voicebot.yaml:3:28 error VB_ERR_CONFIG_PLUGIN_OPTIONS mock (tts) option "latncyMs" is not an option. Did you mean "latencyMs"? Options: latencyMs, failAfter, errorRate, seed, retryable, chunkMs, rtf, inputStreaming.',
    ]);
  });

  it('a step that needs a slot the config lacks', async () => {
    const { lines: l } = await lines(`version: 1\nplugins:\n  tts: { provider: mock }\nflows:\n  main:\n    steps:\n      a:\n        listen: { prompt: Hi, input: [speech] }\n`);
    expect(l).toEqual([
      'voicebot.yaml:7:7 error VB_ERR_CONFIG_MISSING_SLOT Step "a" (listen for speech) needs the stt slot, but plugins.stt is not configured. Add plugins.stt or change the step.',
    ]);
  });

  it('unset env vars are all reported; env values are redacted', async () => {
    const { lines: l } = await lines(`${HEADER}vars:\n  a: "\${AAA}"\n  b: "\${BBB:?set BBB to the desk number}"\n  c: "\${CCC:-fallback}"\nflows:\n  main:\n    steps:\n      x: { say: x }\n`);
    expect(l).toEqual([
      'voicebot.yaml:8:6 error VB_ERR_CONFIG_ENV_UNSET Environment variable AAA is not set. Set it, or give a default with ${AAA:-default}.',
      'voicebot.yaml:9:6 error VB_ERR_CONFIG_ENV_UNSET Environment variable BBB is not set (set BBB to the desk number). Set it, or give a default with ${BBB:-default}.',
    ]);
    const ok = await lines(`${HEADER}vars:\n  a: "key-\${AAA}"\n  c: "\${CCC:-fallback}"\n  d: "$$5"\nflows:\n  main:\n    steps:\n      x: { say: x }\n`, { AAA: 'sekrit' });
    const cfg = ok.result.config!;
    expect(cfg.vars).toEqual({ a: 'key-sekrit', c: 'fallback', d: '$5' });
    expect(cfg.secretVars).toEqual(['a']);
    const { redact } = await import('../../core/config/load.js');
    expect(redact('auth key-sekrit failed', cfg)).toBe('auth *** failed');
  });

  it('flow semantics: unknown tool, exit tool not among tools, branch without else, silent cycle, unknown template', async () => {
    const { lines: l } = await lines(
      `${HEADER}tools:\n  book: { description: Book, http: { url: "http://127.0.0.1/x" } }\nflows:\n  main:\n    steps:\n` +
        '      a:\n        llm: { system: S, tools: [bok], exits: [ { tool: book, goto: b } ] }\n' +
        '      b:\n        branch: [ { var: x, equals: 1, goto: c } ]\n' +
        '      c: { say: "{{missing}}" }\n      d: { goto: c }\n',
    );
    expect(l).toEqual([
      'voicebot.yaml:13:35 error VB_ERR_CONFIG_TOOL Unknown tool "bok". Did you mean "book"? Define it under tools:.',
      'voicebot.yaml:13:58 error VB_ERR_CONFIG_TOOL Exit on tool "book", which is not in this step\'s tools (bok). Add it to llm.tools.',
      'voicebot.yaml:14:7 error VB_ERR_CONFIG_SCHEMA "flows.main.steps.b" is missing the required key "else"',
      'voicebot.yaml:16:7 error VB_ERR_CONFIG_FLOW Steps main.c → main.d → main.c loop forever without waiting for the caller. Put a listen or llm step in the loop, or end it.',
      'voicebot.yaml:16:17 warning VB_WARN_TEMPLATE_UNKNOWN Template {{missing}} refers to a name that is not defined in vars, a save, a set or call.*; it will render empty.',
    ]);
  });

  it('reports every problem of a broken config in one run, sorted by position', async () => {
    const { lines: l, result } = await lines(
      `version: 2\nplugins:\n  tts: { provider: nope }\nsettings:\n  timeouts: { maxCall: forever }\nflows:\n  main:\n    steps:\n      a: { say: x, next: zz }\n`,
    );
    expect(result.config).toBeUndefined();
    expect(l.map((x) => x.split(' ').slice(0, 3).join(' '))).toEqual([
      'voicebot.yaml:1:10 error VB_ERR_CONFIG_SCHEMA',
      'voicebot.yaml:3:20 error VB_ERR_CONFIG_UNKNOWN_PROVIDER',
      'voicebot.yaml:5:24 error VB_ERR_CONFIG_DURATION',
      'voicebot.yaml:9:26 error VB_ERR_CONFIG_TARGET',
    ]);
  });
});
