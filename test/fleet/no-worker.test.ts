/**
 * settings.fleet.noWorker on a real `voicebot run --role edge` over a private
 * redis-server: a call no worker can take is answered, the caller hears the
 * configured WAV through the line's G.711 codec, the edge hangs up and says
 * why (VB_ERR_FLEET_NO_WORKER) — both when the registry is empty at ring time
 * and when the only registered worker is unreachable after the answer.
 * Without the setting the call stays unanswered (dispatch.test.ts).
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../core/audio/wav.js';
import { loadConfigText } from '../../core/config/load.js';
import { FLEET_PROTOCOL, WorkerRegistration } from '../../core/fleet/registry.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { realClock } from '../../core/time/clock.js';
import { encodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { LINE, MAIN, REDIS_SERVER, freePort, get, placeCall, runVoicebot, sample, startRedis, stopProc, tmpDir, urlOf, writeFile, type Proc } from './procs.js';

const tmp = tmpDir('voicebot-noworker-');
const procs: Proc[] = [];
const MESSAGE = 'All busy.';

function edgeConfig(redisUrl: string, prefix: string, play?: string): string {
  return writeFile(tmp, `edge-${procs.length}.yaml`, [
    'version: 1',
    'plugins:',
    `  telephony: { provider: ${JSON.stringify(LINE)} }`,
    '  tts: { provider: mock }',
    '  audioStream: { provider: websocket, token: "${VOICEBOT_STREAM_TOKEN}" }',
    'settings:',
    '  ops: { port: 0 }',
    `  fleet: { redis: ${JSON.stringify(redisUrl)}, keyPrefix: ${prefix}${play ? `, noWorker: { play: ${JSON.stringify(play)} }` : ''} }`,
    'flows:',
    '  main: { steps: { hi: { say: "Hi." } } }',
  ]);
}

/** An edge on its own registry (key prefix) in the shared redis-server, so the tests run at once. */
async function edge(redisUrl: string, prefix: string, play?: string): Promise<{ proc: Proc; ops: string }> {
  const proc = runVoicebot(`edge${procs.length}`, ['--role', 'edge', '--json', '-c', edgeConfig(redisUrl, prefix, play)]);
  procs.push(proc);
  await proc.next((e) => e.ev === 'line.ready', 'the line fixture');
  return { proc, ops: await urlOf(proc, 'ops.listening') };
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `npx tsc -p .` (npm test builds first)');
  // The line decodes mock speech, so a WAV of mock speech is heard as text; 16 kHz to exercise the resampling to the line's 8 kHz.
  writeFileSync(join(tmp, 'busy.wav'), encodeWav(encodeMockSpeech(MESSAGE, 16000), 16000));
});

afterAll(async () => {
  await Promise.all(procs.map((p) => stopProc(p, 'SIGKILL')));
  rmSync(tmp, { recursive: true, force: true });
});

describe('settings.fleet.noWorker is checked at load', { timeout: 120_000 }, () => {
  it('a missing WAV is an error at its file:line:col', async () => {
    const yaml = ['version: 1', 'plugins:', '  telephony: { provider: mock }', '  tts: { provider: mock }', 'settings:', '  fleet:', '    noWorker:', '      play: nowhere.wav', 'flows:', '  main: { steps: { hi: { say: "Hi." } } }'].join('\n');
    const { diagnostics } = await loadConfigText(yaml, join(tmp, 'bad.yaml'), { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics).toEqual([
      expect.objectContaining({ file: join(tmp, 'bad.yaml'), line: 8, col: 13, severity: 'error', code: 'VB_ERR_CONFIG_AUDIO_FILE', message: expect.stringContaining(`${join(tmp, 'nowhere.wav')} does not exist`) }),
    ]);
  });

  it('a file that is not a WAV is an error too', async () => {
    writeFileSync(join(tmp, 'text.wav'), 'not audio');
    const yaml = ['version: 1', 'plugins:', '  telephony: { provider: mock }', '  tts: { provider: mock }', 'settings:', '  fleet: { noWorker: { play: text.wav } }', 'flows:', '  main: { steps: { hi: { say: "Hi." } } }'].join('\n');
    const { diagnostics } = await loadConfigText(yaml, join(tmp, 'bad2.yaml'), { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics).toEqual([expect.objectContaining({ line: 6, code: 'VB_ERR_CONFIG_AUDIO_FILE', message: expect.stringMatching(/cannot be played \(.*RIFF/) })]);
  });
});

describe.skipIf(!REDIS_SERVER)(`an edge with settings.fleet.noWorker and no worker to take the call${REDIS_SERVER ? '' : ' (skipped: redis-server not installed)'}`, { concurrent: true }, () => {
  let redis: { url: string; stop: () => Promise<void> };
  beforeAll(async () => {
    redis = await startRedis();
  }, 120_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('empty registry: answers, plays the WAV, hangs up and reports VB_ERR_FLEET_NO_WORKER', async ({ expect }) => {
    const { proc, ops } = await edge(redis.url, 'empty', 'busy.wav');
    const c = await placeCall(proc);
    await c.heard(MESSAGE);
    const ended = await c.ended();
    expect(ended.reason).toBe('bot-hangup');
    const ev = await proc.next((e) => e.type === 'stream.ended', 'stream.ended');
    expect(ev).toMatchObject({ reason: 'bot-hangup', code: 'VB_ERR_FLEET_NO_WORKER', fallback: 'played', message: expect.stringMatching(/no ready worker/) });
    const m = (await get(`${ops}/metrics`)).text;
    expect(sample(m, 'voicebot_dispatch_failures_total')).toBe(1);
    // The reason is logged (at error level; the tests run with VOICEBOT_LOG=error).
    expect(proc.output().stderr).toMatch(/VB_ERR_FLEET_NO_WORKER.*no ready worker with free capacity/);
  }, 600_000);

  it('the only registered worker is unreachable: the answered caller hears the WAV instead of a bare hangup', async ({ expect }) => {
    const prefix = 'ghost';
    const dead = `ws://127.0.0.1:${await freePort()}/calls`;
    const reg = new WorkerRegistration(
      new Redis(redis.url, { lazyConnect: true }),
      prefix,
      () => ({ id: 'ghost', url: dead, capacity: 10, load: 0, version: 'test', protocol: FLEET_PROTOCOL, draining: false, host: 'h', pid: 1 }),
      60_000,
      60_000,
      realClock,
      silentLogger(),
    );
    await reg.start();
    try {
      const { proc } = await edge(redis.url, prefix, 'busy.wav');
      const c = await placeCall(proc);
      await c.heard(MESSAGE);
      expect((await c.ended()).reason).toBe('bot-hangup');
      const ev = await proc.next((e) => e.type === 'stream.ended', 'stream.ended');
      expect(ev).toMatchObject({ code: 'VB_ERR_FLEET_NO_WORKER', fallback: 'played', message: expect.stringMatching(/the last worker tried said/) });
    } finally {
      await reg.stop();
    }
  }, 600_000);
});

