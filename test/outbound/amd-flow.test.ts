import { afterEach, describe, expect, it } from 'vitest';
import { startCallsApi, type CallsApi } from '../../core/api/index.js';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import type { CallerSide } from '../../core/plugins/telephony.js';
import { encodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';

const CONFIG = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  api: { token: "amd-flow-token-0123456789", port: 0 }
  timeouts: { endOfSpeech: 300ms }
flows:
  survey:
    amd: { timeout: 4s }
    on: { human: ask, machine: vm, unknown: ask }
    steps:
      ask:
        listen: { prompt: "Do you have a minute?", input: [speech], timeout: 1500ms, retries: 0 }
        exhausted: nothing
        save: answer
        else: nothing
        routes: [ { regex: ".", goto: heard } ]
      nothing: { hangup: "No answer then." }
      heard: { hangup: "You said {{answer}}." }
      vm: { hangup: "Voicemail." }
`;

let app: VoicebotApp | undefined;
let api: CallsApi | undefined;
afterEach(async () => {
  await api?.close();
  await app?.stop();
  api = app = undefined;
});

async function say(far: CallerSide, text: string): Promise<void> {
  const rate = far.sampleRate;
  const pcm = encodeMockSpeech(text, rate);
  const n = rate / 50;
  for (let i = 0; i + n <= pcm.length; i += n) {
    far.write({ samples: pcm.subarray(i, i + n), sampleRate: rate, timestampMs: (i * 1000) / rate });
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function silence(far: CallerSide, ms: number): Promise<void> {
  const rate = far.sampleRate;
  const f = new Int16Array(rate / 50);
  for (let t = 0; t < ms; t += 20) {
    far.write({ samples: f, sampleRate: rate, timestampMs: t });
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('AMD in a flow (mock line, real frames)', () => {
  it('a person says hello: on.human runs, and the greeting is not taken as the answer to the first question', async () => {
    const { config, diagnostics } = await loadConfigText(CONFIG, '/tmp/amd-flow.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const tel = new MockTelephony({ codec: 'pcmu' });
    app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
    const events: CallEvent[] = [];
    app.onEvent((e) => events.push(e));
    await app.start();
    api = await startCallsApi(app);
    const placed = api!.calls.place({ to: '+15550300', flow: 'survey' });
    await new Promise<void>((r) => {
      const check = () => (tel.farEnds.size ? r() : setTimeout(check, 5));
      check();
    });
    const far = [...tel.farEnds.values()][0]!;
    // "hello", then the pause a person leaves; then silence while the bot asks.
    await say(far, 'hello');
    const line = silence(far, 6000);
    const done = await api!.calls.whenDone(placed.id)!;
    await line;
    expect(done.amd?.outcome).toBe('human');
    const said = events.filter((e) => e.type === 'bot.said').map((e) => (e as { text: string }).text);
    expect(said).toEqual(['Do you have a minute?', 'No answer then.']);
  });
});
