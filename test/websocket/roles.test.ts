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
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist/entry/cli.js');
const LINE = fileURLToPath(new URL('./fixtures/stdin-line.mjs', import.meta.url));
const TOKEN = 'roles-test-token-0123456789';
const tmp = mkdtempSync(join(tmpdir(), 'voicebot-roles-'));

interface Proc {
  name: string;
  child: ChildProcessWithoutNullStreams;
  /** JSON lines printed on stdout (call/stream events, the line fixture's events). */
  events: Record<string, any>[];
  output(): { stdout: string; stderr: string };
  exited: Promise<number | null>;
  send(cmd: Record<string, unknown>): void;
  next(pred: (e: Record<string, any>) => boolean, what: string, ms?: number): Promise<Record<string, any>>;
}

const procs: Proc[] = [];

function run(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [MAIN, 'run', ...args], {
    cwd: ROOT,
    env: { ...process.env, VOICEBOT_LOG: 'error', VOICEBOT_STREAM_TOKEN: TOKEN, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const events: Record<string, any>[] = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l.startsWith('{')) events.push(JSON.parse(l));
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const p: Proc = {
    name,
    child,
    events,
    exited,
    output: () => ({ stdout, stderr }),
    send: (cmd) => child.stdin.write(JSON.stringify(cmd) + '\n'),
    next: (pred, what, ms = 30_000) =>
      Promise.race([
        until(() => events.find(pred), `${what} (${name})`, ms),
        exited.then((code) => {
          // A process that dies while we wait fails the test with its output, not a timeout.
          if (events.find(pred)) return events.find(pred)!;
          throw new Error(`${name} exited (${code}) while waiting for ${what}:\n${stderr}`);
        }),
      ]),
  };
  procs.push(p);
  return p;
}

async function stopProc(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
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
    '      greet: { say: "Hello." }',
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
  const url = await until(() => /worker listening on (ws:\/\/\S+)/.exec(proc.output().stdout)?.[1], 'the worker URL on stdout');
  return { proc, url };
}

async function startEdgeProc(name: string, workerUrl: string, env: Record<string, string> = {}): Promise<Proc> {
  const proc = run(name, ['--role', 'edge', '--json', '-c', writeEdgeConfig(name, workerUrl)], env);
  await proc.next((e) => e.ev === 'line.ready', 'the line fixture');
  await until(() => /ready in \d+ ms \(edge/.test(proc.output().stderr), 'edge ready');
  return proc;
}

let seq = 0;
/** Places a call on the edge's line; resolves once answered. */
async function call(edge: Proc): Promise<{ tag: string; heard: (text: string) => Promise<unknown>; ended: () => Promise<Record<string, any>> }> {
  const tag = `c${++seq}`;
  edge.send({ cmd: 'call', tag, to: '+15550123' });
  await edge.next((e) => e.ev === 'answered' && e.tag === tag, `call ${tag} answered`);
  return {
    tag,
    heard: (text) => edge.next((e) => e.ev === 'heard' && e.tag === tag && e.text === text, `"${text}" heard on ${tag}`),
    ended: () => edge.next((e) => e.ev === 'ended' && e.tag === tag, `${tag} ended`),
  };
}

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
});

