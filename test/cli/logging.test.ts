import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { formatLogLine } from '../../core/logging.js';
import { cliAsync, cliBackground } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'voicebot-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'voicebot.yaml');
writeFileSync(
  config,
  ['version: 1', 'plugins:', '  telephony: { provider: local }', '  tts: { provider: mock }', 'settings:', '  server: { host: 127.0.0.1, port: 0 }', 'flows:', '  main:', '    start: hi', '    steps:', '      hi: { say: "Hi." }', ''].join('\n'),
);

// The CLI processes (three `run`s, one validate) are independent: they overlap.
describe.concurrent('logs a person can read', () => {
  it('a terminal line: time, level, call, plugin, message, then the other fields', ({ expect }) => {
    const time = new Date(2026, 11, 1, 9, 5, 7, 42).getTime();
    const line = formatLogLine(JSON.stringify({ level: 40, time, name: 'voicebot', callId: 'c-7', slot: 'llm', provider: 'openai', msg: 'retrying', attempt: 2, err: { message: 'socket hang up' }, url: 'http://x/y z' }));
    expect(line).toBe('09:05:07.042 WARN  call c-7 [llm openai] retrying attempt=2 err="socket hang up" url="http://x/y z"\n');
    expect(formatLogLine('not json')).toBe('not json');
  });

  it('when stderr is not a terminal, each log event is one JSON line; --log-level warn drops info', async ({ expect }) => {
    // Both start at once; each is stopped as soon as it is ready (and on any failure).
    const json = cliBackground(['run', '-c', config], /ready in \d+ ms/, { env: { VOICEBOT_LOG: 'info' } });
    const quiet = cliBackground(['run', '-c', config, '--log-level', 'warn'], /ready in \d+ ms/, { env: { VOICEBOT_LOG: 'info' } });
    try {
      await Promise.all([json.ready.then(() => json.child.kill('SIGTERM')), quiet.ready.then(() => quiet.child.kill('SIGTERM'))]);
      await Promise.all([json.exited, quiet.exited]);
    } finally {
      json.child.kill('SIGTERM');
      quiet.child.kill('SIGTERM');
    }
    const logLines = json.output().stderr.split('\n').filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.slot === 'telephony')).toMatchObject({ level: 30, slot: 'telephony', provider: 'local', msg: expect.stringContaining('softphone: open http://127.0.0.1:') });

    expect(quiet.output().stderr).not.toContain('"level":30');
    expect(quiet.output().stderr).toMatch(/^voicebot ready in/m);
  }, 120_000);

  it('an unknown --log-level is a usage error; an unknown VOICEBOT_LOG is reported once and info is used', async ({ expect }) => {
    const r = await cliAsync(['validate', '-c', config, '--log-level=loud']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error VB_ERR_CLI_USAGE --log-level must be one of fatal, error, warn, info, debug, trace, silent, not "loud"/);
    const p = cliBackground(['run', '-c', config], /ready in \d+ ms/, { env: { VOICEBOT_LOG: 'loud' } });
    await p.ready;
    p.child.kill('SIGTERM');
    await p.exited;
    expect(p.output().stderr).toContain('log level \\"loud\\" is unknown (VOICEBOT_LOG or --log-level); using info');
  }, 120_000);
});
