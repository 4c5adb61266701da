/**
 * The default VAD, `auto`: Silero when its optional packages load, `energy`
 * otherwise, on mock-speech lines and on a virtual clock; the choice is logged
 * once when the app is created, with the reason.
 */
import { fileURLToPath } from 'node:url';
import 'reflect-metadata';
import pino from 'pino';
import { container as root } from 'tsyringe';
import { afterEach, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { TOKENS } from '../../core/di/tokens.js';
import { silentLogger } from '../../core/logging.js';
import type { PluginBase } from '../../core/plugins/base.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import { timeModeFor } from '../../core/flow/virtual-time.js';
import { chooseVad, type AutoVadDecision } from '../../plugins/auto-vad/index.js';
import { locateSilero } from '../../plugins/silero/index.js';

function sileroMissing(): string | undefined {
  try {
    locateSilero();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
const missing = sileroMissing();
/** A module name no install has: the real "optional package absent" path of the Silero loader. */
const ABSENT = { ortSpec: 'onnxruntime-node-not-installed-here' };

const started: PluginBase[] = [];
let app: VoicebotApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
  for (const p of started.splice(0)) await p.stop();
});

async function choose(ctx: Parameters<typeof chooseVad>[0], runtime?: typeof ABSENT): Promise<{ provider: string; decision: AutoVadDecision }> {
  let decision: AutoVadDecision | undefined;
  const vad = await chooseVad(ctx, { runtime, decided: (d) => (decision = d) });
  started.push(vad);
  expect(decision?.provider).toBe(vad.provider);
  return { provider: vad.provider, decision: decision! };
}

describe('vad: auto (the default)', () => {
  it.skipIf(missing !== undefined)(`uses silero when onnxruntime-node and the model load${missing ? ` (skipped: ${missing})` : ''}`, async () => {
    const { provider, decision } = await choose({ logger: silentLogger() });
    expect(provider).toBe('silero');
    expect(decision.reason).toMatch(/onnxruntime-node and the Silero model loaded/);
  });

  it('falls back to energy when the optional packages are absent, naming the install command', async () => {
    const { provider, decision } = await choose({ logger: silentLogger() }, ABSENT);
    expect(provider).toBe('energy');
    expect(decision.reason).toMatch(/Silero is unavailable: .*onnxruntime-node-not-installed-here/);
    expect(decision.reason).toContain('npm install onnxruntime-node');
  });

  it('uses energy on a mock-speech line (mock telephony or mock stt): its tones are not speech to Silero', async () => {
    for (const [slots, what] of [[{ telephony: 'mock' }, 'telephony mock'], [{ telephony: 'local', stt: 'mock' }, 'stt mock']] as const) {
      const c = root.createChildContainer();
      const plugins = Object.fromEntries(Object.entries(slots).map(([k, v]) => [k, [{ provider: v, options: {} }]]));
      c.register(TOKENS.Config, { useValue: { plugins } as never });
      const { provider, decision } = await choose({ logger: silentLogger(), container: c });
      expect(provider).toBe('energy');
      expect(decision.reason).toContain(what);
    }
  });

  it('uses energy on a virtual clock (Silero runs on threads the clock cannot wait for)', async () => {
    const { provider, decision } = await choose({ logger: silentLogger(), clock: new VirtualClock() });
    expect(provider).toBe('energy');
    expect(decision.reason).toMatch(/virtual time/);
  });

  it('keeps `voicebot test` on the virtual clock when the config names it', async () => {
    const yaml = 'version: 1\nplugins:\n  telephony: { provider: mock }\n  vad: { provider: auto }\n  stt: { provider: mock }\n  tts: { provider: mock }\nflows:\n  main:\n    steps:\n      hi: { say: "Hello." }\n';
    const registry = createDefaultRegistry();
    const { config } = await loadConfigText(yaml, fileURLToPath(new URL('./voicebot.yaml', import.meta.url)), { env: {}, registry });
    expect(await timeModeFor(config!, registry)).toEqual({ virtual: true });
  });

  it('is what an app gets when the config names no vad, logged once at boot with the reason', async () => {
    const yaml = `version: 1
plugins:
  telephony: { provider: local, port: 0 }
  tts: { provider: mock }
flows:
  main:
    steps:
      hi: { say: "Hello." }
`;
    const { config, diagnostics } = await loadConfigText(yaml, fileURLToPath(new URL('./voicebot.yaml', import.meta.url)), { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics).toEqual([]);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    app = await VoicebotApp.create({ config: config!, logger });
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; vad?: string; reason?: string }).filter((l) => l.msg.startsWith('vad auto'));
    expect(logged).toHaveLength(1);
    expect(logged[0]!.vad).toBe(missing ? 'energy' : 'silero');
    expect(app.plugins.vad.provider).toBe(logged[0]!.vad);
    expect(logged[0]!.reason).toBeTruthy();
  });
});
