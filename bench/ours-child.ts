import '../entry/builtins.js'; // the built-in providers, as the CLI registers them
import type { CallEvent } from '../core/engine/events.js';
import { SimCaller, WireStats, runTicker } from './sim-caller.js';
import { measureWindow } from './window.js';
import { app, ConfigRefused, ZERO } from './ours-app.js';
import { MODELLED, type BargeJob, type TurnsJob, type TurnsResult, type ConcurrencyJob, type Breakdown } from './jobs.js';

/**
 * voicebot's side of every bench that is compared with a peer, run in a child
 * process (bench/jobs.ts starts it) so each measurement starts from a fresh
 * heap: node dist/bench/ours-child.js '<json job>' → one JSON line.
 */
async function runTurns(j: TurnsJob): Promise<TurnsResult> {
  let started: Awaited<ReturnType<typeof app>>;
  try {
    started = await app(j.delays ?? ZERO, { endOfSpeechMs: j.endOfSpeechMs, bargeIn: false, turn: j.turn }, j.stt);
  } catch (e) {
    if (e instanceof ConfigRefused) return { framework: [], v2v: [], breakdown: [], early: 0, skipped: `config refused on this tree: ${e.message}` };
    throw e;
  }
  const { app: a, tel } = started;
  const metrics = new Map<string, Extract<CallEvent, { type: 'turn.metrics' }>[]>();
  const byCall = new Map<string, SimCaller>();
  a.onEvent((e) => {
    if (e.type === 'turn.metrics') {
      const l = metrics.get(e.callId) ?? [];
      l.push(e);
      metrics.set(e.callId, l);
    }
    // Endpointing decided: the caller's last written frame is the trigger.
    else if (e.type === 'caller.said') byCall.get(e.callId)?.endpointed();
  });
  const callers: SimCaller[] = [];
  const t0 = performance.now();
  for (let i = 0; i < j.calls; i++) {
    const side = tel.placeCall();
    await side.answered;
    const c = new SimCaller(side, j.callerText ?? 'hi', 0, 0, t0 + 1000 + i * 37, j.turns);
    byCall.set(side.callId, c);
    callers.push(c);
  }
  const deadline = performance.now() + j.timeoutMs;
  await runTicker(callers, () => callers.every((c) => c.done) || performance.now() > deadline);
  await a.stop();
  const breakdown: Breakdown[] = [];
  let preemptiveTurns = 0;
  for (const [callId, c] of byCall) {
    const ms = metrics.get(callId) ?? [];
    const n = Math.min(ms.length, c.stats.fromSpeechEnd.length);
    for (let i = 0; i < n; i++) {
      const m = ms[i];
      // Present once the engine has preemptive replies (settings.turn.preemptive).
      if ((m as { preemptive?: boolean }).preemptive) preemptiveTurns++;
      const total = c.stats.fromSpeechEnd[i];
      // The engine times from its own speech-end mark; the difference to the caller's is endpointing too.
      const endpointing = total - (m.e2eMs ?? 0) + (m.endOfUtteranceMs ?? 0);
      const stt = Math.max(0, m.sttMs ?? 0);
      // First token, then the tokens that finish the first sentence (llmToTts; our sentence cut in it measures ≈0, see the latency table).
      const tts = m.ttsTtfbMs ?? 0;
      // A preemptive reply may start the model before the turn is ready: only its time after that is on the critical path.
      const llm = Math.max(0, Math.min((m.llmTtftMs ?? 0) + (m.llmToTtsMs ?? 0), total - endpointing - stt - tts));
      breakdown.push({ total, endpointing, stt, llm, tts, framework: total - endpointing - stt - llm - tts });
    }
  }
  return {
    framework: callers.flatMap((c) => c.stats.latencies),
    v2v: callers.flatMap((c) => c.stats.fromSpeechEnd),
    breakdown,
    early: callers.reduce((n, c) => n + c.stats.early, 0),
    preemptiveTurns,
  };
}

async function runConcurrency(j: ConcurrencyJob) {
  // Modelled provider delays, so calls hold state (pending LLM/TTS) as they would; barge-in on (the default), so caller audio is heard while the bot speaks.
  const { app: a, tel } = await app(MODELLED, { endOfSpeechMs: j.endOfSpeechMs, bargeIn: true });
  return measureWindow({
    calls: j.calls,
    warmupMs: j.warmupMs,
    measureMs: j.measureMs,
    turnEveryMs: j.turnEveryMs,
    wire: new WireStats(),
    // The simulated callers and the mock line and services (absolute: the checkout itself may sit under a folder named bench).
    profileSimUrls: [new URL('./', import.meta.url).href, new URL('../plugins/mock/', import.meta.url).href],
    place: async () => tel.placeCall(),
    stop: () => a.stop(),
  });
}

const job = JSON.parse(process.argv[2] ?? '{}') as TurnsJob | ConcurrencyJob | BargeJob;
const out =
  job.mode === 'concurrency' ? await runConcurrency(job) : job.mode === 'barge' ? await (await import('./turns-barge.js')).runBarge(job) : await runTurns(job);
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
