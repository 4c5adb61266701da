import '../entry/builtins.js'; // the built-in providers, as the CLI registers them
import { VoicebotApp } from '../core/app/app.js';
import { loadConfigText } from '../core/config/load.js';
import type { CallEvent } from '../core/engine/events.js';
import { silentLogger } from '../core/logging.js';
import { createDefaultRegistry } from '../core/plugins/registry.js';
import { MockTelephony } from '../plugins/mock/telephony.js';
import { SimCaller, WireStats, runTicker } from './sim-caller.js';
import { measureWindow } from './window.js';
import { MODELLED, type Delays, type TurnsJob, type TurnsResult, type ConcurrencyJob, type Breakdown } from './jobs.js';

/**
 * voicebot's side of every bench that is compared with a peer, run in a child
 * process (bench/jobs.ts starts it) so each measurement starts from a fresh
 * heap: node dist/bench/ours-child.js '<json job>' → one JSON line.
 */
const REPLY = 'Okay, noted.';

function config(d: Delays, endOfSpeechMs: number, bargeIn: boolean): string {
  return `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock, latencyMs: ${d.sttMs} }
  llm: { provider: mock, latencyMs: ${d.llmFirstMs}, tokenDelayMs: ${d.llmTokenMs}, script: [ { reply: "${REPLY}" } ] }
  tts: { provider: mock, latencyMs: ${d.ttsFirstMs} }
settings:
  bargeIn: { enabled: ${bargeIn} }
  timeouts: { endOfSpeech: ${endOfSpeechMs}ms, noInput: 60s, maxCall: 1h }
flows:
  main:
    steps:
      talk: { llm: { system: "bench", maxTurns: 100000 } }
`;
}

const ZERO: Delays = { sttMs: 0, llmFirstMs: 0, llmTokenMs: 0, ttsFirstMs: 0 };

async function app(d: Delays, endOfSpeechMs: number, bargeIn = false): Promise<{ app: VoicebotApp; tel: MockTelephony }> {
  const { config: c } = await loadConfigText(config(d, endOfSpeechMs, bargeIn), '/bench/ours.yaml', { env: {}, registry: createDefaultRegistry() });
  const tel = new MockTelephony('mock', { codec: 'pcmu' });
  const a = await VoicebotApp.create({ config: c!, logger: silentLogger(), overrides: { telephony: tel } });
  await a.start();
  return { app: a, tel };
}

async function runTurns(j: TurnsJob): Promise<TurnsResult> {
  const { app: a, tel } = await app(j.delays ?? ZERO, j.endOfSpeechMs);
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
    const c = new SimCaller(side, 'hi', 0, 0, t0 + 1000 + i * 37, j.turns);
    byCall.set(side.callId, c);
    callers.push(c);
  }
  const deadline = performance.now() + j.timeoutMs;
  await runTicker(callers, () => callers.every((c) => c.done) || performance.now() > deadline);
  await a.stop();
  const breakdown: Breakdown[] = [];
  for (const [callId, c] of byCall) {
    const ms = metrics.get(callId) ?? [];
    const n = Math.min(ms.length, c.stats.fromSpeechEnd.length);
    for (let i = 0; i < n; i++) {
      const m = ms[i];
      const total = c.stats.fromSpeechEnd[i];
      // The engine times from its own speech-end mark; the difference to the caller's is endpointing too.
      const endpointing = total - (m.e2eMs ?? 0) + (m.endOfUtteranceMs ?? 0);
      const stt = Math.max(0, m.sttMs ?? 0);
      // First token, then the tokens that finish the first sentence (llmToTts; our sentence cut in it measures ≈0, see the latency table).
      const llm = (m.llmTtftMs ?? 0) + (m.llmToTtsMs ?? 0);
      const tts = m.ttsTtfbMs ?? 0;
      breakdown.push({ total, endpointing, stt, llm, tts, framework: total - endpointing - stt - llm - tts });
    }
  }
  return {
    framework: callers.flatMap((c) => c.stats.latencies),
    v2v: callers.flatMap((c) => c.stats.fromSpeechEnd),
    breakdown,
    early: callers.reduce((n, c) => n + c.stats.early, 0),
  };
}

async function runConcurrency(j: ConcurrencyJob) {
  // Modelled provider delays, so calls hold state (pending LLM/TTS) as they would; barge-in on (the default), so caller audio is heard while the bot speaks.
  const { app: a, tel } = await app(MODELLED, j.endOfSpeechMs, true);
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

const job = JSON.parse(process.argv[2] ?? '{}') as TurnsJob | ConcurrencyJob;
const out = job.mode === 'concurrency' ? await runConcurrency(job) : await runTurns(job);
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
