/**
 * What each OpenAI plugin sends and how it reads the answer, checked on the
 * requests the fake recorded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../core/config/load.js';
import { VoicebotError } from '../../core/errors/index.js';
import type { PluginMetric } from '../../core/plugins/base.js';
import type { LlmEvent } from '../../core/plugins/llm.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { encodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { OpenAiLlm, OpenAiStt, OpenAiTts, PcmAssembler, openaiLlmPlugin, openaiSttPlugin, openaiTtsPlugin } from '../../plugins/openai/index.js';
import { collect } from '../conformance/common.js';
import { FakeOpenAI, startFakeOpenAI } from '../fakes/openai/index.js';

const KEY = 'sk-test';
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
  fake.apiKey = KEY;
});
afterAll(() => fake.close());
afterEach(() => fake.reset());

function utterance(text: string, rate: number): Int16Array {
  const s = encodeMockSpeech(text, rate);
  const a = new Int16Array(s.length + rate / 5);
  a.set(s, rate / 10);
  return a;
}

describe('openai stt', () => {
  it('uploads one WAV per utterance at 16 kHz and streams the transcript (SSE) on gpt-4o models', async () => {
    const stt = new OpenAiStt({ apiKey: KEY, baseURL: fake.baseURL, prompt: 'Acme orders.' });
    const metrics: PluginMetric[] = [];
    stt.setMetricSink((m) => metrics.push(m));
    expect(stt.capabilities.sampleRates).toEqual([16000]);
    const t = await stt.recognize({ audio: utterance('order 42', 16000), sampleRate: 16000, language: 'en-US', hints: ['sales', 'support'], callId: 'c1' });
    expect(t).toMatchObject({ text: 'order 42', final: true, language: 'en' });
    const r = fake.of('transcriptions').at(-1)!;
    expect(r.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(r.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(r.fields).toMatchObject({ model: 'gpt-4o-mini-transcribe', language: 'en', stream: 'true', response_format: 'json' });
    expect(r.fields!.prompt).toBe('Acme orders. Expected words: sales, support.');
    expect(r.file).toMatchObject({ name: 'utterance.wav', type: 'audio/wav', sampleRate: 16000 });
    expect(r.heard).toBe('order 42');
    expect(r.chunksSent).toBe(3); // two deltas and the done event
    expect(metrics.map((m) => m.name)).toEqual(['firstPartial', 'latency']);
    expect(metrics.every((m) => m.callId === 'c1')).toBe(true);
  });

  it('asks whisper-1 for plain JSON (it cannot stream); language option and auto', async () => {
    const stt = new OpenAiStt({ apiKey: KEY, baseURL: fake.baseURL, model: 'whisper-1', language: 'de' });
    expect((await stt.recognize({ audio: utterance('hallo', 16000), sampleRate: 16000, language: 'en-US' })).text).toBe('hallo');
    expect(fake.of('transcriptions').at(-1)!.fields).toEqual({ model: 'whisper-1', language: 'de', response_format: 'json' });
    const auto = new OpenAiStt({ apiKey: KEY, baseURL: fake.baseURL, model: 'whisper-1', language: 'auto' });
    await auto.recognize({ audio: utterance('hi', 16000), sampleRate: 16000, language: 'en-US' });
    expect(fake.of('transcriptions').at(-1)!.fields!.language).toBeUndefined();
  });

  it('sends nothing for audio too short to hold a word', async () => {
    const n = fake.requests.length;
    const stt = new OpenAiStt({ apiKey: KEY, baseURL: fake.baseURL });
    expect(await stt.recognize({ audio: new Int16Array(800), sampleRate: 16000, language: 'en-US' })).toEqual({ text: '', final: true });
    expect(fake.requests.length).toBe(n);
  });

  it('a transcription stream cut off mid-way is a retryable connection error', async () => {
    fake.on('transcriptions', { fault: { kind: 'drop', afterChunks: 1 } }, { times: 3 });
    const stt = new OpenAiStt({ apiKey: KEY, baseURL: fake.baseURL, maxRetries: 0 });
    const err = await stt.recognize({ audio: utterance('order 42', 16000), sampleRate: 16000, language: 'en-US' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'VB_ERR_OPENAI_CONNECTION', retryable: true });
  });
});

describe('openai llm', () => {
  it('streams text, maps messages and tools, records usage in metrics', async () => {
    fake.on('chat', { reply: { text: 'Your order has shipped. It arrives Friday.', usage: { prompt: 31, completion: 9 } } });
    const llm = new OpenAiLlm({ apiKey: KEY, baseURL: fake.baseURL, model: 'gpt-4.1-mini', temperature: 0.3, maxTokens: 200 });
    const metrics: PluginMetric[] = [];
    llm.setMetricSink((m) => metrics.push(m));
    const evs = await collect(
      llm.chat({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'where is order 42' },
          { role: 'assistant', content: 'Let me check.', toolCalls: [{ id: 'call_a', name: 'lookup', arguments: '{"order":"42"}' }] },
          { role: 'tool', content: '{"status":"shipped"}', toolCallId: 'call_a', name: 'lookup' },
        ],
        tools: [{ name: 'lookup', description: 'Look up an order', parameters: { type: 'object', properties: { order: { type: 'string' } } } }],
        callId: 'c7',
      }),
    );
    const text = evs.filter((e): e is Extract<LlmEvent, { type: 'text' }> => e.type === 'text');
    expect(text.length).toBeGreaterThan(3);
    expect(text.map((e) => e.text).join('')).toBe('Your order has shipped. It arrives Friday.');
    expect(evs.at(-1)).toEqual({ type: 'done', finishReason: 'stop', usage: { promptTokens: 31, completionTokens: 9 } });
    const body = fake.of('chat').at(-1)!.json;
    expect(body).toMatchObject({
      model: 'gpt-4.1-mini',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.3,
      max_completion_tokens: 200,
      tools: [{ type: 'function', function: { name: 'lookup', description: 'Look up an order', parameters: { type: 'object' } } }],
    });
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'where is order 42' },
      { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{"order":"42"}' } }] },
      { role: 'tool', tool_call_id: 'call_a', content: '{"status":"shipped"}' },
    ]);
    const usage = metrics.filter((m) => m.unit === 'tokens').map((m) => [m.name, m.ms, m.callId]);
    expect(usage).toEqual([
      ['promptTokens', 31, 'c7'],
      ['completionTokens', 9, 'c7'],
    ]);
    expect(metrics.map((m) => m.name)).toContain('ttft');
  });

  it('assembles parallel tool calls from their deltas; arguments stay the model text for the flow to validate', async () => {
    fake.on('chat', {
      reply: {
        text: 'Checking both.',
        toolCalls: [
          { id: 'call_1', name: 'lookup', arguments: { order: '42', detail: { verbose: true } } },
          { id: 'call_2', name: 'lookup', arguments: '{"order": forty-three}' },
        ],
      },
    });
    const llm = new OpenAiLlm({ apiKey: KEY, baseURL: fake.baseURL });
    const evs = await collect(llm.chat({ messages: [{ role: 'user', content: 'orders 42 and 43' }], tools: [{ name: 'lookup', description: 'x', parameters: {} }] }));
    expect(fake.of('chat').at(-1)!.chunksSent).toBeGreaterThan(8); // arguments arrived in 8-char deltas
    expect(evs.filter((e) => e.type === 'tool_call')).toEqual([
      { type: 'tool_call', call: { id: 'call_1', name: 'lookup', arguments: '{"order":"42","detail":{"verbose":true}}' } },
      { type: 'tool_call', call: { id: 'call_2', name: 'lookup', arguments: '{"order": forty-three}' } },
    ]);
    expect(evs.at(-1)).toMatchObject({ type: 'done', finishReason: 'tool_calls' });
    // An empty parameters object is still sent as an object schema.
    expect(fake.of('chat').at(-1)!.json.tools[0].function.parameters).toEqual({ type: 'object', properties: {} });
  });

  it('aborts the HTTP request on cancellation (barge-in) and ends with done: cancelled', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    fake.on('chat', { reply: { text: 'A very long story begins here and goes on.', hold: { after: 'A very ', until: () => held } } });
    const llm = new OpenAiLlm({ apiKey: KEY, baseURL: fake.baseURL });
    const ac = new AbortController();
    const evs: LlmEvent[] = [];
    for await (const e of llm.chat({ messages: [{ role: 'user', content: 'story' }], signal: ac.signal })) {
      evs.push(e);
      if (e.type === 'text') ac.abort();
    }
    expect(evs.at(-1)).toEqual({ type: 'done', finishReason: 'cancelled' });
    const r = fake.of('chat').at(-1)!;
    await r.closed;
    expect(r.clientClosedEarly).toBe(true);
    release();
  });

  it('a stream that ends without finish_reason is an error, not a silent short reply', async () => {
    fake.on('chat', { reply: { text: 'Cut short', finishReason: null } });
    const llm = new OpenAiLlm({ apiKey: KEY, baseURL: fake.baseURL });
    const evs: LlmEvent[] = [];
    const err = await (async () => {
      for await (const e of llm.chat({ messages: [{ role: 'user', content: 'x' }] })) evs.push(e);
    })().catch((e) => e);
    expect(evs.map((e) => e.type)).toEqual(['text', 'text']);
    expect(err).toMatchObject({ code: 'VB_ERR_OPENAI_PROTOCOL', retryable: true });
    expect(err.message).toContain('/chat/completions');
  });

  it('a stream that stalls after text times out and is not retried (the text was used)', async () => {
    fake.on('chat', { reply: { text: 'cut' }, fault: { kind: 'stall', afterChunks: 2 } });
    const llm = new OpenAiLlm({ apiKey: KEY, baseURL: fake.baseURL, timeoutMs: 300, maxRetries: 0 });
    const evs: LlmEvent[] = [];
    const err = await (async () => {
      for await (const e of llm.chat({ messages: [{ role: 'user', content: 'x' }] })) evs.push(e);
    })().catch((e) => e);
    expect(evs).toEqual([{ type: 'text', text: 'cut' }]);
    expect(err).toMatchObject({ code: 'VB_ERR_OPENAI_TIMEOUT', retryable: true });
    expect(err.message).toContain('300 ms');
    const r = fake.of('chat').at(-1)!;
    await r.closed;
    expect(r.clientClosedEarly).toBe(true);
    expect(fake.of('chat').length).toBe(1 + fake.of('chat').indexOf(r));
  });
});

describe('openai tts', () => {
  it('asks for pcm and yields 24 kHz chunks, keeping odd trailing bytes for the next chunk', async () => {
    fake.on('speech', { chunkBytes: 777 });
    const tts = new OpenAiTts({ apiKey: KEY, baseURL: fake.baseURL, voice: 'coral', speed: 1.1, instructions: 'Warm and calm.' });
    const chunks = await collect(tts.synthesize({ text: ' Your order has shipped. ', sampleRate: 24000, language: 'en-US' }));
    expect(fake.of('speech').at(-1)!.json).toEqual({
      model: 'gpt-4o-mini-tts',
      voice: 'coral',
      input: 'Your order has shipped.',
      response_format: 'pcm',
      speed: 1.1,
      instructions: 'Warm and calm.',
    });
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.every((c) => c.sampleRate === 24000)).toBe(true);
    const all = new Int16Array(chunks.reduce((n, c) => n + c.samples.length, 0));
    let o = 0;
    for (const c of chunks) {
      all.set(c.samples, o);
      o += c.samples.length;
    }
    // Byte-exact: every sample split across two HTTP chunks was put back together.
    expect(all).toEqual(encodeMockSpeech('Your order has shipped.', 24000));
  });

  it('yields the first audio while the response is still streaming', async () => {
    fake.on('speech', { fault: { kind: 'stall', afterChunks: 2 } });
    const tts = new OpenAiTts({ apiKey: KEY, baseURL: fake.baseURL });
    const ac = new AbortController();
    const it = tts.synthesize({ text: 'Hello there, this is a long sentence.', sampleRate: 24000, language: 'en-US', signal: ac.signal })[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    const r = fake.of('speech').at(-1)!;
    expect(r.finishedAt).toBeUndefined();
    ac.abort();
    expect((await it.next()).done).toBe(true);
    await r.closed;
    expect(r.clientClosedEarly).toBe(true);
  });

  it('uses the request voice when the engine passes one; skips empty text', async () => {
    const tts = new OpenAiTts({ apiKey: KEY, baseURL: fake.baseURL, model: 'tts-1' });
    await collect(tts.synthesize({ text: 'Hi.', sampleRate: 24000, language: 'en-US', voice: 'nova' }));
    expect(fake.of('speech').at(-1)!.json).toEqual({ model: 'tts-1', voice: 'nova', input: 'Hi.', response_format: 'pcm' });
    const n = fake.requests.length;
    expect(await collect(tts.synthesize({ text: '  ', sampleRate: 24000, language: 'en-US' }))).toEqual([]);
    expect(fake.requests.length).toBe(n);
  });

  it('PcmAssembler handles one-byte chunks', () => {
    const a = new PcmAssembler();
    const out: number[] = [];
    for (const b of [0x01, 0x02, 0xff, 0xff, 0x00]) out.push(...a.push(Uint8Array.of(b)));
    expect(out).toEqual([0x0201, -1]);
    expect(a.pending).toBe(true);
  });
});

describe('options and the API key', () => {
  const yaml = (opts: string) => `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: openai${opts} }
  llm: { provider: openai${opts} }
  tts: { provider: openai${opts} }
flows:
  main:
    steps:
      bye: { hangup: "Bye." }
`;

  it('a missing key is a config-time error naming the env variable, at the provider line', async () => {
    const { config, diagnostics } = await loadConfigText(yaml(''), '/tmp/openai.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(config).toBeUndefined();
    expect(diagnostics.map((d) => [d.code, d.line])).toEqual([
      ['VB_ERR_OPENAI_API_KEY', 4],
      ['VB_ERR_OPENAI_API_KEY', 5],
      ['VB_ERR_OPENAI_API_KEY', 6],
    ]);
    expect(diagnostics[0].message).toContain('OPENAI_API_KEY');
    const ok = await loadConfigText(yaml(''), '/tmp/openai.yaml', { env: { OPENAI_API_KEY: 'sk-x' }, registry: createDefaultRegistry() });
    expect(ok.diagnostics).toEqual([]);
    const explicit = await loadConfigText(yaml(', apiKey: sk-y'), '/tmp/openai.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(explicit.diagnostics).toEqual([]);
  });

  it('create() without a key throws the same coded error', () => {
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      const e = (() => {
        try {
          openaiTtsPlugin.create({}, { configDir: '/tmp', logger: undefined as never, language: 'en-US' });
        } catch (err) {
          return err;
        }
      })();
      expect(e).toBeInstanceOf(VoicebotError);
      expect((e as VoicebotError).code).toBe('VB_ERR_OPENAI_API_KEY');
      expect((e as VoicebotError).message).toMatch(/Set the OPENAI_API_KEY environment variable/);
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
    }
  });

  it('each plugin has its own options schema (additionalProperties: false)', async () => {
    for (const m of [openaiSttPlugin, openaiLlmPlugin, openaiTtsPlugin]) expect(m.optionsSchema.additionalProperties).toBe(false);
    const bad = `version: 1
plugins:
  stt: { provider: openai, apiKey: k, voice: alloy }
  llm: { provider: openai, apiKey: k, temperature: 3 }
  tts: { provider: openai, apiKey: k, speed: 1.2, language: en }
flows:
  main:
    steps:
      bye: { hangup: "Bye." }
`;
    const { diagnostics } = await loadConfigText(bad, '/tmp/openai.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.map((d) => [d.code, d.line])).toEqual([
      ['VB_ERR_CONFIG_PLUGIN_OPTIONS', 3],
      ['VB_ERR_CONFIG_PLUGIN_OPTIONS', 4],
      ['VB_ERR_CONFIG_PLUGIN_OPTIONS', 5],
    ]);
    expect(diagnostics[0].message).toMatch(/"voice" is not an option/);
  });
});
