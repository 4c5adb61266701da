/**
 * The ops endpoints and the SIGTERM drain of a real `voicebot run` (role all),
 * with a call placed on the stdin line fixture: /healthz, /readyz and
 * /metrics over HTTP, readiness flipping at SIGTERM, a live call finishing
 * during the drain, the polite end after drainTimeout, a second SIGTERM.
 * Each test has its own process, so they run at once.
 */
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from 'vitest';
import { LINE, MAIN, get, when, placeCall, runVoicebot, sample, stopProc, tmpDir, urlOf, writeFile, type Proc } from './procs.js';

const tmp = tmpDir('voicebot-ops-');
const procs: Proc[] = [];

function config(name: string, drainTimeout: string): string {
  return writeFile(tmp, `${name}.yaml`, [
    'version: 1',
    'plugins:',
    `  telephony: { provider: ${JSON.stringify(LINE)} }`,
    '  stt: { provider: mock }',
    '  llm: { provider: mock }',
    '  tts: { provider: mock }',
    'settings:',
    '  timeouts: { endOfSpeech: 300ms, noInput: 60s }',
    '  ops: { port: 0 }',
    `  fleet: { drainTimeout: ${drainTimeout}, drainMessage: "Closing now." }`,
    'flows:',
    '  main:',
    '    steps:',
    '      greet: { say: "Hi." }',
    '      chat:',
    '        llm: { system: "Be brief.", maxTurns: 1, exits: [ { maxTurns: true, goto: bye } ] }',
    '      bye: { hangup: "Bye." }',
  ]);
}

async function start(name: string, drainTimeout: string): Promise<{ proc: Proc; ops: string }> {
  const proc = runVoicebot(name, ['--json', '-c', config(name, drainTimeout)]);
  procs.push(proc);
  await proc.next((e) => e.ev === 'line.ready', 'the line fixture');
  return { proc, ops: await urlOf(proc, 'ops.listening') };
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `npx tsc -p .` (npm test builds first)');
});

afterAll(async () => {
  await Promise.all(procs.map((p) => stopProc(p, 'SIGKILL')));
  rmSync(tmp, { recursive: true, force: true });
});

describe.concurrent('ops HTTP endpoints and drain (voicebot run, role all)', () => {
  it('answers /healthz, /readyz and /metrics with the call counted; SIGTERM drains: readiness false, the live call finishes, exit 0', async ({ expect }) => {
    const { proc, ops } = await start('all', '1m');
    expect(await get(`${ops}/healthz`)).toEqual({ status: 200, text: 'ok\n' });
    const ready = await get(`${ops}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ ready: true, reasons: [] });
    expect((await get(`${ops}/nope`)).status).toBe(404);

    // One complete call: a turn with STT, LLM and TTS.
    const c1 = await placeCall(proc);
    await c1.heard('Hi.');
    const during = (await get(`${ops}/metrics`)).text;
    expect(sample(during, 'voicebot_active_calls')).toBe(1);
    c1.say('sky');
    await c1.ended();
    const m = (await get(`${ops}/metrics`)).text;
    expect(sample(m, 'voicebot_active_calls')).toBe(0);
    expect(sample(m, 'voicebot_calls_total', { outcome: 'bot-hangup' })).toBe(1);
    expect(sample(m, 'voicebot_turn_latency_seconds_count', { stage: 'voice_to_voice' })).toBeGreaterThanOrEqual(1);
    const v2v = sample(m, 'voicebot_turn_latency_seconds_sum', { stage: 'voice_to_voice' })!;
    expect(v2v).toBeGreaterThan(0);
    expect(v2v).toBeLessThan(30);
    expect(sample(m, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
    expect(sample(m, 'voicebot_pacer_lateness_seconds', { quantile: '0.99' })).toBeGreaterThanOrEqual(0);
    expect(m).toContain('# TYPE voicebot_provider_errors_total counter');

    // A live call when SIGTERM arrives: readiness drops at once, the call goes on and ends by itself.
    const c2 = await placeCall(proc);
    await c2.heard('Hi.');
    proc.child.kill('SIGTERM');
    await expectReadyzDraining(expect, proc, ops);
    expect(sample((await get(`${ops}/metrics`)).text, 'voicebot_draining')).toBe(1);
    c2.say('tea');
    expect((await c2.ended()).reason).toBe('bot-hangup');
    expect(await proc.exited).toBe(0);
    expect(proc.output().stderr).toMatch(/drain done: every call finished/);
  }, 600_000);

  it('after drainTimeout the caller hears the drain line and the call ends; exit 0', async ({ expect }) => {
    const { proc, ops } = await start('timeout', '1s');
    const c = await placeCall(proc);
    await c.heard('Hi.');
    proc.child.kill('SIGTERM');
    await expectReadyzDraining(expect, proc, ops);
    await c.heard('Closing now.');
    expect((await c.ended()).reason).toBe('shutdown');
    expect(await proc.exited).toBe(0);
    expect(proc.output().stderr).toMatch(/drain timed out/);
  }, 600_000);

  it('a second SIGTERM ends the drain at once', async ({ expect }) => {
    const { proc } = await start('twice', '10m');
    const c = await placeCall(proc);
    await c.heard('Hi.');
    proc.child.kill('SIGTERM');
    await drainStarted(proc);
    expect(proc.output().stderr).toMatch(/draining: 1 live call/);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    // Cut short, not waited out: the call (silent, with 10 minutes of drain left) was ended by the stop, not by itself.
    expect(proc.output().stderr).toMatch(/drain cut short/);
    expect(proc.output().stderr).not.toMatch(/drain (done|timed out)/);
    expect((await c.ended()).reason).toBe('shutdown');
  }, 600_000);
});

/** The process prints its drain line right after it marked itself draining. */
function drainStarted(proc: Proc): Promise<unknown> {
  return when([proc], () => /draining: \d+ live call/.test(proc.output().stderr), `${proc.name}: the drain to start`);
}

async function expectReadyzDraining(expect: ExpectStatic, proc: Proc, ops: string): Promise<void> {
  await drainStarted(proc);
  const r = await get(`${ops}/readyz`);
  expect(r.status).toBe(503);
  expect(JSON.parse(r.text).reasons).toContain('draining');
}
