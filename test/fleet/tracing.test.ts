/**
 * OpenTelemetry: with an SDK registered (here the SDK's in-memory exporter),
 * a call gives one `voicebot.call` span with its steps as span events and one
 * `voicebot.turn` child span per turn carrying the stage latencies.
 */
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { FleetNode } from '../../core/fleet/node.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { encodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { until } from './procs.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
});

describe('OpenTelemetry traces', () => {
  it('a span per call and a child span per turn', async () => {
    const yaml = [
      'version: 1',
      'plugins:',
      '  telephony: { provider: mock }',
      '  stt: { provider: mock }',
      '  llm: { provider: mock }',
      '  tts: { provider: mock }',
      'settings:',
      '  timeouts: { endOfSpeech: 300ms, noInput: 10s }',
      'flows:',
      '  main:',
      '    steps:',
      '      greet: { say: "Hello." }',
      '      chat: { llm: { system: "Be brief.", maxTurns: 1, exits: [ { maxTurns: true, goto: bye } ] } }',
      '      bye: { hangup: "Bye." }',
    ].join('\n');
    const { config } = await loadConfigText(yaml, '/tmp/otel.yaml', { env: {}, registry: createDefaultRegistry() });
    const tel = new MockTelephony({ codec: 'pcmu' });
    const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
    const node = await FleetNode.create(app, silentLogger(), { version: 'test' });
    let listening = false;
    app.onEvent((e) => void (e.type === 'bot.listening' && (listening = true)));
    await app.start();
    try {
      const caller = tel.placeCall();
      await caller.answered;
      const rate = caller.sampleRate;
      const speech = encodeMockSpeech('hello there', rate);
      const audio = new Int16Array(speech.length + rate * 2);
      audio.set(speech);
      const n = rate / 50;
      await until(() => listening, 'the llm step to listen');
      // Paced like a phone line: the endpointing needs real silence after the words.
      for (let i = 0; i + n <= audio.length; i += n) {
        caller.write({ samples: audio.subarray(i, i + n), sampleRate: rate, timestampMs: (i / rate) * 1000 });
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await caller.ended).toBe('bot-hangup');
      const spans = await until(() => {
        const s = exporter.getFinishedSpans();
        return s.some((x) => x.name === 'voicebot.call') ? s : undefined;
      }, 'the call span');
      const call = spans.find((s) => s.name === 'voicebot.call')!;
      expect(call.attributes['voicebot.flow']).toBe('main');
      expect(call.attributes['voicebot.reason']).toBe('bot-hangup');
      expect(call.events.map((e) => e.attributes?.['voicebot.step'])).toEqual(['main.greet', 'main.chat', 'main.bye']);
      const turns = spans.filter((s) => s.name === 'voicebot.turn');
      expect(turns.length).toBeGreaterThanOrEqual(1);
      expect(turns[0].parentSpanContext?.spanId).toBe(call.spanContext().spanId);
      expect(turns[0].spanContext().traceId).toBe(call.spanContext().traceId);
      expect(turns[0].attributes['voicebot.e2eMs']).toBeGreaterThan(0);
    } finally {
      await app.stop();
      await node.close();
    }
  }, 60_000);
});
