/**
 * Messages a new user meets, tried as they would: the built CLI
 * (core/cli/bin.mjs, what `npx voicebot` runs) in a temp project. Each case
 * is a regression test of a message that once pointed at the wrong place or
 * said too little (issue #16, "Also fix").
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it as baseIt, type TestContext } from 'vitest';
import { locate } from '../../plugins/pocketsphinx/index.js';
import { ROOT, cliAsync as cli } from './helpers.js';
import { closedPort } from '../local/helpers.js';

/** Each case runs the CLI as a process (up to two), and the cases run at the same time: generous timeouts. */
type Case = (ctx: TestContext) => unknown;
const it = Object.assign((name: string, fn: Case) => baseIt.concurrent(name, fn, 120_000), {
  skipIf: (cond: unknown) => (name: string, fn: Case, timeout = 120_000) => baseIt.skipIf(cond).concurrent(name, fn, timeout),
});

const tmp = mkdtempSync(join(tmpdir(), 'voicebot-new-user-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PLUGINS = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
`;

/** Writes `files` into a fresh project folder and returns its path. */
function project(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  for (const [f, text] of Object.entries(files)) {
    const path = join(dir, f);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return dir;
}

describe('voicebot validate, as a new user meets it', () => {
  it('two start: keys in a flow: the target error points at the second one, whose value the config holds', async ({ expect }) => {
    const dir = project('two-starts', {
      'voicebot.yaml': `${PLUGINS}flows:
  main:
    start: hello
    start: nope
    steps:
      hello: { say: "Hi." }
`,
    });
    const r = await cli(['validate', '-c', 'voicebot.yaml'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('voicebot.yaml:10:5 error VB_ERR_CONFIG_DUPLICATE_KEY Duplicate key "start"');
    expect(r.stdout).toContain('voicebot.yaml:10:12 error VB_ERR_CONFIG_TARGET start target "nope" does not exist');
  });

  it('transfer: { mode: … } with a wrong value names the key and the allowed values', async ({ expect }) => {
    const dir = project('transfer-mode', {
      'voicebot.yaml': `${PLUGINS}flows:
  main:
    steps:
      t: { transfer: { to: "+15550100", mode: cold } }
      u: { transfer: { to: "+15550100", mod: warm } }
`,
    });
    const r = await cli(['validate', '-c', 'voicebot.yaml'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('voicebot.yaml:10:47 error VB_ERR_CONFIG_SCHEMA "flows.main.steps.t.transfer.mode" must be one of "blind", "warm"');
    expect(r.stdout).toMatch(/voicebot\.yaml:11:41 error \S+ .*"mod".*Did you mean "mode"\?/);
    expect(r.stdout).not.toContain('wrong shape');
  });
});

/** PocketSphinx from Debian, or why the tests needing it skip. */
const noSphinx = ((): string => {
  try {
    locate();
    return '';
  } catch (e) {
    return `PocketSphinx is not installed (${(e as Error).message})`;
  }
})();

/** The shipped voicebot.yaml with the given stt, in a project of its own. */
function shipped(name: string, stt: string): string {
  const text = readFileSync(join(ROOT, 'voicebot.yaml'), 'utf8').replace(/stt:\s*\{ provider: mock \}/, `stt: { provider: ${stt} }`);
  expect(text).toContain(`provider: ${stt}`);
  return project(name, { 'voicebot.yaml': text });
}

const steps = (stdout: string): string[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; flow?: string; step?: string; text?: string })
    .flatMap((e) => (e.type === 'flow.step' ? [`${e.flow}.${e.step}`] : []));

describe('voicebot simulate --caller-voice', () => {
  it('tts with stt: mock warns that mock STT only decodes mock speech', async ({ expect }) => {
    const dir = shipped('voice-mock-stt', 'mock');
    const r = await cli(['simulate', '--caller-voice', 'tts', '--say', 'sales', '--json'], { cwd: dir });
    expect(r.stderr).toContain('warning VB_WARN_CALLER_VOICE_MOCK_STT');
    expect(r.stderr).toContain('stt is mock, which only decodes mock speech');
    const quiet = await cli(['simulate', '--say', 'sales', '--json'], { cwd: dir });
    expect(quiet.stderr).not.toContain('VB_WARN_CALLER_VOICE_MOCK_STT');
    expect(steps(quiet.stdout)).toContain('main.sales');
  });

  it('an unknown voice spec is a usage error listing the forms', async ({ expect }) => {
    const r = await cli(['simulate', '--caller-voice', 'robot'], { cwd: shipped('voice-bad', 'mock') });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--caller-voice must be mock, tts or tts:VOICE');
  });

  it.skipIf(noSphinx)(`the README example: tts:rms speaks for the caller and pocketsphinx routes "sales" and "support"${noSphinx ? ` (skipped: ${noSphinx})` : ''}`, async ({ expect }) => {
    const dir = shipped('voice-sphinx', 'pocketsphinx');
    const [sales, support] = await Promise.all(
      ['sales', 'support'].map(
        (word) =>
          cli(['simulate', '--caller-voice', 'tts:rms', '--say', word, '--json'], { cwd: dir, timeoutMs: 240_000 }).then((r) => steps(r.stdout)),
      ),
    );
    expect(sales.slice(0, 3)).toEqual(['main.greet', 'main.menu', 'main.sales']);
    expect(support.slice(0, 3)).toEqual(['main.greet', 'main.menu', 'main.support']);
    // A hang guard, not a budget: alone each simulation takes ≈4 s; beside the file's other CLI runs on a saturated machine, minutes.
  }, 300_000);
});


describe('http steps and tools to a closed port', () => {
  it('say why: the connection was refused (ECONNREFUSED), not just "fetch failed"', async ({ expect }) => {
    const port = await closedPort();
    const dir = project('http-closed', {
      'voicebot.yaml': `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm:
    provider: mock
    script:
      - { when: "order", toolCall: { name: lookup, arguments: { id: "7" } } }
  tts: { provider: mock }
tools:
  lookup: { description: Find an order, params: { id: string }, http: { url: "http://127.0.0.1:${port}/orders" } }
flows:
  main:
    steps:
      h:
        http: { url: "http://127.0.0.1:${port}/x" }
        onError: chat
      chat:
        llm: { system: "Help.", tools: [lookup], maxTurns: 1, exits: [ { maxTurns: true, goto: bye } ] }
      bye: { hangup: "Bye." }
`,
    });
    const r = await cli(['simulate', '--say', 'my order', '--json'], { cwd: dir, env: { VOICEBOT_LOG: 'warn' } });
    const tool = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; error?: string })
      .find((e) => e.type === 'tool.called');
    expect(tool?.error).toContain(`VB_ERR_FLOW_HTTP HTTP POST http://127.0.0.1:${port}/orders failed: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`);
    expect(r.stderr).toContain(`HTTP GET http://127.0.0.1:${port}/x failed: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`);
  });
});

