import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, cliBackground } from '../cli/helpers.js';
import { outboundConfig, TOKEN } from './api.test-config.js';

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vb-call-'));
  const f = join(dir, 'voicebot.yaml');
  writeFileSync(f, text);
  return f;
}

const running: { child: import('node:child_process').ChildProcess; exited: Promise<number | null> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.child.kill('SIGINT');
    await r.exited;
  }
});

describe('voicebot call', () => {
  it('standalone (-c): places the call, prints its events like simulate, exit 0', () => {
    const f = configFile(outboundConfig());
    const r = cli(['call', '+15550100', '-c', f, '--var', 'name=Ann', '--caller-id', '+15550999']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^dialling \+15550100 \(call mock-out-\S+\) → flow reminder$/m);
    expect(r.stdout).toContain('  bot:    Hi Ann, this is an outbound call from +15550999.');
    expect(r.stdout).toMatch(/call ended \(bot-hangup\)/);
    expect(r.status).toBe(0);
  });

  it('standalone: a busy line is exit 3 with the coded error; a bad --var is a usage error', () => {
    const f = configFile(outboundConfig().replace('telephony: { provider: mock }', 'telephony: { provider: mock, dialOutcomes: { "+15550486": busy } }'));
    const r = cli(['call', '+15550486', '-c', f]);
    expect(r.stderr).toMatch(/VB_ERR_OUTBOUND_BUSY/);
    expect(r.status).toBe(3);
    const u = cli(['call', '+15550486', '-c', f, '--var', 'novalue']);
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/VB_ERR_CLI_USAGE --var takes name=value/);
  });

  it('through a running voicebot (--api --token): same conversation; a wrong token is refused', async () => {
    const f = configFile(outboundConfig());
    const run = cliBackground(['run', '-c', f], /calls API on (http:\S+)\/v1\/calls/);
    running.push(run);
    await run.ready;
    const url = /calls API on (http:\S+)\/v1\/calls/.exec(run.output().stderr)![1]!;
    const ok = cli(['call', '+15550100', '--api', url, '--token', TOKEN, '--var', 'name=Bo']);
    expect(ok.stdout).toContain('  bot:    Hi Bo, this is an outbound call from +15550123.');
    expect(ok.stdout).toMatch(/call ended \(bot-hangup\)/);
    expect(ok.status).toBe(0);
    const bad = cli(['call', '+15550100', '--api', url, '--token', 'nope-nope-nope-nope']);
    expect(bad.stderr).toMatch(/VB_ERR_API_AUTH/);
    expect(bad.status).toBe(1);
    const down = cli(['call', '+15550100', '--api', 'http://127.0.0.1:1', '--token', TOKEN]);
    expect(down.stderr).toMatch(/VB_ERR_CALL_CLI_API/);
    expect(down.status).toBe(1);
  });
});
