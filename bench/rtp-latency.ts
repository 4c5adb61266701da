import '../entry/builtins.js'; // the built-in providers, as the CLI registers them
import { fileURLToPath } from 'node:url';
import { VoicebotApp } from '../core/app/app.js';
import { loadConfigText } from '../core/config/load.js';
import { silentLogger } from '../core/logging.js';
import { createDefaultRegistry } from '../core/plugins/registry.js';
import type { CallerSide, TelephonyPlugin } from '../core/plugins/telephony.js';
import { MockTelephony } from '../plugins/mock/telephony.js';
import { RingCentralTelephony } from '../plugins/ringcentral/index.js';
import { startFakeRingCentral } from '../test/fakes/ringcentral/index.js';
import { placeCallerSide } from '../test/fakes/ringcentral/caller-side.js';
import { pluginOptions } from '../test/ringcentral/helpers.js';
import { SimCaller, runTicker } from './sim-caller.js';
import { percentile, round, table } from './stats.js';

const END_OF_SPEECH_MS = 200;
const VAD_HANGOVER_MS = 200;

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

export interface RtpLatencyRow {
  path: string;
  turns: number;
  /** Caller's last speech frame → first reply frame at the caller (includes VAD hangover + endOfSpeech = 400 ms). */
  p50Ms: number;
  p99Ms: number;
  /** p50 minus the in-process mock line's p50: what the real media path adds. */
  addedP50Ms: number;
  /** The engine's own turn.metrics e2e (its speech-end estimate → first reply frame handed to the leg), p50. */
  engineE2eP50Ms: number;
}

async function measure(
  path: string,
  turns: number,
  quick: boolean,
  setup: () => Promise<{ telephony: TelephonyPlugin; place: () => Promise<CallerSide>; close: () => Promise<void> }>,
): Promise<{ path: string; lat: number[]; engine: number[] }> {
  const rig = await setup();
  const { config } = await loadConfigText(CONFIG, '/bench/rtp.yaml', { env: {}, registry: createDefaultRegistry() });
  const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: rig.telephony } });
  const engine: number[] = [];
  app.onEvent((ev) => {
    if (ev.type === 'turn.metrics' && ev.e2eMs !== undefined) engine.push(ev.e2eMs);
  });
  try {
    await app.start();
    const side = await rig.place();
    await side.answered;
    const caller = new SimCaller(side, 'hi', (VAD_HANGOVER_MS + END_OF_SPEECH_MS) / 20 - 1, 0, performance.now() + 300, turns);
    const deadline = performance.now() + (quick ? 60_000 : 240_000);
    await runTicker([caller], () => caller.done || performance.now() > deadline, 1);
    side.hangup();
    return { path, lat: caller.stats.fromSpeechEnd, engine };
  } finally {
    await app.stop();
    await rig.close();
  }
}

/**
 * The real media path: caller RTP → fake RingCentral media → werift in the
 * RingCentral plugin → engine (zero-latency mocks) → RTP back to the caller,
 * all on loopback, against the same turn on the in-process mock line. The
 * plugin's receive clock, not the caller's writes, drives endpointing, so the
 * figures count from the caller's last speech frame and compare paths.
 */
export async function runRtpLatencyBench(opts: { quick: boolean }): Promise<RtpLatencyRow[]> {
  // 12 turns per path keeps the full run inside ≈10 minutes on 2 cores.
  const turns = opts.quick ? 5 : 12;
  const runs = [
    await measure('mock line, PCMU 8 kHz, in-process (baseline)', turns, opts.quick, async () => {
      const tel = new MockTelephony({ codec: 'pcmu' });
      return { telephony: tel, place: async () => tel.placeCall(), close: async () => {} };
    }),
  ];
  for (const codec of ['pcmu', 'opus'] as const) {
    runs.push(
      await measure(`RingCentral fake, ${codec === 'pcmu' ? 'PCMU 8 kHz' : 'Opus 48 kHz'}, RTP over loopback`, turns, opts.quick, async () => {
        const fake = await startFakeRingCentral();
        const telephony = new RingCentralTelephony(pluginOptions(fake), { logger: silentLogger() });
        return { telephony, place: () => placeCallerSide(fake, { codecs: [codec] }), close: () => fake.close() };
      }),
    );
  }
  const base = percentile(runs[0]!.lat, 50);
  return runs.map((r) => ({
    path: r.path,
    turns: r.lat.length,
    p50Ms: round(percentile(r.lat, 50)),
    p99Ms: round(percentile(r.lat, 99)),
    addedP50Ms: round(percentile(r.lat, 50) - base),
    engineE2eP50Ms: round(percentile(r.engine, 50)),
  }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(table((await runRtpLatencyBench({ quick: process.argv.includes('--quick') })) as never));
}
