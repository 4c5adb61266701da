/**
 * Whole calls through the real app/engine/flow path (mock telephony, μ-law
 * 8 kHz) with stt, llm and tts on `openai`, pointed at the fake by baseURL.
 * The caller speaks mock speech; the fake STT decodes the uploaded WAV; the
 * fake TTS speaks mock speech the caller decodes: real audio end to end.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type ExpectStatic, vi } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import type { CallEvent } from '../../core/engine/events.js';
import { onPluginMetric } from '../../core/engine/metric-router.js';
import type { PluginMetric } from '../../core/plugins/base.js';
import type { CallerSide } from '../../core/plugins/telephony.js';
import { encodeMockSpeech, MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { FakeOpenAI, startFakeOpenAI, type RecordedRequest } from '../fakes/openai/index.js';
import { startMockLineApp } from './helpers.js';

// Real sockets/processes and CPU-bound work: generous limits, so a loaded machine (many test files on 2 cores) is slow, not failed.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const KEY = 'sk-test';
const CONFIG_FILE = fileURLToPath(new URL('./fixtures/voicebot.yaml', import.meta.url));

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

interface Slots {
  stt?: string;
  llm?: string;
  tts?: string;
}

function config(fake: FakeOpenAI, slots: Slots = {}): string {
  /** One provider line per slot; `openai(extra)` entries point at the fake. */
  const openai = (extra = ''): string => `{ provider: openai, baseURL: "${fake.baseURL}", apiKey: ${KEY}${extra ? `, ${extra}` : ''} }`;
  return `version: 1
plugins:
  telephony: { provider: mock }
  stt: ${slots.stt ?? openai()}
  llm: ${slots.llm ?? openai('model: gpt-4o-mini, temperature: 0.2')}
  tts: ${slots.tts ?? openai('voice: coral')}
settings:
  timeouts: { endOfSpeech: 300ms, noInput: 5s }
tools:
  lookup_order:
    description: Look up an order by its number
    params:
      type: object
      properties: { order: { type: string, pattern: "^[0-9]+$" } }
      required: [order]
      additionalProperties: false
    handler: ./tools.mjs#lookupOrder
flows:
  main:
    on: { error: sorry }
    steps:
      greet: { say: "Hi." }
      chat:
        llm:
          system: "You are the Acme order desk."
          tools: [lookup_order]
          maxTurns: 1
          exits: [ { maxTurns: true, goto: bye } ]
      bye: { hangup: "Bye." }
      sorry: { hangup: "Sorry." }
`;
}

/** Mock speech for `text`, then 1 s of silence, as 20 ms frames (not paced: the engine counts frames, not wall time). */
async function speak(caller: CallerSide, text: string): Promise<void> {
  const rate = caller.sampleRate;
  const speech = encodeMockSpeech(text, rate);
  const audio = new Int16Array(speech.length + rate);
  audio.set(speech);
  const n = rate / 50;
  for (let i = 0; i + n <= audio.length; i += n) {
    caller.write({ samples: audio.subarray(i, i + n), sampleRate: rate, timestampMs: (i / rate) * 1000 });
    await new Promise((r) => setImmediate(r));
  }
}

/** What the caller hears, decoded from the line audio. */
function ears(caller: CallerSide): () => string[] {
  const d = new MockSpeechDecoder(caller.sampleRate);
  const got: string[] = [];
  caller.setReceiver((f) => {
    d.push(f.samples);
    got.push(...d.take());
  });
  return () => got;
}

interface Call {
  caller: CallerSide;
  heard: () => string[];
  mine: () => CallEvent[];
  /** The arguments of every run of the tool handler in this call (the handler records them by caller number). */
  toolRuns: () => unknown[];
}

interface Rig {
  /** This test's own fake server (port 0): its rules and recorded requests are the test's alone. */
  fake: FakeOpenAI;
  /** The config line of an openai slot pointed at this test's fake. */
  openai(extra?: string): string;
  startApp(slots?: Slots): Promise<{ tel: MockTelephony; events: CallEvent[] }>;
  /** Places a call and says `text` when the llm step listens. */
  converse(tel: MockTelephony, events: CallEvent[], text: string): Promise<Call>;
}

let callers = 0;
const toolRunsOf = (from: string): unknown[] =>
  ((globalThis as { __openaiToolRuns?: { from: string; args: unknown }[] }).__openaiToolRuns ?? []).filter((r) => r.from === from).map((r) => r.args);

/**
 * The tests run side by side (each call mostly waits on the 20 ms audio clock), so each has its
 * own fake and app. After the body: the app stops, and no response of the fake is left open.
 */
