/**
 * Each fault the fake injects, on each plugin: what the plugin does itself
 * (retry, honour retry-after) and what it hands up (a coded ProviderError whose
 * `retryable` lets a fallback chain move on).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFallback } from '../../core/engine/fallback/index.js';
import { ProviderError } from '../../core/plugins/errors.js';
import type { LlmEvent, LlmPlugin } from '../../core/plugins/llm.js';
import type { SttPlugin } from '../../core/plugins/stt.js';
import type { TtsPlugin } from '../../core/plugins/tts.js';
import { encodeMockSpeech, decodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { OpenAiLlm, OpenAiStt, OpenAiTts, MAX_RETRY_WAIT_MS } from '../../plugins/openai/index.js';
import { collect } from '../conformance/common.js';
import { FakeOpenAI, startFakeOpenAI, type Fault } from '../fakes/openai/index.js';

const KEY = 'sk-test';
let fake: FakeOpenAI;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  fake = await startFakeOpenAI();
  fake.apiKey = KEY;
});
afterAll(async () => {
  await fake.close();
  process.off('unhandledRejection', onUnhandled);
});
afterEach(() => {
  fake.reset();
  expect(unhandled).toEqual([]);
});

const llm = (o: Record<string, unknown> = {}) => new OpenAiLlm({ apiKey: KEY, baseURL: fake.baseURL, ...o });
const tts = (o: Record<string, unknown> = {}) => new OpenAiTts({ apiKey: KEY, baseURL: fake.baseURL, ...o });
const stt = (o: Record<string, unknown> = {}) => new OpenAiStt({ apiKey: KEY, baseURL: fake.baseURL, ...o });
const ask = (p: LlmPlugin, text = 'hello there') => collect(p.chat({ messages: [{ role: 'user', content: text }] }));
const speak = (p: TtsPlugin, text = 'Hello there.') => collect(p.synthesize({ text, sampleRate: 24000, language: 'en-US' }));
const hear = (p: SttPlugin, text = 'hello') => {
  const a = encodeMockSpeech(text, 16000);
  return p.recognize({ audio: a, sampleRate: 16000, language: 'en-US' });
};
async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProviderError);
  return e as ProviderError;
}
const textOf = (evs: LlmEvent[]) => evs.map((e) => (e.type === 'text' ? e.text : '')).join('');

describe('retries inside the plugin', () => {
  it('429 with retry-after-ms: waits as asked, then succeeds (llm, tts, stt)', async () => {
    for (const ep of ['chat', 'speech', 'transcriptions'] as const) fake.on(ep, { fault: { kind: 'status', status: 429, retryAfterMs: 120 } });
    expect(textOf(await ask(llm()))).toBe('You said: hello there.');
    expect((await speak(tts())).length).toBeGreaterThan(0);
    expect((await hear(stt())).text).toBe('hello');
    for (const ep of ['chat', 'speech', 'transcriptions'] as const) {
      const [a, b] = fake.of(ep).slice(-2);
      expect([a.status, a.outcome, b.status]).toEqual([429, 'status', 200]);
      expect(b.startedAt - a.respondedAt!).toBeGreaterThanOrEqual(115);
    }
  });

  it('retry-after in seconds is honoured too', async () => {
    fake.on('chat', { fault: { kind: 'status', status: 503, retryAfterS: 0.15 } });
    await ask(llm());
    const [a, b] = fake.of('chat').slice(-2);
    expect(b.startedAt - a.respondedAt!).toBeGreaterThanOrEqual(145);
  });

  it('a retry-after too long for a live call is not waited out: the error carries it for the fallback chain', async () => {
    const n = fake.of('chat').length;
    fake.on('chat', { fault: { kind: 'status', status: 429, retryAfterS: 30 } });
    const e = await failure(ask(llm()));
    expect(e).toMatchObject({ code: 'VB_ERR_OPENAI_RATE_LIMITED', retryable: true, status: 429, retryAfterMs: 30_000 });
    expect(e.message).toContain('retry after 30000 ms');
    expect(fake.of('chat').length).toBe(n + 1);
    expect(30_000).toBeGreaterThan(MAX_RETRY_WAIT_MS);
  });

  it('500s: maxRetries + 1 attempts, then a retryable VB_ERR_OPENAI_SERVER', async () => {
    const n = fake.of('speech').length;
    fake.on('speech', { fault: { kind: 'status', status: 500 } }, { times: 3 });
    const e = await failure(speak(tts({ maxRetries: 2 })));
    expect(e).toMatchObject({ code: 'VB_ERR_OPENAI_SERVER', retryable: true, status: 500 });
    expect(fake.of('speech').length).toBe(n + 3);
  });

  it('408 and 409 are retried like 5xx', async () => {
    fake.on('chat', { fault: { kind: 'status', status: 408 } });
    fake.on('chat', { fault: { kind: 'status', status: 409 } });
    expect(textOf(await ask(llm()))).toBe('You said: hello there.');
    expect(fake.of('chat').slice(-3).map((r) => r.status)).toEqual([408, 409, 200]);
  });

  it('other 4xx are not retried and not retryable; 401 names the key', async () => {
    const n = fake.of('chat').length;
    fake.on('chat', { fault: { kind: 'status', status: 400, message: "Unsupported parameter: 'temperature'" } });
    const e = await failure(ask(llm()));
    expect(e).toMatchObject({ code: 'VB_ERR_OPENAI_REQUEST', retryable: false, status: 400 });
    expect(e.message).toContain("Unsupported parameter: 'temperature'");
    expect(fake.of('chat').length).toBe(n + 1);
    const auth = await failure(ask(new OpenAiLlm({ apiKey: 'sk-wrong', baseURL: fake.baseURL })));
    expect(auth).toMatchObject({ code: 'VB_ERR_OPENAI_AUTH', retryable: false, status: 401 });
    expect(auth.message).toContain('OPENAI_API_KEY');
    fake.on('transcriptions', { fault: { kind: 'status', status: 404, message: 'model not found' } });
    expect(await failure(hear(stt()))).toMatchObject({ code: 'VB_ERR_OPENAI_REQUEST', retryable: false, status: 404 });
  });

  it('429 insufficient_quota is not retried, but lets a chain move on', async () => {
    const n = fake.of('chat').length;
    fake.on('chat', { fault: { kind: 'status', status: 429, code: 'insufficient_quota', message: 'You exceeded your current quota' } });
    const e = await failure(ask(llm()));
    expect(e).toMatchObject({ code: 'VB_ERR_OPENAI_QUOTA', retryable: true });
    expect(fake.of('chat').length).toBe(n + 1);
  });

  it('a connection that fails before any answer is retried; an unreachable server is VB_ERR_OPENAI_CONNECTION', async () => {
    fake.on('chat', { fault: { kind: 'drop' } });
    expect(textOf(await ask(llm()))).toBe('You said: hello there.');
    const closed = await startFakeOpenAI();
    const url = closed.baseURL;
    await closed.close();
    const e = await failure(ask(new OpenAiLlm({ apiKey: KEY, baseURL: url, maxRetries: 0 })));
    expect(e).toMatchObject({ code: 'VB_ERR_OPENAI_CONNECTION', retryable: true });
    expect(e.message).toContain(url);
  });

  it('a malformed SSE chunk before any text is retried; after text it is a retryable protocol error', async () => {
    fake.on('chat', { fault: { kind: 'malformed', afterChunks: 1 } });
    expect(textOf(await ask(llm()))).toBe('You said: hello there.');
    fake.on('chat', { fault: { kind: 'malformed', afterChunks: 3 } });
    const evs: LlmEvent[] = [];
    const e = await failure(
      (async () => {
        for await (const ev of llm().chat({ messages: [{ role: 'user', content: 'hello there' }] })) evs.push(ev);
      })(),
    );
    expect(textOf(evs)).toBe('You said: ');
    expect(e).toMatchObject({ code: 'VB_ERR_OPENAI_PROTOCOL', retryable: true });
  });

  it('a stall before the first byte times out and is retried; TTS and STT stalls end in VB_ERR_OPENAI_TIMEOUT', async () => {
    fake.on('chat', { fault: { kind: 'stall', afterChunks: 0 } });
    expect(textOf(await ask(llm({ timeoutMs: 200 })))).toBe('You said: hello there.');
    fake.on('speech', { fault: { kind: 'stall', afterChunks: 1 } });
    const chunks: unknown[] = [];
    const e = await failure(
      (async () => {
        for await (const c of tts({ timeoutMs: 200 }).synthesize({ text: 'Hello there.', sampleRate: 24000, language: 'en-US' })) chunks.push(c);
      })(),
    );
    expect(chunks.length).toBe(1);
    expect(e).toMatchObject({ code: 'VB_ERR_OPENAI_TIMEOUT', retryable: true });
    fake.on('transcriptions', { fault: { kind: 'stall', afterChunks: 1 } }, { times: 2 });
    expect(await failure(hear(stt({ timeoutMs: 200, maxRetries: 1 })))).toMatchObject({ code: 'VB_ERR_OPENAI_TIMEOUT', retryable: true });
    const stalled = fake.of('transcriptions').slice(-2);
    await Promise.all(stalled.map((r) => r.closed));
    expect(stalled.map((r) => r.clientClosedEarly)).toEqual([true, true]);
  });

  it('cancellation during a retry wait returns at once (no throw for the LLM, VB_ERR_CANCELLED for STT)', async () => {
    fake.on('chat', { fault: { kind: 'status', status: 503, retryAfterMs: 2_500 } });
    const ac = new AbortController();
    const p = collect(llm().chat({ messages: [{ role: 'user', content: 'x' }], signal: ac.signal }));
    await fake.waitFor((r) => r.endpoint === 'chat' && r.status === 503 && r.respondedAt !== undefined);
    ac.abort();
    expect((await p).at(-1)).toEqual({ type: 'done', finishReason: 'cancelled' });
    fake.on('transcriptions', { fault: { kind: 'status', status: 503, retryAfterMs: 2_500 } });
    const ac2 = new AbortController();
    const q = stt().recognize({ audio: encodeMockSpeech('x', 16000), sampleRate: 16000, language: 'en-US', signal: ac2.signal }).catch((err) => err);
    await fake.waitFor((r) => r.endpoint === 'transcriptions' && r.status === 503);
    ac2.abort();
    expect(await q).toMatchObject({ code: 'VB_ERR_CANCELLED' });
  });
});

describe('fallback chains over openai', () => {
  it('llm: a provider failing before any text is replaced by the next one', async () => {
    fake.on('chat', { fault: { kind: 'status', status: 500 } }, { times: Infinity });
    const chain = createFallback('llm', [llm({ maxRetries: 1 }), new MockLlm({ script: [{ reply: 'Backup here.' }] })]);
    expect(textOf(await ask(chain))).toBe('Backup here.');
    expect(fake.of('chat').slice(-2).map((r) => r.status)).toEqual([500, 500]);
  });

  it('llm: a non-retryable 400 is not handed to the next provider', async () => {
    fake.on('chat', { fault: { kind: 'status', status: 400 } });
    const chain = createFallback('llm', [llm(), new MockLlm({ script: [{ reply: 'Backup here.' }] })]);
    expect(await failure(ask(chain))).toMatchObject({ code: 'VB_ERR_OPENAI_REQUEST' });
  });

  it('tts: a connection dropped mid-stream continues on the next provider with the text not yet spoken', async () => {
    fake.on('speech', { fault: { kind: 'drop', afterChunks: 2 }, chunkBytes: 24000 * 2 * 0.1 + 1 });
    const text = 'One two three four five six seven.';
    const chain = createFallback('tts', [tts(), new MockTts({ chunkMs: 100 })]);
    const chunks = await speak(chain, text);
    expect(fake.of('speech').at(-1)!.outcome).toBe('drop');
    // 200 ms came from openai, the rest (from the first word not fully heard) from the mock.
    const mock = chunks.filter((c) => c.words !== undefined);
    const rest = new Int16Array(mock.reduce((n, c) => n + c.samples.length, 0));
    let o = 0;
    for (const c of mock) {
      rest.set(c.samples, o);
      o += c.samples.length;
    }
    const said = decodeMockSpeech(rest, mock[0].sampleRate);
    expect(text.endsWith(said)).toBe(true);
    expect(said.length).toBeGreaterThan(10);
  });

  it('stt: a stalled transcription falls over to the next provider', async () => {
    fake.on('transcriptions', { fault: { kind: 'stall' } }, { times: Infinity });
    const chain = createFallback('stt', [stt({ timeoutMs: 200, maxRetries: 0 }), new MockStt()]);
    expect((await hear(chain, 'order 42')).text).toBe('order 42');
  });

  it('a failing request of one caller leaves concurrent requests untouched', async () => {
    fake.on('chat', { fault: { kind: 'drop', afterChunks: 3 } }, { when: (r) => JSON.stringify(r.json.messages).includes('alpha'), times: Infinity });
    const p = llm();
    const [a, b, c] = await Promise.allSettled([ask(p, 'alpha one two three'), ask(p, 'bravo'), ask(p, 'charlie')]);
    expect(a.status).toBe('rejected');
    expect((a as PromiseRejectedResult).reason).toMatchObject({ code: 'VB_ERR_OPENAI_CONNECTION', retryable: true });
    expect(b.status === 'fulfilled' && textOf(b.value)).toBe('You said: bravo.');
    expect(c.status === 'fulfilled' && textOf(c.value)).toBe('You said: charlie.');
  });
});
