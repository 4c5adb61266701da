import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { cliAsync as cli, cliBackground } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'voicebot-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Independent CLI processes: they overlap (each mostly waits on its own start-up).
describe.concurrent('voicebot CLI', { timeout: 120_000 }, () => {
  it('--help lists every command and exits 0', async ({ expect }) => {
    const r = await cli(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['run', 'validate', 'init']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it('an unknown command is a usage error with exit 2', async ({ expect }) => {
    const r = await cli(['valdate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error VB_ERR_CLI_USAGE Unknown command "valdate" \(did you mean "validate"\?\)/);
  });

  it('an unknown flag is a usage error with exit 2', async ({ expect }) => {
    const r = await cli(['validate', '--frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('VB_ERR_CLI_USAGE');
    expect(r.stderr).toContain('--frobnicate');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('validates the shipped voicebot.yaml', async ({ expect }) => {
    const r = await cli(['validate']);
    expect(r.stderr + r.stdout).toMatch(/ok/);
    expect(r.status).toBe(0);
  });

  it('validate on a scenario file says so and names its config, instead of config errors', async ({ expect }) => {
    const r = await cli(['validate', '-c', 'flows/ivr.test.yaml']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(
      'flows/ivr.test.yaml:1:1 error VB_ERR_CLI_SCENARIO_FILE flows/ivr.test.yaml is a scenario file (run by `voicebot test`), not a config. Check its config with `voicebot validate -c flows/ivr.yaml`; run its scenarios with `voicebot test -c flows/ivr.yaml`.\n',
    );
    const j = await cli(['validate', '-c', 'flows/ivr.test.yaml', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ valid: false, diagnostics: [{ code: 'VB_ERR_CLI_SCENARIO_FILE', line: 1, col: 1 }] });
  });

  it('run starts the bot and stops cleanly on SIGTERM', async ({ expect }) => {
    const file = join(tmp, 'run.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'plugins:',
        '  telephony: { provider: mock }',
        '  tts: { provider: mock }',
        'flows:',
        '  main:',
        '    start: hello',
        '    steps:',
        '      hello: { say: "Hello." }',
        '',
      ].join('\n'),
    );
    const p = cliBackground(['run', '-c', file], /ready in \d+ ms/);
    await p.ready;
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.output().stderr).toContain('stopping');
  });
});

describe.concurrent('voicebot CLI output to a closed pipe', { timeout: 120_000 }, () => {
  it('a reader that went away (voicebot … | head) ends the output quietly, without EPIPE and a stack trace', async ({ expect }) => {
    const { spawn } = await import('node:child_process');
    const { BIN, ROOT } = await import('./helpers.js');
    const child = spawn(process.execPath, [BIN, 'validate', '-c', 'flows/ivr.test.yaml'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VOICEBOT_LOG: 'silent' } });
    child.stdout.destroy(); // closed before the CLI writes its first line
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
    // validate's own code (1: it is a scenario file), or 0 when the pipe closed first — never a crash.
    expect([0, 1]).toContain(code);
  });
});

describe.concurrent('voicebot without dist/', { timeout: 120_000 }, () => {
  it('an installed copy says to reinstall; a checkout says to build (never advice that cannot work there)', async ({ expect }) => {
    const { spawnSync } = await import('node:child_process');
    const { copyFileSync, mkdirSync } = await import('node:fs');
    const { BIN } = await import('./helpers.js');
    const copy = (withTsconfig: boolean): string => {
      const root = join(tmp, withTsconfig ? 'checkout' : 'installed');
      mkdirSync(join(root, 'core/cli'), { recursive: true });
      copyFileSync(BIN, join(root, 'core/cli/bin.mjs'));
      if (withTsconfig) writeFileSync(join(root, 'tsconfig.json'), '{}');
      return join(root, 'core/cli/bin.mjs');
    };
    const installed = spawnSync(process.execPath, [copy(false), '--help'], { encoding: 'utf8' });
    expect(installed.status).toBe(1);
    expect(installed.stderr).toMatch(/^error VB_ERR_CLI_NOT_BUILT voicebot is not built \(no dist\/\)\. This installed copy \(.*installed\/\) is incomplete: reinstall it with `npm install voicebot`\.\n$/);
    const checkout = spawnSync(process.execPath, [copy(true), '--help'], { encoding: 'utf8' });
    expect(checkout.stderr).toMatch(/^error VB_ERR_CLI_NOT_BUILT .*Run `npm run build` in .*checkout\/\.\n$/);
  });
});