async function withRig(expect: ExpectStatic, body: (r: Rig) => Promise<void>): Promise<void> {
  const fake = await startFakeOpenAI();
  fake.apiKey = KEY;
  let app: VoicebotApp | undefined;
  const waitEvent = (events: CallEvent[], pred: (e: CallEvent) => boolean): Promise<CallEvent> =>
    new Promise((resolve) => {
      const hit = events.find(pred);
      if (hit) return resolve(hit);
      const off = app!.onEvent((e) => {
        if (pred(e)) {
          off();
          resolve(e);
        }
      });
    });
  const rig: Rig = {
    fake,
    openai: (extra = '') => `{ provider: openai, baseURL: "${fake.baseURL}", apiKey: ${KEY}${extra ? `, ${extra}` : ''} }`,
    async startApp(slots = {}) {
      const started = await startMockLineApp(expect, config(fake, slots), CONFIG_FILE);
      app = started.app;
      return { tel: started.tel, events: started.events };
    },
    async converse(tel, events, text) {
      const from = `+1555020${String(++callers).padStart(4, '0')}`;
      const caller = tel.placeCall({ to: '+15550123', from });
      const heard = ears(caller);
      await waitEvent(events, (e) => e.callId === caller.callId && e.type === 'bot.listening' && e.step === 'chat');
      await speak(caller, text);
      return { caller, heard, mine: () => events.filter((e) => e.callId === caller.callId), toolRuns: () => toolRunsOf(from) };
    },
  };
  try {
    await body(rig);
    await app?.stop();
    expect(fake.openResponses).toBe(0);
  } finally {
    await app?.stop();
    await fake.close();
  }
}

const hasTool = (r: RecordedRequest): boolean => (r.json?.messages ?? []).some((m: { role: string }) => m.role === 'tool');
const said = (r: RecordedRequest, text: string): boolean => JSON.stringify(r.json?.messages ?? []).includes(text);