describe('voicebot run --role edge / --role worker (two processes, WebSocket audio-stream)', () => {
  let worker: { proc: Proc; url: string };
  let port: number;
  let edge: Proc;

  beforeAll(async () => {
    worker = await startWorkerProc(0);
    port = Number(new URL(worker.url).port);
    expect(port).toBeGreaterThan(0);
    edge = await startEdgeProc('edge', worker.url);
  }, 60_000);

  it('completes a call: the caller hears the worker flow and is understood', async () => {
    const c = await call(edge);
    await c.heard('Hello.');
    edge.send({ cmd: 'say', tag: c.tag, text: 'blue sky' });
    await c.heard('You said blue sky.');
    await c.heard('Bye.');
    expect((await c.ended()).reason).toBe('bot-hangup');
    const ev = await edge.next((e) => e.type === 'stream.ended' && e.reason === 'bot-hangup', 'stream.ended');
    expect(ev.code).toBeUndefined();
    expect(edge.events.find((e) => e.type === 'stream.started' && e.callId === ev.callId)).toMatchObject({ flow: 'main', url: worker.url });
  }, 60_000);

  it('an edge with the wrong token is refused (401) and ends its call with VB_ERR_WS_AUTH', async () => {
    const bad = await startEdgeProc('edge-bad-token', worker.url, { VOICEBOT_STREAM_TOKEN: 'this-is-not-the-token' });
    const c = await call(bad);
    expect((await c.ended()).reason).toBe('error');
    const ev = await bad.next((e) => e.type === 'stream.ended', 'stream.ended');
    expect(ev).toMatchObject({ reason: 'error', code: 'VB_ERR_WS_AUTH' });
    expect(ev.message).toContain('401');
    expect(await stopProc(bad)).toBe(0);
  }, 60_000);

  it('worker killed mid-call: the edge ends that call with VB_ERR_WS_STREAM_LOST and takes the next call once a worker is back', async () => {
    const c = await call(edge);
    await c.heard('Hello.');
    worker.proc.child.kill('SIGKILL');
    await worker.proc.exited;
    expect((await c.ended()).reason).toBe('error');
    const lost = await edge.next((e) => e.type === 'stream.ended' && e.code, 'coded stream.ended');
    expect(lost).toMatchObject({ reason: 'error', code: 'VB_ERR_WS_STREAM_LOST' });
    expect(edge.child.exitCode).toBeNull();

    // A worker comes back on the same address; the same edge takes the next call.
    worker = await startWorkerProc(port);
    const next = await call(edge);
    await next.heard('Hello.');
    edge.send({ cmd: 'dtmf', tag: next.tag, digits: '1' });
    await next.heard('One.');
    expect((await next.ended()).reason).toBe('bot-hangup');
  }, 90_000);

  it('both stop cleanly on SIGTERM', async () => {
    expect(await stopProc(edge)).toBe(0);
    expect(await stopProc(worker.proc)).toBe(0);
    expect(edge.output().stderr).toContain('stopping');
  }, 30_000);
});

describe('voicebot run --role: refusals', () => {
  const runSync = (args: string[]) => {
    const r = spawnSync(process.execPath, [MAIN, 'run', ...args], {
      cwd: ROOT,
      env: { ...process.env, VOICEBOT_LOG: 'silent', VOICEBOT_STREAM_TOKEN: TOKEN },
      encoding: 'utf8',
      timeout: 60_000, // hang guard only
    });
    return { status: r.status, stderr: r.stderr };
  };
  const config = (name: string, audioStream: string): string => {
    const file = join(tmp, name);
    writeFileSync(file, ['version: 1', 'plugins:', '  telephony: { provider: mock }', `  audioStream: ${audioStream}`, ...flowYaml().map((l, i) => (i < 2 ? `  ${l}` : l))].join('\n'));
    return file;
  };

  it('an unknown role is a usage error (exit 2)', () => {
    const r = runSync(['--role', 'middle', '-c', config('u.yaml', '{ provider: inprocess }')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error VB_ERR_CLI_USAGE --role must be one of all, edge, worker/);
  });

  it('edge/worker need the websocket stream; an edge needs its url', () => {
    const w = runSync(['--role', 'worker', '-c', config('i.yaml', '{ provider: inprocess }')]);
    expect(w.status).toBe(1);
    expect(w.stderr).toMatch(/error VB_ERR_WS_ROLE `voicebot run --role worker` needs a remote audio stream/);
    const e = runSync(['--role', 'edge', '-c', config('n.yaml', '{ provider: websocket, token: "${VOICEBOT_STREAM_TOKEN}" }')]);
    expect(e.status).toBe(1);
    expect(e.stderr).toMatch(/VB_ERR_WS_ROLE .*needs plugins\.audioStream\.url/);
  });

  it('a worker whose port is taken exits 1 with VB_ERR_WS_LISTEN', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const r = runSync(['--role', 'worker', '-c', writeWorkerConfig(taken)]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('VB_ERR_WS_LISTEN');
      expect(r.stderr).toContain(`127.0.0.1:${taken}`);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
