import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfigText } from '../../core/config/load.js';
import { createPlugins } from '../../core/app/plugins.js';
import { createFallback, FallbackLlm } from '../../core/engine/fallback/index.js';
import { silentLogger } from '../../core/logging.js';
import { ProviderError } from '../../core/plugins/errors.js';
import { LlmPlugin, type ChatRequest, type LlmCapabilities, type LlmEvent } from '../../core/plugins/llm.js';
import { SttPlugin, type SttCapabilities, type SttStream, type Transcript } from '../../core/plugins/stt.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { OpenAiLlm, OpenAiStt } from '../../plugins/openai/index.js';
import { encodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { collect } from '../conformance/common.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai/index.js';

/** A provider that never answers and ignores its signal (a hung connection with the provider's own retries still to come). */
class StalledLlm extends LlmPlugin {
  readonly capabilities: LlmCapabilities = { streaming: true, toolCalls: true };
  readonly signals: AbortSignal[] = [];
  constructor(name: string) {
    super(name);
  }
  protected async *_chat(req: ChatRequest): AsyncIterable<LlmEvent> {
    if (req.signal) this.signals.push(req.signal);
    await new Promise(() => {});
    yield { type: 'done', finishReason: 'stop' };
  }
}

class AuthFailingLlm extends LlmPlugin {
  readonly capabilities: LlmCapabilities = { streaming: true, toolCalls: true };
  protected async *_chat(): AsyncIterable<LlmEvent> {
    throw new ProviderError({ slot: 'llm', provider: this.provider, detail: 'invalid api key', retryable: false, status: 401, code: 'VB_ERR_PROVIDER' });
  }
}

/** A streaming recognizer that takes audio and never says anything. */
class SilentStt extends SttPlugin {
  readonly capabilities: SttCapabilities = { streaming: true, interimResults: false, sampleRates: [16000] };
  opened = 0;
  protected async _recognize(): Promise<Transcript> {
    return new Promise(() => {});
  }
  protected override _stream(): SttStream {
    this.opened++;
    return { push: () => {}, endUtterance: () => {}, close: () => {} };
  }
}

const backup = () => new MockLlm({ script: [{ reply: 'Backup here.' }] }, {}, 'backup');
const ask = (p: LlmPlugin) => collect(p.chat({ messages: [{ role: 'user', content: 'hi' }] }));
const textOf = (evs: LlmEvent[]) => evs.map((e) => (e.type === 'text' ? e.text : '')).join('');

/** Settles `p` into a box so virtual time can be advanced while it is pending. */
function watch<T>(p: Promise<T>) {
  const box: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (v) => Object.assign(box, { done: true, value: v }),
    (e: unknown) => Object.assign(box, { done: true, error: e }),
  );
  return box;
}

