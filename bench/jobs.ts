import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Modelled provider delays, ms (see plugins/mock/README.md). */
export interface Delays {
  sttMs: number;
  llmFirstMs: number;
  llmTokenMs: number;
  ttsFirstMs: number;
}

/** The delays the README's voice-to-voice figures use. */
export const MODELLED: Delays = { sttMs: 200, llmFirstMs: 350, llmTokenMs: 20, ttsFirstMs: 150 };

export interface TurnsJob {
  mode: 'turns';
  calls: number;
  turns: number;
  endOfSpeechMs: number;
  delays?: Delays;
  /** LiveKit: preemptive generation. voicebot: see `turn`. */
  preemptive?: boolean;
  timeoutMs: number;
  /** LiveKit only: the fake STT sends its interims as PREFLIGHT_TRANSCRIPT (a provider with an eager end-of-turn signal). */
  preflight?: boolean;
  /** What each simulated caller says per turn (default "hi"). */
  callerText?: string;
  /** STT shape: streaming (final `delays.sttMs` after the audio that completed it; default) or batch (whole utterance after the endpoint, answered `delays.sttMs` later). */
  stt?: 'streaming' | 'batch';
  /** voicebot only: `settings.turn` (word-aware endpointing, preemptive reply); absent = the fixed `endOfSpeech` timer. */
  turn?: { minEndpointMs: number; maxEndpointMs: number; preemptive?: boolean };
}

export interface Breakdown {
  /** Caller's last speech sample → first bot sample at the caller. */
  total: number;
  endpointing: number;
  stt: number;
  llm: number;
  tts: number;
  framework: number;
}

export interface TurnsResult {
  /** Endpoint due → first bot frame at the caller, ms per turn. */
  framework: number[];
  /** Caller's last speech sample → first bot frame at the caller, ms per turn. */
  v2v: number[];
  breakdown: Breakdown[];
  /** Replies that began before the endpoint was reported (the trigger is invalid if > 0). */
  early: number;
  /** voicebot: turns whose reply used an LLM generation started before the endpoint (turn.metrics `preemptive`). */
  preemptiveTurns?: number;
  /** Set instead of figures when the job could not run as asked (e.g. the config does not validate on this tree). */
  skipped?: string;
}

/** Barge-in on labelled audio (bench/turns-barge.ts): one process, each VAD in turn. */
export interface BargeJob {
  mode: 'barge';
  /** `vad` provider names to measure. */
  vads: string[];
  quick: boolean;
  timeoutMs: number;
}

export interface ConcurrencyJob {
  mode: 'concurrency';
  calls: number;
  warmupMs: number;
  measureMs: number;
  turnEveryMs: number;
  endOfSpeechMs: number;
}

export type Who = 'ours' | 'livekit';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OURS = fileURLToPath(new URL('./ours-child.js', import.meta.url));
export const LIVEKIT_DIR = `${ROOT}/bench/peers/livekit`;

/** Runs one job in a fresh Node process and returns its JSON answer. */
export function runJob<T>(who: Who, job: TurnsJob | ConcurrencyJob | BargeJob, timeoutMs: number): Promise<T> {
  const entry = who === 'ours' ? OURS : `${LIVEKIT_DIR}/run.mjs`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', entry, JSON.stringify(job)], {
      cwd: who === 'ours' ? ROOT : LIVEKIT_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`${who} ${job.mode} (${'calls' in job ? job.calls : ''} calls) exited ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      }
    });
  });
}

/** `--peers`: installs bench/peers/livekit on first use (its own package.json; nothing in the root's dependencies). */
export function ensureLivekit(): void {
  if (existsSync(`${LIVEKIT_DIR}/node_modules/@livekit/agents`)) return;
  process.stdout.write('installing bench/peers/livekit (npm install, first --peers run only)…\n');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: LIVEKIT_DIR, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm install in bench/peers/livekit failed (exit ${r.status}): run it by hand to see why`);
}
