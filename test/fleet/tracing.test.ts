/**
 * OpenTelemetry: with an SDK registered (here the SDK's in-memory exporter),
 * a call gives one `voicebot.call` span with its steps as span events and one
 * `voicebot.turn` child span per turn carrying the stage latencies.
 * In-process with mock providers, so the call runs on a VirtualClock (the
 * caller's frames on the app's clock) and the test waits on events.
 */
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { FleetNode } from '../../core/fleet/node.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import { TestCaller } from '../engine/caller.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
});

describe('OpenTelemetry traces', { timeout: 120_000 }, () => {
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
    const clock = new VirtualClock();
    const tel = new MockTelephony({ codec: 'pcmu' }, { clock });
    const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel }, clock });
    const node = await FleetNode.create(app, silentLogger(), { version: 'test', clock });
    const listening = new Promise<void>((resolve) => {
      const off = app.onEvent((e) => {
        if (e.type !== 'bot.listening') return;
        off();
        resolve();
      });
    });
    await app.start();
    try {
      const side = tel.placeCall();
      // Paced like a phone line (20 ms frames on the app's clock, silence after the words): the endpointing needs it.
      const caller = new TestCaller(side, app.clock).start();
      await side.answered;
      await listening;
      void caller.say('hello there');
      expect(await side.ended).toBe('bot-hangup');
      caller.stop();
      await app.whenIdle();
      // The call span ends with the call (SimpleSpanProcessor exports it at once).
      const spans = exporter.getFinishedSpans();
      const call = spans.find((s) => s.name === 'voicebot.call')!;
      expect(call).toBeDefined();
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
      clock.dispose();
    }
  });
});