describe('fallback chain budget (virtual time)', () => {
  afterEach(() => vi.useRealTimers());

  it('a stalled provider is abandoned after attemptMs (default 4 s), not after its own timeout × retries', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const stalled = new StalledLlm('stalled');
    const chain = createFallback('llm', [{ plugin: stalled, timeoutMs: 15_000 }, backup()]);
    const r = watch(ask(chain));
    await vi.advanceTimersByTimeAsync(3_999);
    expect(r.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await vi.waitFor(() => expect(r.done).toBe(true));
    expect(textOf(r.value!)).toBe('Backup here.');
    expect(stalled.signals[0].aborted).toBe(true);
  });

  it('the whole chain waits at most budgetMs in silence, then VB_ERR_FALLBACK_EXHAUSTED', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const a = new StalledLlm('a');
    const b = new StalledLlm('b');
    const c = new StalledLlm('c');
    const chain = createFallback('llm', [a, b, c], { attemptMs: 3_000, budgetMs: 5_000 });
    const r = watch(ask(chain));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(b.signals).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(r.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await vi.waitFor(() => expect(r.done).toBe(true));
    expect(r.error).toMatchObject({ code: 'VB_ERR_FALLBACK_EXHAUSTED' });
    // b got only what was left of the budget (2 s), and c was never asked.
    expect(c.signals).toHaveLength(0);
  });

  it('stt stream: after the utterance ends, each provider gets attemptMs and the chain budgetMs before onError', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const members = [new SilentStt('a'), new SilentStt('b'), new SilentStt('c')];
    const chain = createFallback('stt', members, { attemptMs: 1_000, budgetMs: 1_500 });
    const errors: unknown[] = [];
    const stream = chain.stream({ sampleRate: 16000, language: 'en-US', onTranscript: () => {}, onError: (e) => errors.push(e) });
    stream.push({ samples: new Int16Array(320), sampleRate: 16000, timestampMs: 0 });
    stream.endUtterance();
    await vi.advanceTimersByTimeAsync(999);
    expect(members.map((m) => m.opened)).toEqual([1, 0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(members.map((m) => m.opened)).toEqual([1, 1, 0]);
    // b gets only the 500 ms left of the budget; then the chain gives up instead of trying c.
    await vi.advanceTimersByTimeAsync(499);
    expect(errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(members.map((m) => m.opened)).toEqual([1, 1, 0]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'VB_ERR_FALLBACK_EXHAUSTED' });
    stream.close();
  });

  it('401/403 moves on only when opted in (settings.fallback.onAuthError)', async () => {
    const strict = createFallback('llm', [new AuthFailingLlm('primary'), backup()]);
    await expect(ask(strict)).rejects.toMatchObject({ status: 401 });
    const lenient = createFallback('llm', [new AuthFailingLlm('primary'), backup()], { fallbackOnAuth: true });
    expect(textOf(await ask(lenient))).toBe('Backup here.');
  });

  it('settings.fallback reaches the chains built from the config', async () => {
    const yaml = `version: 1
plugins:
  llm: [ { provider: mock }, { provider: mock } ]
settings:
  fallback: { attempt: 1500ms, budget: 3s, onAuthError: true }
flows:
  main:
    steps: { a: { hangup: } }
`;
    const { config, diagnostics } = await loadConfigText(yaml, '/tmp/fb.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const plugins = await createPlugins(config!, createDefaultRegistry(), silentLogger());
    const chain = (plugins.llm as FallbackLlm).chain;
    expect([chain.attemptMs, chain.budgetMs, chain.fallbackOnAuth]).toEqual([1500, 3000, true]);
  });
});

describe('fallback chain budget against the fake OpenAI server (real HTTP)', () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    fake.apiKey = 'sk-test';
  });
  afterAll(async () => fake.close());
  afterEach(() => fake.reset());

  it('llm: a stalled stream with the plugin defaults (15 s × 3 tries) yields to the backup after attemptMs', async () => {
    fake.on('chat', { fault: { kind: 'stall' } }, { times: Infinity });
    const primary = new OpenAiLlm({ apiKey: 'sk-test', baseURL: fake.baseURL });
    const chain = createFallback('llm', [primary, backup()], { attemptMs: 1000 });
    expect(textOf(await ask(chain))).toBe('Backup here.');
    // At most the one request, cut off by the chain: no retries of the stalled provider in the caller's silence.
    expect(fake.of('chat').length).toBeLessThanOrEqual(1);
  });

  it('llm: a 401 falls over only with fallbackOnAuth', async () => {
    fake.on('chat', { fault: { kind: 'status', status: 401 } }, { times: Infinity });
    const mk = (fallbackOnAuth: boolean) => createFallback('llm', [new OpenAiLlm({ apiKey: 'sk-test', baseURL: fake.baseURL }), backup()], { fallbackOnAuth });
    await expect(ask(mk(false))).rejects.toMatchObject({ code: 'VB_ERR_OPENAI_AUTH' });
    expect(textOf(await ask(mk(true)))).toBe('Backup here.');
  });

  it('stt: a stalled transcription with the plugin defaults yields to the backup after attemptMs', async () => {
    fake.on('transcriptions', { fault: { kind: 'stall' } }, { times: Infinity });
    const chain = createFallback('stt', [new OpenAiStt({ apiKey: 'sk-test', baseURL: fake.baseURL }), new MockStt()], { attemptMs: 300 });
    const t = await chain.recognize({ audio: encodeMockSpeech('order 42', 16000), sampleRate: 16000, language: 'en-US' });
    expect(t.text).toBe('order 42');
  });
});
