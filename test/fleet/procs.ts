/**
 * Real `voicebot run` processes for the fleet tests: spawn, read their JSON
 * lines and stderr, drive the stdin line fixture (test/websocket/fixtures),
 * scrape their ops endpoints, start a private redis-server.
 */
import { spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = join(ROOT, 'dist/entry/cli.js');
export const LINE = fileURLToPath(new URL('../websocket/fixtures/stdin-line.mjs', import.meta.url));
export const TOKEN = 'fleet-test-token-0123456789';

/**
 * Hang guard for every wait on a process: generous, since a process started
 * on a saturated machine (many test files at once on 2 cores) can take tens
 * of seconds to print its first line.
 */
export const GUARD_MS = 240_000;

/** Polls `f` until it returns a value; the timeout is only a hang guard. */
export async function until<T>(f: () => T | undefined | false, what: string, ms = GUARD_MS, everyMs = 20): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Proc {
  name: string;
  child: ChildProcessWithoutNullStreams;
  events: Record<string, any>[];
  output(): { stdout: string; stderr: string };
  exited: Promise<number | null>;
  send(cmd: Record<string, unknown>): void;
  /** The first event (seen or future) matching `pred`; rejects when the process closes without one (the timeout is a hang guard). */
  next(pred: (e: Record<string, any>) => boolean, what: string, ms?: number): Promise<Record<string, any>>;
  /** Calls `f` after each batch of new events (and stderr output); returns the unsubscribe. */
  onChange(f: () => void): () => void;
  alive(): boolean;
}

export function runVoicebot(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [MAIN, 'run', ...args], {
    cwd: ROOT,
    env: { ...process.env, VOICEBOT_LOG: 'error', VOICEBOT_STREAM_TOKEN: TOKEN, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  const events: Record<string, any>[] = [];
  const waiters = new Set<{ pred: (e: Record<string, any>) => boolean; done: (e: Record<string, any>) => void }>();
  const changed = new Set<() => void>();
  const notify = (): void => {
    for (const f of [...changed]) f();
  };
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      const ev = JSON.parse(l) as Record<string, any>;
      events.push(ev);
      for (const w of [...waiters]) if (w.pred(ev)) w.done(ev);
    }
    notify();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    notify();
  });
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  // After the exit and the end of stdout/stderr: nothing more can arrive.
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  return {
    name,
    child,
    events,
    exited,
    output: () => ({ stdout, stderr }),
    send: (cmd) => child.stdin.write(JSON.stringify(cmd) + '\n'),
    alive: () => child.exitCode === null && child.signalCode === null,
    onChange: (f) => {
      changed.add(f);
      return () => void changed.delete(f);
    },
    next: (pred, what, ms = GUARD_MS) => {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const finish = (): void => {
          waiters.delete(w);
          clearTimeout(guard);
        };
        const w = {
          pred,
          done: (e: Record<string, any>) => {
            finish();
            resolve(e);
          },
        };
        const guard = setTimeout(() => {
          finish();
          reject(new Error(`timed out waiting for ${what} (${name})`));
        }, ms);
        waiters.add(w);
        void closed.then(() => {
          if (!waiters.has(w)) return;
          finish();
          reject(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) while waiting for ${what}:\n${stderr}`));
        });
      });
    },
  };
}

/**
 * Resolves once `check` holds, evaluated now and after every new event of
 * `procs` (no polling); the timeout is only a hang guard.
 */
export function when<T>(procs: Proc[], check: () => T | undefined | false, what: string, ms = GUARD_MS): Promise<T> {
  const v = check();
  if (v !== undefined && v !== false) return Promise.resolve(v as T);
  return new Promise((resolve, reject) => {
    const offs: (() => void)[] = [];
    const finish = (): void => {
      clearTimeout(guard);
      for (const off of offs) off();
    };
    const guard = setTimeout(() => {
      finish();
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    const test = (): void => {
      const r = check();
      if (r === undefined || r === false) return;
      finish();
      resolve(r as T);
    };
    for (const p of procs) offs.push(p.onChange(test));
  });
}

export async function stopProc(p: { child: ChildProcess; exited: Promise<number | null> }, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
}

/** The URL a process printed on stdout for `type` (stream.listening, ops.listening) in --json mode. */
export async function urlOf(p: Proc, type: string): Promise<string> {
  return (await p.next((e) => e.type === type, type)).url as string;
}

export async function get(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url);
  return { status: r.status, text: await r.text() };
}

/** One sample of a Prometheus text exposition: `name{labels} value`, labels matched as a subset. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

export function tmpDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeFile(dir: string, name: string, lines: string[]): string {
  const f = join(dir, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export const REDIS_SERVER = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();

/** A private redis-server on a free loopback port, no persistence. */
export async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  await until(() => /Ready to accept connections/i.test(out) || child.exitCode !== null, 'redis-server ready');
  if (child.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
  return { url: `redis://127.0.0.1:${port}`, stop: async () => void (await stopProc({ child, exited })) };
}

let seq = 0;
export interface LineCall {
  tag: string;
  /** The call's id on the edge (stream.started/redispatched name it). */
  callId: string;
  heard(text: string, ms?: number): Promise<unknown>;
  ended(ms?: number): Promise<Record<string, any>>;
  say(text: string): void;
  hangup(): void;
}

/** Places a call on an edge's stdin line; resolves once answered. */
export async function placeCall(edge: Proc, to = '+15550123'): Promise<LineCall> {
  const tag = `c${++seq}`;
  edge.send({ cmd: 'call', tag, to });
  const answered = await edge.next((e) => e.ev === 'answered' && e.tag === tag, `call ${tag} answered`);
  return lineCall(edge, tag, answered.callId as string);
}

export function lineCall(edge: Proc, tag: string, callId = ''): LineCall {
  return {
    tag,
    callId,
    heard: (text, ms) => edge.next((e) => e.ev === 'heard' && e.tag === tag && e.text === text, `"${text}" heard on ${tag}`, ms),
    ended: (ms) => edge.next((e) => e.ev === 'ended' && e.tag === tag, `${tag} ended`, ms),
    say: (text) => edge.send({ cmd: 'say', tag, text }),
    hangup: () => edge.send({ cmd: 'hangup', tag }),
  };
}