describe.concurrent('a call with stt, llm and tts on openai (fake server)', () => {
  it('completes a conversation with one tool call; the first TTS request goes out before the LLM stream ends', ({ expect }) =>
    withRig(expect, async ({ fake, openai, startApp, converse }) => {
      const { tel, events } = await startApp();
      const metrics: PluginMetric[] = [];
      const offMetrics = onPluginMetric((m) => metrics.push(m));
      fake.on('chat', { reply: { text: 'One moment. ', toolCalls: [{ name: 'lookup_order', arguments: { order: '42' } }], usage: { prompt: 40, completion: 12 } } }, { when: (r) => !hasTool(r) });
      fake.on(
        'chat',
        {
          reply: {
            text: 'It shipped. Arrives Friday.',
            // The rest of the reply is held back until the TTS request for the first sentence arrived.
            hold: { after: 'It shipped. ', until: () => fake.waitFor((r) => r.endpoint === 'speech' && r.json?.input === 'It shipped.') },
          },
        },
        { when: hasTool },
      );

      const { caller, heard, mine, toolRuns } = await converse(tel, events, 'order 42');
      expect(await caller.ended).toBe('bot-hangup');
      offMetrics();

      // The caller heard every line, decoded from the 8 kHz μ-law line audio.
      expect(heard()).toEqual(['Hi.', 'One moment.', 'It shipped.', 'Arrives Friday.', 'Bye.']);

      // STT: one WAV upload of the utterance, at 16 kHz.
      const [stt] = fake.of('transcriptions');
      expect(fake.of('transcriptions')).toHaveLength(1);
      expect(stt.heard).toBe('order 42');
      expect(stt.file?.sampleRate).toBe(16000);
      expect(stt.fields).toMatchObject({ model: 'gpt-4o-mini-transcribe', language: 'en', stream: 'true' });

      // The transcript reached the LLM, with the tool as a function definition.
      const [first, second] = fake.of('chat');
      expect(fake.of('chat')).toHaveLength(2);
      expect(first.json.messages).toEqual([
        { role: 'system', content: 'You are the Acme order desk.' },
        { role: 'user', content: 'order 42' },
      ]);
      expect(first.json.tools).toEqual([
        {
          type: 'function',
          function: {
            name: 'lookup_order',
            description: 'Look up an order by its number',
            parameters: expect.objectContaining({ type: 'object', required: ['order'] }),
          },
        },
      ]);
      expect(first.json).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.2, stream: true });

      // The tool ran once with the model's arguments, and its result went back to the model.
      expect(toolRuns()).toEqual([{ order: '42' }]);
      const msgs = second.json.messages as { role: string; content: string | null; tool_calls?: { id: string; function: { name: string; arguments: string } }[]; tool_call_id?: string }[];
      const asked = msgs.find((m) => m.tool_calls);
      expect(asked).toMatchObject({ role: 'assistant', content: 'One moment.', tool_calls: [{ function: { name: 'lookup_order', arguments: '{"order":"42"}' } }] });
      const result = msgs.find((m) => m.role === 'tool');
      expect(result?.tool_call_id).toBe(asked!.tool_calls![0].id);
      expect(JSON.parse(result!.content!)).toEqual({ order: '42', status: 'shipped', eta: 'Friday' });
      expect(mine().filter((e) => e.type === 'tool.called')).toMatchObject([{ name: 'lookup_order', args: { order: '42' }, result: { status: 'shipped' } }]);

      // TTS got every line of the reply as its own request, as 24 kHz PCM.
      const speech = fake.of('speech');
      expect(speech.map((r) => r.json.input)).toEqual(['Hi.', 'One moment.', 'It shipped.', 'Arrives Friday.', 'Bye.']);
      expect(speech.every((r) => r.json.response_format === 'pcm' && r.json.voice === 'coral')).toBe(true);
      // Streaming overlap: the first sentence's TTS request arrived while the LLM stream was still open.
      const firstTts = speech.find((r) => r.json.input === 'It shipped.')!;
      expect(firstTts.receivedAt).toBeLessThan(second.finishedAt!);
      const oneMoment = speech.find((r) => r.json.input === 'One moment.')!;
      expect(oneMoment.receivedAt).toBeLessThan(first.finishedAt!);

      // Metrics: usage from the LLM, latencies per turn.
      const usage = metrics.filter((m) => m.callId === caller.callId && m.unit === 'tokens').map((m) => [m.name, m.ms]);
      expect(usage).toContainEqual(['promptTokens', 40]);
      expect(usage).toContainEqual(['completionTokens', 12]);
      expect(mine().some((e) => e.type === 'turn.metrics' && e.sttMs !== undefined && e.llmTtftMs !== undefined)).toBe(true);
      expect(mine().filter((e) => e.type === 'call.error')).toEqual([]);
    }));

  it('arguments that do not match the tool params are rejected before the tool runs, and the model is told', ({ expect }) =>
    withRig(expect, async ({ fake, openai, startApp, converse }) => {
      const { tel, events } = await startApp();
      fake.on('chat', { reply: { toolCalls: [{ name: 'lookup_order', arguments: { order: 'forty-two' } }] } }, { when: (r) => !hasTool(r) });
      fake.on('chat', { reply: { text: 'Which order?' } }, { when: hasTool });
        const { caller, heard, mine, toolRuns } = await converse(tel, events, 'order 42');
      expect(await caller.ended).toBe('bot-hangup');
      expect(toolRuns()).toEqual([]);
      expect(mine().find((e) => e.type === 'tool.called')).toMatchObject({ name: 'lookup_order', error: expect.stringContaining('VB_ERR_TOOL_ARGS') });
      const back = (fake.of('chat')[1].json.messages as { role: string; content: string }[]).find((m) => m.role === 'tool')!;
      expect(JSON.parse(back.content).error).toMatch(/invalid arguments.*pattern/);
      expect(heard()).toEqual(['Hi.', 'Which order?', 'Bye.']);
    }));
});