describe('an unset ${VOICEBOT_STREAM_TOKEN}', () => {
  const stream = (token: string): string => `version: 1
plugins:
  telephony: { provider: mock }
  audioStream: { provider: websocket, token: ${token}, listen: { host: 127.0.0.1, port: 8081 } }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
flows:
  main:
    steps:
      hi: { say: "Hi." }
`;
  const env = { VOICEBOT_STREAM_TOKEN: undefined };

  it('is reported once, as the cause (not also as a token that is too short)', async ({ expect }) => {
    const dir = project('env-unset', { 'voicebot.yaml': stream('"${VOICEBOT_STREAM_TOKEN}"') });
    const r = await cli(['validate'], { cwd: dir, env });
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      'voicebot.yaml:4:46 error VB_ERR_CONFIG_ENV_UNSET Environment variable VOICEBOT_STREAM_TOKEN is not set. Set it, or give a default with ${VOICEBOT_STREAM_TOKEN:-default}.',
      '1 error in voicebot.yaml',
    ]);
  });

  it('unquoted inside { … } is one syntax error that says to quote it, not dozens', async ({ expect }) => {
    const dir = project('env-unquoted', { 'voicebot.yaml': stream('${VOICEBOT_STREAM_TOKEN}') });
    const r = await cli(['validate'], { cwd: dir, env });
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^voicebot\.yaml:4:47 error VB_ERR_CONFIG_YAML .*must be quoted: "\$\{NAME\}"/);
  });
});

