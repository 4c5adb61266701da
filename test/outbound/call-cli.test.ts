import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { cliBackground } from '../cli/helpers.js';
import { outboundConfig, TOKEN } from './api.test-config.js';
import { cliAsync } from './helpers.js';

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vb-call-'));
  const f = join(dir, 'voicebot.yaml');
  writeFileSync(f, text);
  return f;
}

/**
 * Real `voicebot call` / `voicebot run` processes; the tests (and the runs inside each) overlap. Generous
 * timeouts: a node process's start costs seconds of CPU on a loaded host.
 */
const T = 120_000;

describe.concurrent('voicebot call', () => {
  it('standalone (-c): places the call, prints its events like simulate, exit 0', async ({ expect }) => {
    const f = configFile(outboundConfig());
    const r = await cliAsync(['call', '+15550100', '-c', f, '--var', 'name=Ann', '--caller-id', '+15550999']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^dialling \+15550100 \(call mock-out-\S+\) → flow reminder$/m);
    expect(r.stdout).toContain('  bot:    Hi Ann, outbound from +15550999.');
    expect(r.stdout).toMatch(/call ended \(bot-hangup\)/);
    expect(r.status).toBe(0);
  }, T);

  it('standalone: a busy line is exit 3 with the coded error; a bad --var is a usage error', async ({ expect }) => {
    const f = configFile(outboundConfig().replace('telephony: { provider: mock }', 'telephony: { provider: mock, dialOutcomes: { "+15550486": busy } }'));
    const [r, u] = await Promise.all([cliAsync(['call', '+15550486', '-c', f]), cliAsync(['call', '+15550486', '-c', f, '--var', 'novalue'])]);
    expect(r.stderr).toMatch(/VB_ERR_OUTBOUND_BUSY/);
    expect(r.status).toBe(3);
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/VB_ERR_CLI_USAGE --var takes name=value/);
  }, T);

  it('through a running voicebot (--api --token): same conversation; a wrong token is refused', async ({ expect, onTestFinished }) => {
    const f = configFile(outboundConfig());
    const run = cliBackground(['run', '-c', f], /calls API on (http:\S+)\/v1\/calls/);
    onTestFinished(async () => {
      run.child.kill('SIGINT');
      await run.exited;
    });
    await run.ready;
    const url = /calls API on (http:\S+)\/v1\/calls/.exec(run.output().stderr)![1]!;
    const [ok, bad, down] = await Promise.all([
      cliAsync(['call', '+15550100', '--api', url, '--token', TOKEN, '--var', 'name=Bo']),
      cliAsync(['call', '+15550100', '--api', url, '--token', 'nope-nope-nope-nope']),
      cliAsync(['call', '+15550100', '--api', 'http://127.0.0.1:1', '--token', TOKEN]),
    ]);
    expect(ok.stdout).toContain('  bot:    Hi Bo, outbound from +15550123.');
    expect(ok.stdout).toMatch(/call ended \(bot-hangup\)/);
    expect(ok.status).toBe(0);
    expect(bad.stderr).toMatch(/VB_ERR_API_AUTH/);
    expect(bad.status).toBe(1);
    expect(down.stderr).toMatch(/VB_ERR_CALL_CLI_API/);
    expect(down.status).toBe(1);
  }, T);
});
