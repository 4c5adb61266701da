import { afterEach, describe, expect, it } from 'vitest';
import { createFallback, FallbackLlm, FallbackStt, FallbackTts, remainingText } from '../../core/engine/fallback/index.js';
import { VoicebotError } from '../../core/errors/index.js';
import { ProviderError } from '../../core/plugins/errors.js';
import { TtsPlugin, type SynthesizeRequest, type TtsChunk } from '../../core/plugins/tts.js';
import { LlmPlugin, type ChatRequest, type LlmEvent } from '../../core/plugins/llm.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { decodeMockSpeech, encodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { Rig, ofType } from './harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

/** Mock TTS that dies (retryably) after `chunks` chunks of a request. */
class DyingTts extends MockTts {
  constructor(private readonly chunks: number) {
    super({ chunkMs: 100 }, {}, 'dying');
  }
  protected override async *_synthesize(req: SynthesizeRequest): AsyncIterable<TtsChunk> {
    let n = 0;
    for await (const c of super._synthesize(req)) {
      if (n++ === this.chunks) throw new ProviderError({ slot: 'tts', provider: 'dying', detail: 'connection reset', retryable: true });
      yield c;
    }
  }
}

class HangingLlm extends LlmPlugin {
  readonly capabilities = { streaming: true, toolCalls: true };
  protected async *_chat(req: ChatRequest): AsyncIterable<LlmEvent> {
    await new Promise<void>((r) => req.signal?.addEventListener('abort', () => r(), { once: true }));
    yield { type: 'done', finishReason: 'cancelled' };
  }
}

async function collect(tts: TtsPlugin, text: string): Promise<Int16Array[]> {
  const out: Int16Array[] = [];
  for await (const c of tts.synthesize({ text, sampleRate: 8000, language: 'en-US' })) out.push(c.samples);
  return out;
}

