import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Templates, type TemplateScope } from '../../core/flow/templates.js';
import { ToolRunner } from '../../core/flow/tools.js';
import { VoicebotError } from '../../core/errors/index.js';
import { cli } from '../cli/helpers.js';
import { makeConfig, makeFlow } from './config-helpers.js';
import { FakeSession } from './fake-session.js';

/** A handler that records its signal and never settles, whatever happens to the signal. */
const HANG = `export function hang(args, ctx) { (globalThis.__vbHung ??= []).push(ctx.signal); return new Promise(() => {}); }\n`;

function setup(timeoutMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'vb-hang-'));
  writeFileSync(join(dir, 'hang.js'), HANG);
  const flow = makeFlow('m', [{ name: 'a', kind: 'hangup' }]);
  const config = makeConfig([flow], { dir, tools: { stuck: { description: 'never answers', params: {}, handler: './hang.js#hang', ...(timeoutMs ? { timeoutMs } : {}) } } });
  const session = new FakeSession();
  const scope: TemplateScope = { call: { id: 'c', from: '1', to: '2', direction: 'inbound' }, vars: {}, configVars: {}, tools: {} };
  const runner = new ToolRunner(config, new Templates(config), globalThis.fetch, session, scope);
  return { runner, session, scope };
}

const hung = (): AbortSignal[] => ((globalThis as { __vbHung?: AbortSignal[] }).__vbHung ??= []);

/** Lets the handler module's dynamic import finish (I/O, not timers). */
async function untilHandlerRuns(n: number): Promise<void> {
  for (let i = 0; i < 20_000 && hung().length < n; i++) await new Promise((r) => setImmediate(r));
  expect(hung()).toHaveLength(n);
}

describe('tools: a handler that never resolves never holds the call', () => {
  beforeEach(() => {
    hung().length = 0;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => vi.useRealTimers());

  it('times out after the default 10 s with VB_ERR_TOOL_TIMEOUT, aborting the handler signal', async () => {
    const { runner, session, scope } = setup();
    const ac = new AbortController();
    let settled: unknown;
    const p = runner.run('stuck', '{}', ac.signal).then(
      () => (settled = 'resolved'),
      (e: unknown) => (settled = e),
    );
    await untilHandlerRuns(1);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(settled).toBeUndefined();
    expect(hung()[0].aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(settled).toBeInstanceOf(VoicebotError);
    expect((settled as VoicebotError).code).toBe('VB_ERR_TOOL_TIMEOUT');
    expect(hung()[0].aborted).toBe(true);
    expect(scope.tools.stuck).toEqual({ error: (settled as VoicebotError).message });
    expect(session.events.find((e) => e.type === 'tool.called')).toMatchObject({ name: 'stuck', error: expect.stringMatching(/^VB_ERR_TOOL_TIMEOUT /) });
  });

  it('honours a per-tool timeout', async () => {
    const { runner } = setup(250);
    const p = runner.run('stuck', {}, new AbortController().signal);
    const caught = p.catch((e: unknown) => e);
    await untilHandlerRuns(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(await caught).toMatchObject({ code: 'VB_ERR_TOOL_TIMEOUT', params: { timeoutMs: 250 } });
  });

  it('a hangup (the call signal) frees the run at once, without waiting for the timeout', async () => {
    const { runner } = setup();
    const ac = new AbortController();
    const caught = runner.run('stuck', {}, ac.signal).catch((e: unknown) => e);
    await untilHandlerRuns(1);
    ac.abort(new VoicebotError('VB_ERR_CANCELLED', { what: 'call' }));
    expect(await caught).toMatchObject({ code: 'VB_ERR_CANCELLED' });
    expect(hung()[0].aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});

/** A config whose only tool never answers, with these settings.timeouts and tool timeout. */
function hangConfig(timeouts: string, toolTimeout: string): string {
  return `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  tts: { provider: mock }
  llm:
    provider: mock
    script:
      - { when: "hours", toolCall: { name: stuck } }
      - { afterTool: true, reply: "Sorry." }
settings:
  timeouts: { ${timeouts} }
tools:
  stuck:
    description: never answers
    handler: ./hang.js#hang
    timeout: ${toolTimeout}
flows:
  main:
    steps:
      talk:
        llm: { system: help, tools: [stuck], maxTurns: 1, exits: [ { maxTurns: true, goto: bye } ] }
      bye: { hangup: Bye. }
`;
}

describe('voicebot simulate with a never-resolving tool handler', () => {
  it('the call ends (call.ended) and the process exits 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vb-hang-cli-'));
    writeFileSync(join(dir, 'hang.js'), 'export function hang() { return new Promise(() => {}); }\n');
    writeFileSync(join(dir, 'voicebot.yaml'), hangConfig('noInput: 300ms', '300ms'));
    const r = cli(['simulate', '--say', 'what are your hours', '--json'], { cwd: dir, timeoutMs: 60_000 });
    const events = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; error?: string; reason?: string });
    expect(events.find((e) => e.type === 'tool.called')?.error).toMatch(/^VB_ERR_TOOL_TIMEOUT /);
    expect(events.at(-1)).toMatchObject({ type: 'call.ended' });
    expect(r.status).toBe(0);
  });
});
