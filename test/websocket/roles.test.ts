/**
 * `voicebot run --role edge` and `--role worker` as two real processes,
 * connected by the WebSocket audio-stream. The edge's telephony is
 * fixtures/stdin-line.mjs: the mock line (G.711) driven over the edge
 * process's stdin/stdout, since nothing outside a process can place a call
 * on the built-in mock. The worker runs the flow with the mock STT/TTS, so
 * what the caller hears is checked by decoding real audio.
 *
 * Needs the build: `npx tsc -p .` (npm test builds first).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUARD_MS, LINE, MAIN, ROOT, TOKEN, placeCall, runVoicebot, stopProc, when, type Proc } from '../fleet/procs.js';

const tmp = mkdtempSync(join(tmpdir(), 'voicebot-roles-'));
const procs: Proc[] = [];

function run(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const p = runVoicebot(name, args, env);
  procs.push(p);
  return p;
}

function flowYaml(): string[] {
  return [
    'stt: { provider: mock }',
    'tts: { provider: mock }',
    'settings:',
    '  timeouts: { endOfSpeech: 300ms, noInput: 60s }',
    'routes:',
    '  - { to: "+15550123", flow: main }',
    'flows:',
    '  main:',
    '    steps:',
    '      greet: { say: "Hi." }',
    '      ask:',
    '        listen: { input: [speech, dtmf], numDigits: 1 }',
    '        save: answer',
    '        routes: [ { dtmf: "1", goto: one } ]',
    '        else: echo',
    '      echo: { say: "You said {{answer}}.", next: bye }',
    '      one: { say: "One.", next: bye }',
    '      bye: { hangup: "Bye." }',
    '',
  ];
}

function writeWorkerConfig(port: number): string {
  const file = join(tmp, `worker-${port}.yaml`);
  writeFileSync(
    file,
    [
      'version: 1',
      'plugins:',
      `  audioStream: { provider: websocket, token: "\${VOICEBOT_STREAM_TOKEN}", listen: { host: 127.0.0.1, port: ${port} } }`,
      ...flowYaml().map((l, i) => (i < 2 ? `  ${l}` : l)),
    ].join('\n'),
  );
  return file;
}

function writeEdgeConfig(name: string, workerUrl: string): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'version: 1',
      'plugins:',
      `  telephony: { provider: ${JSON.stringify(LINE)} }`,
      `  audioStream: { provider: websocket, url: ${JSON.stringify(workerUrl)}, token: "\${VOICEBOT_STREAM_TOKEN}", reconnectGraceMs: 1000 }`,
      ...flowYaml().map((l, i) => (i < 2 ? `  ${l}` : l)),
    ].join('\n'),
  );
  return file;
}

async function startWorkerProc(port: number): Promise<{ proc: Proc; url: string }> {
  const proc = run(`worker:${port}`, ['--role', 'worker', '-c', writeWorkerConfig(port)]);
  const url = await when([proc], () => /worker listening on (ws:\/\/\S+)/.exec(proc.output().stdout)?.[1], 'the worker URL on stdout');
  return { proc, url };
}

async function startEdgeProc(name: string, workerUrl: string, env: Record<string, string> = {}): Promise<Proc> {
  const proc = run(name, ['--role', 'edge', '--json', '-c', writeEdgeConfig(name, workerUrl)], env);
  await proc.next((e) => e.ev === 'line.ready', 'the line fixture');
  await when([proc], () => /ready in \d+ ms \(edge/.test(proc.output().stderr), 'edge ready');
  return proc;
}

/** Places a call on the edge's line; resolves once answered. */
const call = placeCall;

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `npx tsc -p .` (npm test builds first)');
});

afterAll(async () => {
  // Every child goes, whatever happened in the tests.
  await Promise.all(
    procs.map(async (p) => {
      const guard = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
      await stopProc(p);
      clearTimeout(guard);
    }),
  );
  rmSync(tmp, { recursive: true, force: true });
}, 60_000);