describe('fallback adapters', () => {
  it('TTS: a retryable failure moves on; the failed provider is skipped, then recovers', async () => {
    let now = 0;
    const a = new MockTts({ failAfter: 1 }, {}, 'a');
    const b = new MockTts({}, {}, 'b');
    const tts = createFallback('tts', [a, b], { now: () => now, recoveryMs: 1000 }) as FallbackTts;
    expect(tts).toBeInstanceOf(FallbackTts);
    expect(tts).toBeInstanceOf(TtsPlugin);
    await collect(tts, 'one');
    expect(tts.chain.healthy(tts.chain.entries[0])).toBe(true);
    const parts = await collect(tts, 'two');
    expect(decodeMockSpeech(Int16Array.from(parts.flatMap((p) => [...p])), 8000)).toBe('two');
    expect(tts.chain.healthy(tts.chain.entries[0])).toBe(false);
    expect(tts.chain.order()[0].plugin).toBe(b);
    now = 1001;
    expect(tts.chain.order()[0].plugin).toBe(a);
  });

  it('TTS mid-stream failure: the next provider speaks the rest of the text', async () => {
    const text = 'alpha beta gamma delta';
    const tts = new FallbackTts([new DyingTts(15), new MockTts({}, {}, 'b')]);
    const parts = await collect(tts, text);
    const all = Int16Array.from(parts.flatMap((p) => [...p]));
    // The second provider's utterance is a complete one: the words not yet delivered (maybe one repeated).
    const rest = decodeMockSpeech(all, 8000);
    expect(rest.length).toBeGreaterThan(0);
    expect(text.endsWith(rest)).toBe(true);
    expect(rest).toBe('gamma delta');
  });

  it('remainingText cuts after the last completely delivered word', () => {
    const words = [
      { word: 'alpha', startMs: 0, endMs: 100 },
      { word: 'beta', startMs: 120, endMs: 200 },
    ];
    expect(remainingText('alpha beta gamma', words, 150)).toBe('beta gamma');
    expect(remainingText('alpha beta gamma', words, 250)).toBe('gamma');
    expect(remainingText('alpha beta gamma', [], 0)).toBe('alpha beta gamma');
  });

  it('non-retryable errors are rethrown; all failing is VB_ERR_FALLBACK_EXHAUSTED', async () => {
    const hard = new FallbackTts([new MockTts({ failAfter: 0, retryable: false }, {}, 'a'), new MockTts({}, {}, 'b')]);
    await expect(collect(hard, 'x')).rejects.toMatchObject({ code: 'VB_ERR_PROVIDER_MOCK_FAILURE', retryable: false });
    const all = new FallbackTts([new MockTts({ failAfter: 0 }, {}, 'a'), new MockTts({ failAfter: 0 }, {}, 'b')]);
    await expect(collect(all, 'x')).rejects.toMatchObject({ code: 'VB_ERR_FALLBACK_EXHAUSTED' });
  });

  it('LLM: a provider that does not answer in timeoutMs is replaced', async () => {
    const llm = new FallbackLlm([{ plugin: new HangingLlm('slow'), timeoutMs: 50 }, new MockLlm({}, {}, 'b')]);
    let text = '';
    for await (const ev of llm.chat({ messages: [{ role: 'user', content: 'hi' }] })) if (ev.type === 'text') text += ev.text;
    expect(text).toBe('You said: hi.');
    expect(llm.chain.healthy(llm.chain.entries[0])).toBe(false);
  });

  it('STT: recognize and streaming move to the next provider', async () => {
    const stt = new FallbackStt([new MockStt({ failAfter: 0 }, {}, 'a'), new MockStt({}, {}, 'b')]);
    const audio = encodeMockSpeech('hello', 16000);
    expect((await stt.recognize({ audio, sampleRate: 16000, language: 'en' })).text).toBe('hello');

    const finals: string[] = [];
    const errors: unknown[] = [];
    const s = new FallbackStt([new MockStt({ failAfter: 0 }, {}, 'a'), new MockStt({}, {}, 'b')]).stream({
      sampleRate: 16000,
      language: 'en',
      onTranscript: (t) => t.final && finals.push(t.text),
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < audio.length; i += 320) s.push({ samples: audio.subarray(i, i + 320), sampleRate: 16000, timestampMs: 0 });
    s.endUtterance();
    s.close();
    expect(errors).toEqual([]);
    expect(finals).toEqual(['hello']);
  });
});

describe('provider failures during calls', () => {
  it('the first TTS fails mid-call, the second takes over, the caller hears the full reply', async () => {
    rig = await new Rig({
      plugins: () => ({ stt: new MockStt(), llm: new MockLlm(), tts: createFallback('tts', [new MockTts({ failAfter: 1 }, {}, 'a'), new MockTts({}, {}, 'b')]) }),
    }).init();
    const { caller, session } = await rig.call();
    await session.say('Hello.');
    const r = await session.respond({ messages: [{ role: 'user', content: 'my parcel is late' }] });
    expect(r).toMatchObject({ interrupted: false, playedText: 'You said: my parcel is late.' });
    await caller.waitHeard((h) => h.length >= 2);
    expect(caller.heard).toEqual(['Hello.', 'You said: my parcel is late.']);
    caller.stop();
  });

  it('one call whose provider fails gets a coded error; concurrent calls finish normally', async () => {
    rig = await new Rig({
      plugins: (i) => ({
        stt: new MockStt(),
        tts: new MockTts(),
        llm: i === 0 ? new MockLlm({ failAfter: 0, retryable: false }, {}, 'broken') : new MockLlm(),
      }),
    }).init();
    const calls = [await rig.call(), await rig.call(), await rig.call()];
    const results = await Promise.allSettled(calls.map((c) => c.session.respond({ messages: [{ role: 'user', content: 'hi there' }] })));
    expect(results[0].status).toBe('rejected');
    const reason = (results[0] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(VoicebotError);
    expect(reason.code).toBe('VB_ERR_PROVIDER_MOCK_FAILURE');
    for (const r of results.slice(1)) expect(r).toMatchObject({ status: 'fulfilled', value: { playedText: 'You said: hi there.', interrupted: false } });
    // The failed call is still usable (the flow's on.error may speak).
    expect(calls[0].session.ended).toBe(false);
    await calls[0].session.say('Sorry.');
    for (const c of calls) {
      await c.caller.waitHeard((h) => h.length >= 1);
      await c.session.hangup();
      c.caller.stop();
    }
    expect(calls.map((c) => c.caller.heard.join('|'))).toEqual(['Sorry.', 'You said: hi there.', 'You said: hi there.']);
    expect(ofType(calls[1].events, 'call.ended')).toHaveLength(1);
  });
});
