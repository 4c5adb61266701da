/**
 * What the outbound tests share: the config preamble (mock providers, the
 * calls API token), one app + calls API started from it and closed when the
 * test ends, and a hook on the mock line's dialled far ends.
 */
import { spawn } from 'node:child_process';
import { expect, type TestContext } from 'vitest';
import { startCallsApi, type CallsApi } from '../../core/api/index.js';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import type { CallerSide, TelephonyPlugin } from '../../core/plugins/telephony.js';
import type { Clock } from '../../core/time/clock.js';
import { MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import type { MockTelephony } from '../../plugins/mock/telephony.js';
import { BIN, ROOT, type CliResult } from '../cli/helpers.js';

/**
 * A voicebot.yaml with every slot on the mock provider and `settings.api`
 * on (token, port 0). `settings` are more lines under `settings:` (two-space
 * indented); `body` is the rest of the file (routes, flows, tools…).
 */
export function mockConfig(opts: { token: string; api?: string; settings?: string; llm?: string; body: string }): string {
  return `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: ${opts.llm ?? '{ provider: mock }'}
  tts: { provider: mock }
settings:
  api: { token: "${opts.token}", port: 0${opts.api ? `, ${opts.api}` : ''} }
${opts.settings ?? ''}${opts.body}`;
}

export interface Started {
  app: VoicebotApp;
  api: CallsApi;
  events: CallEvent[];
  /** The bot.said texts so far, in order. */
  said(): string[];
}

/**
 * Load `yaml` (no error diagnostics), create and start the app on `tel`
 * (and `clock`, when given) with the calls API beside it; both are closed
 * when the test ends (`ctx.onTestFinished`, so concurrent tests each close
 * their own).
 */
export async function startApp(ctx: Pick<TestContext, 'onTestFinished'>, yaml: string, tel: TelephonyPlugin, opts: { clock?: Clock; /** the calls API's own clock (default `clock`) */ apiClock?: Clock } = {}): Promise<Started> {
  const { config, diagnostics } = await loadConfigText(yaml, '/tmp/outbound-test.yaml', { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel }, clock: opts.clock });
  const events: CallEvent[] = [];
  app.onEvent((e) => events.push(e));
  let api: CallsApi | undefined;
  ctx.onTestFinished(async () => {
    await api?.close();
    await app.stop();
  });
  await app.start();
  api = await startCallsApi(app, { clock: opts.apiClock ?? opts.clock });
  expect(api, 'settings.api starts the calls API').toBeDefined();
  return { app, api: api!, events, said: () => saidIn(events) };
}

export const saidIn = (events: readonly CallEvent[]): string[] =>
  events.filter((e): e is Extract<CallEvent, { type: 'bot.said' }> => e.type === 'bot.said').map((e) => e.text);

/**
 * Calls `cb` with each far end the mock line dials, as it is created (before
 * the leg is answered, so no frame is missed) — no polling.
 */
export function onFarEnd(tel: MockTelephony, cb: (far: CallerSide, id: string) => void): void {
  const map = tel.farEnds;
  const set = map.set.bind(map);
  map.set = (id, far) => {
    set(id, far);
    cb(far, id);
    return map;
  };
}

/** The mock-speech words a far end hears, decoded as its frames arrive. */
export function hearWords(far: CallerSide, into: string[]): void {
  const d = new MockSpeechDecoder(far.sampleRate);
  far.setReceiver((f) => {
    d.push(f.samples);
    into.push(...d.take());
  });
}

/**
 * The warm-transfer flow (warm-transfer*.test.ts): "Hold on.", a warm transfer to +15550200 with a
 * templated summary, "Sorry." on failure. Short prompts: mock speech lasts 120 ms a character, and each
 * one is played in call time. The agent's answer timeout is generous (no test waits it out: the mock's
 * no-answer fails at once), since a RingCentral agent leg's SIP + ICE setup is slow on a loaded host.
 */
export function warmTransferConfig(): string {
  return mockConfig({
    token: 'warm-transfer-token-0123456789',
    body: `flows:
  main:
    steps:
      hi: { say: "Hold on." }
      handoff:
        transfer: { to: "+15550200", mode: warm, timeout: 20s, summary: "{{call.from}} billing." }
        onFail: sorry
      sorry: { hangup: "Sorry." }
`,
  });
}

/**
 * The real CLI (core/cli/bin.mjs → the built dist/), like test/cli/helpers.ts `cli()` but without
 * blocking the worker: concurrent tests and runs overlap while each process works.
 */
export function cliAsync(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, VOICEBOT_LOG: 'silent', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 110_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/**
 * The timeout of the outbound tests that run calls (real time, processes, or CPU-heavy virtual time):
 * generous, because 6 files share 2 cores under `npm test` and the time a call takes there is no
 * measure of anything the test proves.
 */
export const CALL_TEST_TIMEOUT = 120_000;