describe('voicebot run --role edge / --role worker (two processes, WebSocket audio-stream)', () => {
  let worker: { proc: Proc; url: string };
  let port: number;
  let edge: Proc;

  beforeAll(async () => {
    worker = await startWorkerProc(0);
    port = Number(new URL(worker.url).port);
    expect(port).toBeGreaterThan(0);
    edge = await startEdgeProc('edge', worker.url);
  }, 600_000);

  it.concurrent('completes a call: the caller hears the worker flow and is understood', async ({ expect }) => {
    const c = await call(edge);
    await c.heard('Hi.');
    c.say('sky');
    await c.heard('You said sky.');
    await c.heard('Bye.');
    expect((await c.ended()).reason).toBe('bot-hangup');
    const ev = await edge.next((e) => e.type === 'stream.ended' && e.reason === 'bot-hangup', 'stream.ended');
    expect(ev.code).toBeUndefined();
    expect(edge.events.find((e) => e.type === 'stream.started' && e.callId === ev.callId)).toMatchObject({ flow: 'main', url: worker.url });
  }, 600_000);

  it.concurrent('an edge with the wrong token is refused (401) and ends its call with VB_ERR_WS_AUTH', async ({ expect }) => {
    const bad = await startEdgeProc('edge-bad-token', worker.url, { VOICEBOT_STREAM_TOKEN: 'this-is-not-the-token' });
    const c = await call(bad);
    expect((await c.ended()).reason).toBe('error');
    const ev = await bad.next((e) => e.type === 'stream.ended', 'stream.ended');
    expect(ev).toMatchObject({ reason: 'error', code: 'VB_ERR_WS_AUTH' });
    expect(ev.message).toContain('401');
    expect(await stopProc(bad)).toBe(0);
  }, 600_000);

  it('worker killed mid-call: the edge ends that call with VB_ERR_WS_STREAM_LOST and takes the next call once a worker is back', async () => {
    const c = await call(edge);
    await c.heard('Hi.');
    worker.proc.child.kill('SIGKILL');
    await worker.proc.exited;
    expect((await c.ended()).reason).toBe('error');
    const lost = await edge.next((e) => e.type === 'stream.ended' && e.code, 'coded stream.ended');
    expect(lost).toMatchObject({ reason: 'error', code: 'VB_ERR_WS_STREAM_LOST' });
    expect(edge.child.exitCode).toBeNull();

    // A worker comes back on the same address; the same edge takes the next call.
    worker = await startWorkerProc(port);
    const next = await call(edge);
    await next.heard('Hi.');
    edge.send({ cmd: 'dtmf', tag: next.tag, digits: '1' });
    await next.heard('One.');
    expect((await next.ended()).reason).toBe('bot-hangup');
  }, 600_000);

  it('both stop cleanly on SIGTERM', async () => {
    expect(await stopProc(edge)).toBe(0);
    expect(await stopProc(worker.proc)).toBe(0);
    expect(edge.output().stderr).toContain('stopping');
  }, 600_000);
});

describe.concurrent('voicebot run --role: refusals', { timeout: 600_000 }, () => {
  /** One `voicebot run` that must exit by itself: its status and stderr (spawned, so the tests run at once). */
  const runToExit = (args: string[]): Promise<{ status: number | null; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [MAIN, 'run', ...args], {
        cwd: ROOT,
        env: { ...process.env, VOICEBOT_LOG: 'silent', VOICEBOT_STREAM_TOKEN: TOKEN },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const guard = setTimeout(() => child.kill('SIGKILL'), GUARD_MS); // hang guard only
      child.on('error', reject);
      child.on('close', (status) => {
        clearTimeout(guard);
        resolve({ status, stderr });
      });
    });
  const config = (name: string, audioStream: string): string => {
    const file = join(tmp, name);
    writeFileSync(file, ['version: 1', 'plugins:', '  telephony: { provider: mock }', `  audioStream: ${audioStream}`, ...flowYaml().map((l, i) => (i < 2 ? `  ${l}` : l))].join('\n'));
    return file;
  };

  it('an unknown role is a usage error (exit 2)', async ({ expect }) => {
    const r = await runToExit(['--role', 'middle', '-c', config('u.yaml', '{ provider: inprocess }')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error VB_ERR_CLI_USAGE --role must be one of all, edge, worker/);
  });

  it('edge/worker need the websocket stream; an edge needs its url', async ({ expect }) => {
    const [w, e] = await Promise.all([
      runToExit(['--role', 'worker', '-c', config('i.yaml', '{ provider: inprocess }')]),
      runToExit(['--role', 'edge', '-c', config('n.yaml', '{ provider: websocket, token: "${VOICEBOT_STREAM_TOKEN}" }')]),
    ]);
    expect(w.status).toBe(1);
    expect(w.stderr).toMatch(/error VB_ERR_WS_ROLE `voicebot run --role worker` needs a remote audio stream/);
    expect(e.status).toBe(1);
    expect(e.stderr).toMatch(/VB_ERR_WS_ROLE .*needs plugins\.audioStream\.url/);
  });

  it('a worker whose port is taken exits 1 with VB_ERR_WS_LISTEN', async ({ expect }) => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const r = await runToExit(['--role', 'worker', '-c', writeWorkerConfig(taken)]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('VB_ERR_WS_LISTEN');
      expect(r.stderr).toContain(`127.0.0.1:${taken}`);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
