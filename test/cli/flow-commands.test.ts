/**
 * simulate / console / test as a user runs them: child processes of the
 * built CLI (core/cli/bin.mjs; build first with `npx tsc -p .`). Calls play in real time, so each
 * command takes seconds; the tests wait for the process, never on a clock.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { cliAsync, ROOT, type CliResult } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'voicebot-flow-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The CLI as a child process (cliAsync), without the front-desk number a developer's shell may set. */
function voicebot(args: string[], opts: { cwd?: string; stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return cliAsync(args, { ...opts, env: { FRONT_DESK: '', ...opts.env } });
}

/** The shipped voicebot.yaml with mock telephony and TTS: same flow, no audio device or voice needed. */
function mockConfig(name: string): string {
  const text = readFileSync(join(ROOT, 'voicebot.yaml'), 'utf8')
    .replace(/telephony:\s*\{[^}]*\}/, 'telephony: { provider: mock }')
    .replace(/tts:\s*\{[^}]*\}/, 'tts: { provider: mock }');
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

type Ev = { type: string; [k: string]: unknown };
function jsonLines(out: string): Ev[] {
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Ev);
}

const T = 120_000;

describe.concurrent('voicebot simulate / console / test', () => {
  it('--help lists the three commands; each has its own help with the flags', async ({ expect }) => {
    const r = await voicebot(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['simulate', 'console', 'test']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    const s = await voicebot(['simulate', '--help']);
    expect(s.status).toBe(0);
    for (const f of ['--flow NAME', '--say TEXT', '--dtmf DIGITS', '--caller-voice', '--json', '-c, --config FILE', '--to NUMBER']) expect(s.stdout).toContain(f);
    const t = await voicebot(['help', 'test']);
    expect(t.stdout).toContain('voicebot test [-c FILE]');
    expect(t.stdout).toContain('PATTERN');
    // T: the sibling simulations run in virtual time, i.e. on the CPU instead of idling, and share two cores with it.
  }, T);

  it('usage errors exit 2 with VB_ERR_CLI_USAGE and no stack trace', async ({ expect }) => {
    const runs = await Promise.all([
      voicebot(['simulate', '--caller-voice', 'robot']),
      voicebot(['simulate', '--shout', 'hi']),
      voicebot(['simulate', 'extra']),
      voicebot(['console', '--nope']),
      voicebot(['test', 'a', 'b']),
      voicebot(['test', '--jobs', 'zero']),
    ]);
    for (const r of runs) {
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^error VB_ERR_CLI_USAGE /m);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(runs[0].stderr).toContain('--caller-voice must be mock, tts or tts:VOICE');
  }, T);

  it(
    'simulate --say "I\'d like sales" --json: one event per line, the path taken, call.ended last; exit 0',
    async ({ expect }) => {
      const r = await voicebot(['simulate', '-c', mockConfig('sales.yaml'), '--say', "I'd like sales", '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const evs = jsonLines(r.stdout);
      expect(evs[0]).toMatchObject({ type: 'call.started', flow: 'main' });
      expect(evs.at(-1)).toMatchObject({ type: 'call.ended', reason: 'transferred' });
      expect(evs.filter((e) => e.type === 'call.ended')).toHaveLength(1);
      expect(evs.filter((e) => e.type === 'flow.step').map((e) => e.step)).toEqual(['greet', 'menu', 'sales', 'to_desk']);
      expect(evs.find((e) => e.type === 'caller.said')).toMatchObject({ text: "I'd like sales", final: true });
      expect(evs.filter((e) => e.type === 'bot.said').map((e) => e.text)).toEqual([
        'Thanks for calling Acme.',
        'Say sales or support, or press 1 for sales and 2 for support.',
        'Connecting you to sales.',
        'Transferring you now.',
      ]);
      expect(evs.some((e) => e.type === 'turn.metrics' && typeof e.e2eMs === 'number')).toBe(true);
      expect(evs.find((e) => e.type === 'call.transferred')).toMatchObject({ to: '+15550100' });
      for (const e of evs) expect(e).toMatchObject({ callId: evs[0].callId, t: expect.any(Number) });
    },
    T,
  );

  it(
    'simulate: turns in command-line order (--dtmf, --say); after the bot answered the last one the caller hangs up',
    async ({ expect }) => {
      const r = await voicebot(['simulate', '-c', mockConfig('support.yaml'), '--dtmf', '2', '--say', 'my dishwasher leaks', '--json']);
      expect(r.status).toBe(0);
      const evs = jsonLines(r.stdout);
      const order = evs.filter((e) => ['dtmf', 'caller.said', 'bot.said'].includes(e.type)).map((e) => `${e.type} ${String(e.digits ?? e.text)}`);
      expect(order.slice(2)).toEqual(['dtmf 2', 'bot.said Support here. How can I help?', 'caller.said my dishwasher leaks', 'bot.said You said: my dishwasher leaks.']);
      expect(evs.at(-1)).toMatchObject({ type: 'call.ended', reason: 'caller-hangup' });
    },
    T,
  );

  it(
    'simulate --caller-voice tts: the configured TTS speaks for the caller and the STT hears it',
    async ({ expect }) => {
      const r = await voicebot(['simulate', '-c', mockConfig('tts.yaml'), '--caller-voice', 'tts', '--say', 'support please', '--json']);
      expect(r.status).toBe(0);
      const evs = jsonLines(r.stdout);
      expect(evs.find((e) => e.type === 'caller.said')).toMatchObject({ text: 'support please' });
      expect(evs.filter((e) => e.type === 'flow.step').map((e) => e.step)).toContain('support');
    },
    T,
  );

  it(
    'simulate prints a readable conversation without --json; --flow picks the flow',
    async ({ expect }) => {
      const r = await voicebot(['simulate', '-c', join(ROOT, 'flows/ivr.yaml'), '--flow', 'main', '--dtmf', '1']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^call \S+ from \+15550100 to \+15550199 → flow main$/m);
      expect(r.stdout).toContain('  · main.menu (listen)');
      expect(r.stdout).toContain('  caller: [keys 1]');
      expect(r.stdout).toContain('  bot:    Connecting you to sales.');
      expect(r.stdout).toContain('  ↪ transferred to +15550143');
      expect(r.stdout).toMatch(/call ended \(transferred\) after \d+\.\d s\n$/);
      const bad = await voicebot(['simulate', '-c', join(ROOT, 'flows/ivr.yaml'), '--flow', 'nope']);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('VB_ERR_FLOW_UNKNOWN Flow "nope" does not exist (from --flow). Flows in this config: main.');
    },
    T,
  );

  it(
    'simulate exits 1 when the call ends in an error, when no route takes it (--to picks one), and on an invalid config',
    async ({ expect }) => {
      const file = join(tmp, 'broken.yaml');
      writeFileSync(
        file,
        'version: 1\nplugins:\n  telephony: { provider: mock }\n  tts: { provider: mock }\nflows:\n  main:\n    steps:\n      hi: { say: "Hi." }\n      fetch: { http: { url: "http://127.0.0.1:9/nothing", timeout: 2s } }\n      bye: { hangup: "Bye." }\n',
      );
      const r = await voicebot(['simulate', '-c', file, '--json']);
      expect(r.status).toBe(1);
      const evs = jsonLines(r.stdout);
      expect(evs.find((e) => e.type === 'call.error')).toMatchObject({ code: 'VB_ERR_FLOW_HTTP' });
      expect(evs.at(-1)).toMatchObject({ type: 'call.ended', reason: 'error' });
      const routed = join(tmp, 'routed.yaml');
      writeFileSync(routed, 'version: 1\nplugins:\n  tts: { provider: mock }\nroutes: [ { to: "+15550777", flow: main } ]\nflows:\n  main:\n    steps:\n      bye: { hangup: "Bye." }\n');
      const rejected = await voicebot(['simulate', '-c', routed, '--json']);
      expect(rejected.status).toBe(1);
      expect(rejected.stderr).toContain('error VB_ERR_FLOW_NO_ROUTE No route accepts calls to +15550199');
      expect(jsonLines(rejected.stdout).at(-1)).toMatchObject({ type: 'call.ended', reason: 'rejected' });
      const accepted = await voicebot(['simulate', '-c', routed, '--to', '+15550777', '--from', '+15550001', '--json']);
      expect(accepted.status).toBe(0);
      expect(jsonLines(accepted.stdout)[0]).toMatchObject({ type: 'call.started', from: '+15550001', to: '+15550777' });
      const invalid = join(tmp, 'invalid.yaml');
      writeFileSync(invalid, 'version: 1\nplugins:\n  tts: { provider: mock }\nflows:\n  main:\n    steps:\n      a: { goto: b }\n      b: { goto: a }\n');
      const v = await voicebot(['simulate', '-c', invalid]);
      expect(v.status).toBe(1);
      expect(v.stderr).toContain('error VB_ERR_CONFIG_FLOW Steps main.a → main.b → main.a loop forever');
      expect(v.stdout).toBe('');
    },
    T,
  );

  it(
    'console: typed lines are spoken, #digits are keys; the bot answers live and EOF ends the call',
    async ({ expect }) => {
      const r = await voicebot(['console', '-c', mockConfig('console.yaml')], { stdin: '#2\nthe oven is cold\n' });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('Connected.');
      expect(r.stdout).toContain('(listening');
      expect(r.stdout).toContain('  · main.support (llm)');
      expect(r.stdout).toContain('  bot:    Support here. How can I help?');
      expect(r.stdout).toContain('  bot:    You said: the oven is cold.');
      expect(r.stdout).toMatch(/call ended \(caller-hangup\)/);
      // The support answer comes after the keys were pressed and the line was typed.
      expect(r.stdout.indexOf('You said: the oven is cold.')).toBeGreaterThan(r.stdout.indexOf('Support here.'));
    },
    T,
  );

  it(
    'test: passes, filters by PATTERN, and a scenario expecting the wrong step fails with a readable diff (exit 1)',
    async ({ expect }) => {
      const dir = join(tmp, 'proj');
      mkdirSync(join(dir, 'flows'), { recursive: true });
      cpSync(mockConfig('proj.yaml'), join(dir, 'voicebot.yaml'));
      const scenario = `# no config: key, so it tests the -c config (default ./voicebot.yaml)
scenarios:
  - name: keys to sales
    vars: { desk: "+15550123" }
    turns:
      - expect: { said: Thanks for calling Acme }
      - dtmf: "1"
        expect: { step: main.sales, said: Connecting you to sales }
    expect: { ended: transferred, transferredTo: "+15550123" }
`;
      writeFileSync(join(dir, 'flows', 'main.test.yaml'), scenario);
      const ok = await voicebot(['test'], { cwd: dir });
      expect(ok.stdout).toMatch(/^✓ main\.test\.yaml › keys to sales \(\d+\.\d s\)$/m);
      expect(ok.stdout).toContain('1 passed, 0 failed');
      expect(ok.status).toBe(0);

      const none = await voicebot(['test', 'nothing-like-this'], { cwd: dir });
      expect(none.status).toBe(1);
      expect(none.stderr).toContain('VB_ERR_SCENARIO');

      writeFileSync(join(dir, 'flows', 'main.test.yaml'), scenario.replace('step: main.sales', 'step: main.support'));
      const bad = await voicebot(['test', '-c', 'voicebot.yaml', 'sales'], { cwd: dir });
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/^✗ main\.test\.yaml › keys to sales \(\d+\.\d s\)$/m);
      expect(bad.stdout).toContain(['    turn 2 (dtmf "1"): reached step', '      - expected: main.support', '      + actual:   main.sales → main.to_desk'].join('\n'));
      expect(bad.stdout).toContain('    transcript:');
      expect(bad.stdout).toContain('caller: [keys 1]');
      expect(bad.stdout).toContain('0 passed, 1 failed');
    },
    T,
  );

  it(
    'test: a malformed scenario file is reported and fails the run',
    async ({ expect }) => {
      const dir = join(tmp, 'malformed');
      mkdirSync(dir, { recursive: true });
      cpSync(mockConfig('m.yaml'), join(dir, 'voicebot.yaml'));
      writeFileSync(join(dir, 'x.test.yaml'), 'scenarios:\n  - name: a\n    turns:\n      - say: hi\n        expect: { sed: x }\n');
      const r = await voicebot(['test'], { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('✗ x.test.yaml');
      expect(r.stdout).toContain('error VB_ERR_SCENARIO Scenario');
      expect(r.stdout).toContain('✗ x.test.yaml › a\n    x.test.yaml:5:19 error VB_ERR_SCENARIO Scenario');
      expect(r.stdout).toContain('unknown key "sed". Did you mean "said"?');
    },
    T,
  );

  it(
    'test: every shipped scenario passes (flows/*.test.yaml, the shipped voicebot.yaml included)',
    async ({ expect }) => {
      const r = await voicebot(['test', '--jobs', '6']);
      expect(r.stdout).not.toContain('✗');
      expect(r.stdout).toMatch(/\n(\d+) passed, 0 failed\n$/);
      for (const f of ['main', 'receptionist', 'ivr', 'after-hours']) expect(r.stdout).toContain(`✓ ${f}.test.yaml › `);
      expect(r.status).toBe(0);
    },
    240_000,
  );
});
