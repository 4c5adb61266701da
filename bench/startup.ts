import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, round } from './stats.js';

const BIN = fileURLToPath(new URL('../../core/cli/bin.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function timeUntil(args: string[], done: (stderr: string, exited: boolean) => boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, VOICEBOT_LOG: 'silent' } });
    let err = '';
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      const ms = performance.now() - t0;
      child.kill('SIGTERM');
      resolve(ms);
    };
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (done(err, false)) finish();
    });
    child.stdout.resume();
    child.on('exit', (code) => {
      if (done(err, true)) finish();
      else if (!settled) reject(new Error(`voicebot ${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

export interface StartupResult {
  name: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

function nodeAlone(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['-e', '0']);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`node -e 0 exited ${code}`))));
  });
}

/** Wall time of `voicebot validate` and of `voicebot run` until its ready line, beside Node's own start. */
export async function runStartupBench(opts: { quick: boolean }): Promise<StartupResult[]> {
  const runs = opts.quick ? 3 : 9;
  const out: StartupResult[] = [];
  const node: number[] = [];
  for (let i = 0; i < runs; i++) node.push(await nodeAlone());
  out.push({ name: 'node -e 0 (Node itself)', medianMs: round(median(node), 1), minMs: round(Math.min(...node), 1), maxMs: round(Math.max(...node), 1), runs });
  const cases: [string, string[], (e: string, exited: boolean) => boolean][] = [
    ['voicebot validate (shipped config)', ['validate'], (_e, exited) => exited],
    ['voicebot run → ready', ['run'], (e) => /ready in/.test(e)],
  ];
  for (const [name, args, done] of cases) {
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) ms.push(await timeUntil(args, done));
    out.push({ name, medianMs: round(median(ms), 1), minMs: round(Math.min(...ms), 1), maxMs: round(Math.max(...ms), 1), runs });
  }
  return out;
}
