import { afterEach, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import type { WebSocketAudioStream } from '../../plugins/websocket/index.js';
import { TOKEN, until } from './helpers.js';

const CONFIG = `version: 1
plugins:
  telephony: { provider: mock }
  audioStream: { provider: websocket, token: "${TOKEN}", listen: { port: 0 } }
  stt: { provider: mock }
  tts: { provider: mock }
flows:
  main:
    steps:
      greet: { say: "Hello." }
      ask:
        listen: { input: [dtmf], numDigits: 1 }
        routes: [ { dtmf: "1", goto: one } ]
        else: one
      one: { say: "One.", next: bye }
      bye: { hangup: "Bye." }
`;

let app: VoicebotApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('role all with the websocket stream (both ends in one process, over loopback)', () => {
  it('runs the flow on the leg the stream surfaces; DTMF and hangup cross the socket', async () => {
    const { config, diagnostics } = await loadConfigText(CONFIG, '/tmp/ws-all.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics).toEqual([]);
    const tel = new MockTelephony({ codec: 'pcmu' });
    app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
    const events: CallEvent[] = [];
    app.onEvent((e) => events.push(e));
    await app.start();
    const stream = app.plugins.audioStream as WebSocketAudioStream;
    expect(app.remote?.listenUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/calls$/);

    const caller = tel.placeCall({ to: '+15550123' });
    const d = new MockSpeechDecoder(caller.sampleRate);
    const heard: string[] = [];
    caller.setReceiver((f) => {
      d.push(f.samples);
      heard.push(...d.take());
    });
    await until(() => heard.includes('Hello.'), 'greeting');
    expect(stream.streamServer?.activeLegs.map((l) => l.info.id)).toEqual([caller.callId]);
    await until(() => events.some((e) => e.type === 'flow.step' && e.step === 'ask'), 'listen step');
    caller.pressDtmf('1');
    expect(await caller.ended).toBe('bot-hangup');
    expect(heard).toEqual(['Hello.', 'One.', 'Bye.']);
    expect(tel.answers).toBe(1);
    await until(() => app!.activeCalls === 0, 'call torn down');
    expect(stream.streamServer?.activeLegs).toEqual([]);
  });
});
