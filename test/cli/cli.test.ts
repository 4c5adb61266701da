import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, cliBackground } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'voicebot-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('voicebot CLI', () => {
  it('--help lists every command and exits 0', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['run', 'validate', 'init']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it('an unknown command is a usage error with exit 2', () => {
    const r = cli(['valdate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error VB_ERR_CLI_USAGE Unknown command "valdate" \(did you mean "validate"\?\)/);
  });

  it('an unknown flag is a usage error with exit 2', () => {
    const r = cli(['validate', '--frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('VB_ERR_CLI_USAGE');
    expect(r.stderr).toContain('--frobnicate');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('validates the shipped voicebot.yaml', () => {
    const r = cli(['validate']);
    expect(r.stderr + r.stdout).toMatch(/ok/);
    expect(r.status).toBe(0);
  });

  it('init scaffolds a project whose config validates, whose scenarios pass and whose custom plugin loads', () => {
    const dir = join(tmp, 'x');
    const r = cli(['init', dir]);
    expect(r.status).toBe(0);
    const v = cli(['validate', '-c', join(dir, 'voicebot.yaml')]);
    expect(v.stdout).toMatch(/ok/);
    expect(v.status).toBe(0);
    expect(r.stdout).toContain('flows/main.test.yaml');
    // The plugin really loads: the scaffolded scenarios (simulated calls) hear its echo.
    const t = cli(['test', '-c', join(dir, 'voicebot.yaml')]);
    expect(t.stdout + t.stderr).toMatch(/2 passed/);
    expect(t.stdout).toContain('✓ main.test.yaml › greets and echoes what the caller says');
    expect(t.status).toBe(0);
    const again = cli(['init', dir]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/VB_ERR_INIT_EXISTS/);
  }, 60_000);

  it('run starts the bot and stops cleanly on SIGTERM', async () => {
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
