import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../core/logging.js';
import type { IncomingCall } from '../core/plugins/telephony.js';
import { MockTelephony } from '../plugins/mock/telephony.js';
import { WebSocketAudioStream } from '../plugins/websocket/index.js';
import { SimCaller, runTicker } from './sim-caller.js';
import { round, table } from './stats.js';

/**
 * Calls per machine with 1 vs 2 worker processes: real `voicebot run --role
 * worker` processes (mock services with realistic latencies), calls streamed
 * to them round-robin by an edge in this process (real EdgeStreams, real
 * WebSockets, simulated callers on a mock μ-law line). Worker CPU is read from
 * /proc; the edge and the callers run here and are reported apart.
 */
const TOKEN = 'bench-fleet-token-0123456789';
const MAIN = fileURLToPath(new URL('../entry/cli.js', import.meta.url));
const TICKS = 100; // USER_HZ on Linux

const WORKER_CONFIG = (dir: string): string => {
  const f = join(dir, 'worker.yaml');
  writeFileSync(
    f,
    `version: 1
plugins:
  audioStream: { provider: websocket, token: ${TOKEN}, listen: { host: 127.0.0.1, port: 0 } }
  stt: { provider: mock }
  llm: { provider: mock, latencyMs: 300, script: [ { reply: "Okay, noted." } ] }
  tts: { provider: mock, latencyMs: 150 }
settings:
  timeouts: { endOfSpeech: 400ms, noInput: 60s, maxCall: 1h }
  ops: { port: 0 }
flows:
  main:
    steps:
      talk: { llm: { system: "bench", maxTurns: 100000 } }
`,
  );
  return f;
};

interface WorkerProc {
  child: ChildProcessWithoutNullStreams;
  url: string;
  ops: string;
}

async function startWorker(config: string): Promise<WorkerProc> {
  const child = spawn(process.execPath, [MAIN, 'run', '--role', 'worker', '--json', '-c', config], {
    env: { ...process.env, VOICEBOT_LOG: 'error' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.resume();
  const t0 = Date.now();
  for (;;) {
    const url = /"type":"stream.listening","url":"([^"]+)"/.exec(out)?.[1];
    const ops = /"type":"ops.listening","url":"([^"]+)"/.exec(out)?.[1];
    if (url && ops) return { child, url, ops };
    if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`worker did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS; // utime + stime
}

async function lagP99Ms(ops: string): Promise<number> {
  const text = await (await fetch(`${ops}/metrics`)).text();
  const m = /^nodejs_eventloop_lag_p99_seconds\{[^}]*\} (\S+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : NaN;
}

export interface FleetBenchRow {
  workers: number;
  calls: number;
  workerCpuPctOfCore: number;
  workerCpuPctOfCorePerCall: number;
  edgeAndCallersCpuPctOfCore: number;
  workerLagP99Ms: number;
  replyP50Ms: number;
  /** cores × 70% / (worker + edge share per call): calls this machine would hold, CPU-bound. */
  callsPerMachineEstimate: number;
  droppedCalls: number;
}

async function runLevel(workersN: number, n: number, measureMs: number, dir: string): Promise<FleetBenchRow> {
  const config = WORKER_CONFIG(dir);
  const workers = await Promise.all(Array.from({ length: workersN }, () => startWorker(config)));
  // One static-mode edge end per worker, round-robin: a stand-in for the dispatcher that keeps Redis out of the figures.
  const edges = workers.map((w) => {
    const e = new WebSocketAudioStream({ token: TOKEN, url: w.url }, { logger: silentLogger() });
    e.setRole('edge', undefined);
    return e;
  });
  for (const e of edges) await e.start();
  const tel = new MockTelephony({ codec: 'pcmu' });
  const forwards: Promise<unknown>[] = [];
  let next = 0;
  await tel.listen({
    onIncomingCall: (c: IncomingCall) => {
      const e = edges[next++ % workersN];
      forwards.push(c.answer().then((leg) => e.forward(leg, { flow: 'main' })));
    },
  });
  const callers: SimCaller[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) callers.push(new SimCaller(tel.placeCall(), 'hello there', 29, 4000, t0 + 1000 + (i * 4000) / n, Number.MAX_SAFE_INTEGER));
  const warmupEnd = t0 + 4000;
  const end = warmupEnd + measureMs;
  let measuring = false;
  let w0: number[] = [];
  let e0 = process.cpuUsage();
  let wall0 = 0;
  await runTicker(callers, () => {
    const now = performance.now();
    if (!measuring && now >= warmupEnd) {
      measuring = true;
      w0 = workers.map((w) => cpuMs(w.child.pid!));
      e0 = process.cpuUsage();
      wall0 = now;
      for (const w of workers) void lagP99Ms(w.ops); // a scrape resets the lag histogram: measure from here
    }
    return now >= end;
  });
  const wall = performance.now() - wall0;
  const wcpu = workers.map((w, i) => cpuMs(w.child.pid!) - w0[i]).reduce((a, b) => a + b, 0);
  const ecpu = process.cpuUsage(e0);
  const lag = Math.max(...(await Promise.all(workers.map((w) => lagP99Ms(w.ops)))));
  const lat = callers.flatMap((c) => c.stats.latencies).sort((a, b) => a - b);
  const workerPct = (wcpu / wall) * 100;
  const edgePct = ((ecpu.user + ecpu.system) / 1000 / wall) * 100;
  const perCall = (workerPct + edgePct) / n;
  const row: FleetBenchRow = {
    workers: workersN,
    calls: n,
    workerCpuPctOfCore: round(workerPct, 1),
    workerCpuPctOfCorePerCall: round(workerPct / n, 3),
    edgeAndCallersCpuPctOfCore: round(edgePct, 1),
    workerLagP99Ms: round(lag, 1),
    replyP50Ms: lat.length ? round(lat[Math.floor(lat.length / 2)], 0) : NaN,
    callsPerMachineEstimate: Math.floor((cpus().length * 70) / perCall),
    droppedCalls: callers.filter((c) => c.ended).length,
  };
  await tel.stop();
  for (const e of edges) await e.stop();
  await Promise.allSettled(forwards);
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((r) => {
          w.child.once('exit', () => r());
          w.child.kill('SIGKILL');
        }),
    ),
  );
  return row;
}

/**
 * The same number of calls on 1 and on 2 worker processes. On a 2-core
 * machine one Node process uses at most one core for the engine; the ratio of
 * the two estimates is what a second worker process buys.
 */
export async function runFleetBench(opts: { quick: boolean }): Promise<FleetBenchRow[]> {
  const levels = process.env.VB_LEVELS ? process.env.VB_LEVELS.split(',').map(Number) : opts.quick ? [50] : [50, 150];
  const measureMs = opts.quick ? 4000 : 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'voicebot-bench-fleet-'));
  const rows: FleetBenchRow[] = [];
  try {
    for (const n of levels) for (const k of [1, 2]) rows.push(await runLevel(k, n, measureMs, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(table((await runFleetBench({ quick: process.argv.includes('--quick') })) as never));
}