describe('scenario files', () => {
  const shippedIvr = (name: string, edit: (t: string) => string): string => {
    const dir = project(name, {
      'flows/ivr.yaml': readFileSync(join(ROOT, 'flows/ivr.yaml'), 'utf8'),
      'flows/ivr.test.yaml': edit(readFileSync(join(ROOT, 'flows/ivr.test.yaml'), 'utf8')),
    });
    return dir;
  };

  it('a typo\'d key fails that scenario at line:col with a did-you-mean; the file\'s other scenarios still run', async ({ expect }) => {
    const dir = shippedIvr('scenario-typo', (t) => t.replace('      - dtmf: "1"\n        expect: { step: main.sales', '      - dtmf: "1"\n        expcet: { step: main.sales'));
    const r = await cli(['test', '-c', 'flows/ivr.yaml'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('✗ ivr.test.yaml › keypad to sales\n    flows/ivr.test.yaml:7:9 error VB_ERR_SCENARIO');
    expect(r.stdout).toContain('unknown key "expcet". Did you mean "expect"?');
    expect(r.stdout).toMatch(/✓ ivr\.test\.yaml › speech to support/);
    expect(r.stdout).toMatch(/\n(\d+) passed, 1 failed\n/);
    expect(Number(/(\d+) passed, 1 failed/.exec(r.stdout)![1])).toBeGreaterThan(0);
  });

  it('validate -c on a scenario file says what it is and what to run instead', async ({ expect }) => {
    const dir = shippedIvr('scenario-validate', (t) => t);
    const r = await cli(['validate', '-c', 'flows/ivr.test.yaml'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toContain(
      'VB_ERR_CLI_SCENARIO_FILE flows/ivr.test.yaml is a scenario file (run by `voicebot test`), not a config. Check its config with `voicebot validate -c flows/ivr.yaml`; run its scenarios with `voicebot test -c flows/ivr.yaml`.',
    );
  });
});

describe('an llm step with maxTurns', () => {
  const config = (exits: string): string => `${PLUGINS}flows:
  main:
    steps:
      chat:
        llm: { system: "Help.", maxTurns: 2${exits} }
`;

  it('and no way out warns at validate that the call will end without a goodbye', async ({ expect }) => {
    const r = await cli(['validate'], { cwd: project('max-turns-end', { 'voicebot.yaml': config('') }) });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('voicebot.yaml:11:33 warning VB_WARN_LLM_MAX_TURNS_END Step "chat" ends the call after 2 turns without a goodbye');
  });

  it('with a maxTurns exit does not', async ({ expect }) => {
    const yaml = config(', exits: [ { maxTurns: true, goto: bye } ]').replace('      chat:', '      bye: { hangup: "Bye." }\n      chat:').replace('    steps:\n', '    start: chat\n    steps:\n');
    const r = await cli(['validate'], { cwd: project('max-turns-exit', { 'voicebot.yaml': yaml }) });
    expect(r.stdout).toBe('ok: voicebot.yaml is valid\n');
  });
});

describe('voicebot simulate --flow', () => {
  it('a flow that does not exist is named as a flow, with the flows there are', async ({ expect }) => {
    const dir = project('flow-nope', {
      'voicebot.yaml': `${PLUGINS}flows:
  main:
    steps:
      hi: { say: "Hi." }
  sales:
    steps:
      hi: { say: "Sales." }
`,
    });
    const r = await cli(['simulate', '--flow', 'nope'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error VB_ERR_FLOW_UNKNOWN Flow "nope" does not exist (from --flow). Flows in this config: main, sales.');
  });
});
