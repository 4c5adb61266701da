import '../entry/builtins.js'; // the built-in providers, as the CLI registers them
import { fileURLToPath } from 'node:url';
import { VoicebotApp } from '../core/app/app.js';
import { loadConfigText } from '../core/config/load.js';
import type { CallEvent } from '../core/engine/events.js';
import { silentLogger } from '../core/logging.js';
import { createDefaultRegistry } from '../core/plugins/registry.js';
import { MockTelephony } from '../plugins/mock/telephony.js';
import { SimCaller, runTicker } from './sim-caller.js';
import { percentile, round, table } from './stats.js';

const END_OF_SPEECH_MS = 200;

const CONFIG = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock, script: [ { reply: "Ok." } ] }
  tts: { provider: mock }
settings:
  bargeIn: { enabled: false }
  timeouts: { endOfSpeech: ${END_OF_SPEECH_MS}ms, noInput: 60s, maxCall: 1h }
flows:
  main:
    steps:
      talk: { llm: { system: "bench", maxTurns: 100000 } }
`;

export interface LatencyRow {
  metric: string;
  turns: number;
  p50Ms: number;
  p99Ms: number;
  target?: string;
}

/**
 * Framework latency per turn with zero-latency mock services: what is left of
 * "caller stopped → bot audio on the wire" once the configured endpointing
 * delay is taken out is all ours.
 */
export async function runLatencyBench(opts: { quick: boolean }): Promise<LatencyRow[]> {
  const calls = opts.quick ? 20 : 20;
  const turnsPerCall = opts.quick ? 5 : 50;
  const { config } = await loadConfigText(CONFIG, '/bench/latency.yaml', { env: {}, registry: createDefaultRegistry() });
  const tel = new MockTelephony('mock', { codec: 'pcmu' });
  const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
  const metrics: Extract<CallEvent, { type: 'turn.metrics' }>[] = [];
  const byCall = new Map<string, SimCaller>();
  app.onEvent((e) => {
    if (e.type === 'turn.metrics') metrics.push(e);
    // Endpointing decided: the caller's last written frame is the trigger.
    else if (e.type === 'caller.said') byCall.get(e.callId)?.endpointed();
  });
  await app.start();
  const callers: SimCaller[] = [];
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const side = tel.placeCall();
    await side.answered;
    const c = new SimCaller(side, 'hi', 0, 0, t0 + 200 + i * 37, turnsPerCall);
    byCall.set(side.callId, c);
    callers.push(c);
  }
  const deadline = performance.now() + (opts.quick ? 60_000 : 300_000);
  await runTicker(callers, () => callers.every((c) => c.done) || performance.now() > deadline);
  await app.stop();
  const lat = callers.flatMap((c) => c.stats.latencies);
  const early = callers.reduce((n, c) => n + c.stats.early, 0);
  if (early > 0) throw new Error(`${early} replies started before the engine reported the endpoint: the measurement is invalid`);
  const overhead = metrics.map((m) => m.overheadMs ?? 0);
  const e2e = metrics.map((m) => (m.e2eMs ?? 0) - (m.endOfUtteranceMs ?? 0));
  const row = (metric: string, xs: (number | undefined)[]): LatencyRow => {
    const v = xs.filter((x): x is number => x !== undefined);
    return { metric, turns: v.length, p50Ms: round(percentile(v, 50)), p99Ms: round(percentile(v, 99)) };
  };
  return [
    { metric: 'caller frame completing endpointing → first bot frame at caller', turns: lat.length, p50Ms: round(percentile(lat, 50)), p99Ms: round(percentile(lat, 99)), target: 'p99 < 5' },
    { metric: 'engine e2e minus endpointing (turn.metrics)', turns: e2e.length, p50Ms: round(percentile(e2e, 50)), p99Ms: round(percentile(e2e, 99)) },
    row('LLM first token → TTS request', metrics.map((m) => m.llmToTtsMs)),
    row('TTS first chunk → first paced frame', metrics.map((m) => m.ttsToWireMs)),
    { metric: 'engine overheadMs (e2e − eou − stt − ttft − ttfb)', turns: overhead.length, p50Ms: round(percentile(overhead, 50)), p99Ms: round(percentile(overhead, 99)) },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(table((await runLatencyBench({ quick: process.argv.includes('--quick') })) as never));
}
