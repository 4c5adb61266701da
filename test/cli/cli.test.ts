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