describe.concurrent('injected faults during a call', () => {
  it('429 with retry-after on the LLM: retried, the call goes on', ({ expect }) =>
    withRig(expect, async ({ fake, openai, startApp, converse }) => {
      const { tel, events } = await startApp();
      fake.on('chat', { fault: { kind: 'status', status: 429, retryAfterMs: 50 } });
      fake.on('chat', { reply: { text: 'Hello again.' } });
      const { caller, heard } = await converse(tel, events, 'hello');
      expect(await caller.ended).toBe('bot-hangup');
      expect(fake.of('chat').map((r) => r.status)).toEqual([429, 200]);
      expect(heard()).toEqual(['Hi.', 'Hello again.', 'Bye.']);
    }));

  it('500s on the LLM: the fallback chain moves on to the next provider', ({ expect }) =>
    withRig(expect, async ({ fake, openai, startApp, converse }) => {
      const { tel, events } = await startApp({ llm: `[ ${openai('maxRetries: 1')}, { provider: mock, script: [ { reply: "Backup here." } ] } ]` });
      fake.on('chat', { fault: { kind: 'status', status: 500 } }, { times: Infinity });
      const { caller, heard, mine } = await converse(tel, events, 'hello');
      expect(await caller.ended).toBe('bot-hangup');
      expect(fake.of('chat').map((r) => r.status)).toEqual([500, 500]);
      expect(heard()).toEqual(['Hi.', 'Backup here.', 'Bye.']);
      expect(mine().filter((e) => e.type === 'call.error')).toEqual([]);
    }));

  it('a TTS connection dropped mid-stream: the next provider speaks the rest of the line', ({ expect }) =>
    withRig(expect, async ({ fake, openai, startApp, converse }) => {
      const { tel, events } = await startApp({ tts: `[ ${openai()}, { provider: mock } ]` });
      fake.on('chat', { reply: { text: 'Your parcel left the depot this morning.' } });
      fake.on('speech', { fault: { kind: 'drop', afterChunks: 2 }, chunkBytes: 4801 }, { when: (r) => r.json.input.startsWith('Your parcel') });
      const { caller, heard, mine } = await converse(tel, events, 'hello');
      expect(await caller.ended).toBe('bot-hangup');
      expect(fake.of('speech').find((r) => r.outcome === 'drop')).toBeDefined();
      expect(heard()[0]).toBe('Hi.');
      expect(heard().at(-1)).toBe('Bye.');
      expect(mine().filter((e) => e.type === 'call.error')).toEqual([]);
      expect(mine().find((e) => e.type === 'bot.said' && e.text.includes('morning.'))).toBeDefined();
    }));

  it('a non-retryable 400 on the LLM goes to the flow on.error handler', ({ expect }) =>
    withRig(expect, async ({ fake, openai, startApp, converse }) => {
      const { tel, events } = await startApp();
      fake.on('chat', { fault: { kind: 'status', status: 400, message: 'Invalid model' } });
      const { caller, heard, mine } = await converse(tel, events, 'hello');
      expect(await caller.ended).toBe('bot-hangup');
      expect(fake.of('chat')).toHaveLength(1);
      expect(mine().find((e) => e.type === 'call.error')).toMatchObject({ code: 'VB_ERR_OPENAI_REQUEST' });
      expect(heard()).toEqual(['Hi.', 'Sorry.']);
    }));

  it('a stalled transcription times out and the flow handles it (on.error)', ({ expect }) =>
    withRig(expect, async ({ fake, openai, startApp, converse }) => {
      const { tel, events } = await startApp({ stt: openai('timeoutMs: 300, maxRetries: 0') });
      fake.on('transcriptions', { fault: { kind: 'stall', afterChunks: 1 } });
      const { caller, heard, mine } = await converse(tel, events, 'hello');
      expect(await caller.ended).toBe('bot-hangup');
      expect(mine().find((e) => e.type === 'call.error')).toMatchObject({ code: 'VB_ERR_OPENAI_TIMEOUT' });
      expect(heard()).toEqual(['Hi.', 'Sorry.']);
      expect(fake.of('chat')).toHaveLength(0);
    }));

  it('one call whose LLM stream is malformed or dropped mid-reply ends in on.error; concurrent calls are untouched', ({ expect }) =>
    withRig(expect, async ({ fake, openai, startApp, converse }) => {
      const { tel, events } = await startApp();
      fake.on('chat', { reply: { text: 'Alpha reply is long.' }, fault: { kind: 'malformed', afterChunks: 3 } }, { when: (r) => said(r, 'alpha') });
      fake.on('chat', { reply: { text: 'Bravo reply is long.' }, fault: { kind: 'drop', afterChunks: 3 } }, { when: (r) => said(r, 'bravo') });
      fake.on('chat', { reply: { text: 'Fine here.' } }, { when: (r) => said(r, 'charlie'), times: Infinity });
      const calls = await Promise.all([converse(tel, events, 'alpha'), converse(tel, events, 'bravo'), converse(tel, events, 'charlie')]);
      const ends = await Promise.all(calls.map((c) => c.caller.ended));
      expect(ends).toEqual(['bot-hangup', 'bot-hangup', 'bot-hangup']);
      const [a, b, c] = calls;
      expect(a.mine().find((e) => e.type === 'call.error')).toMatchObject({ code: 'VB_ERR_OPENAI_PROTOCOL' });
      expect(b.mine().find((e) => e.type === 'call.error')).toMatchObject({ code: 'VB_ERR_OPENAI_CONNECTION' });
      expect(a.heard().at(-1)).toBe('Sorry.');
      expect(b.heard().at(-1)).toBe('Sorry.');
      expect(c.heard()).toEqual(['Hi.', 'Fine here.', 'Bye.']);
      expect(c.mine().filter((e) => e.type === 'call.error')).toEqual([]);
    }));
});
