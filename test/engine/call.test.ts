import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../core/plugins/llm.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { Rig, jitteryClock, ofType, settings } from './harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

describe.each([
  { name: '8 kHz μ-law', rate: 8000, codec: 'pcmu' as const },
  { name: '16 kHz linear', rate: 16000, codec: 'l16' as const },
])('a whole call over the mock line, $name', ({ rate, codec }) => {
  it('says, listens, responds, and reports events and turn metrics', async () => {
    rig = await new Rig({ rate, codec }).init();
    const { caller, session, events, side } = await rig.call();

    const greet = await session.say('Welcome to Acme. How can I help?');
    expect(greet).toEqual({ interrupted: false, playedText: 'Welcome to Acme. How can I help?' });
    // Two TTS requests (one per sentence), each decoded back from the wire.
    await caller.waitHeard((h) => h.length >= 2);
    expect(caller.heard).toEqual(['Welcome to Acme.', 'How can I help?']);

    const listening = session.listen({ input: ['speech', 'dtmf'], timeoutMs: 5000 });
    await caller.say('I need help with billing');
    expect(await listening).toEqual({ type: 'speech', text: 'I need help with billing' });

    const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'I need help with billing' }];
    const r = await session.respond({ messages });
    expect(r).toMatchObject({ interrupted: false, playedText: 'You said: I need help with billing.', toolCalls: [] });
    // respond() leaves the caller's messages alone and returns what the turn adds.
    expect(messages).toHaveLength(2);
    expect(r.history).toEqual([{ role: 'assistant', content: 'You said: I need help with billing.' }]);
    await caller.waitHeard((h) => h.includes('You said: I need help with billing.'));

    const m = ofType(events, 'turn.metrics');
    expect(m).toHaveLength(1);
    expect(m[0].turn).toBe(1);
    for (const k of ['endOfUtteranceMs', 'sttMs', 'llmTtftMs', 'ttsTtfbMs', 'e2eMs', 'overheadMs'] as const) expect(m[0][k]).toBeTypeOf('number');
    // e2e spans the stages it is made of.
    expect(m[0].e2eMs!).toBeGreaterThanOrEqual(m[0].endOfUtteranceMs!);

    // DTMF: numDigits, finishOnKey, and the interceptor (hotkeys) consuming a digit.
    let seen = '';
    session.setDtmfInterceptor((d) => {
      seen += d;
      return d === '0';
    });
    const d1 = session.listen({ input: ['dtmf'], timeoutMs: 5000, numDigits: 3 });
    side.pressDtmf('102');
    side.pressDtmf('4');
    expect(await d1).toEqual({ type: 'dtmf', digits: '124' });
    const d2 = session.listen({ input: ['dtmf'], timeoutMs: 5000, finishOnKey: '#' });
    side.pressDtmf('55#');
    expect(await d2).toEqual({ type: 'dtmf', digits: '55' });
    expect(seen).toBe('102455#');
    session.setDtmfInterceptor(undefined);

    expect(await session.listen({ input: ['speech'], timeoutMs: 100 })).toEqual({ type: 'timeout' });

    await session.hangup('Goodbye.');
    expect(await side.ended).toBe('bot-hangup');
    await caller.waitHeard((h) => h.includes('Goodbye.'));
    caller.stop();

    const types = events.map((e) => e.type);
    expect(types[0]).toBe('call.started');
    expect(types.at(-1)).toBe('call.ended');
    expect(ofType(events, 'caller.said').map((e) => e.text)).toEqual(['I need help with billing']);
    expect(ofType(events, 'bot.said').map((e) => [e.text, e.interrupted])).toEqual([
      ['Welcome to Acme. How can I help?', false],
      ['You said: I need help with billing.', false],
      ['Goodbye.', false],
    ]);
    expect(ofType(events, 'dtmf').map((e) => e.digits).join('')).toBe('102455#');
    expect(ofType(events, 'call.ended')[0].reason).toBe('bot-hangup');
    await expect(session.say('too late')).rejects.toMatchObject({ code: 'VB_ERR_CALL_STATE' });
  });
});

describe('respond()', () => {
  it('puts the first TTS audio on the wire before the LLM finished', async () => {
    const order: string[] = [];
    class SpyLlm extends MockLlm {
      protected override async *_chat(req: Parameters<MockLlm['_chat']>[0]) {
        for await (const ev of super._chat(req)) {
          if (ev.type === 'done') order.push('llm-done');
          yield ev;
        }
      }
    }
    const reply = 'Sure. Your balance is 42.50 dollars, due on Jan. 5. Anything else?';
    rig = await new Rig({
      plugins: (_i, clock) => ({ stt: new MockStt({}, { clock }), tts: new MockTts({}, { clock }), llm: new SpyLlm({ tokenDelayMs: 80, script: [{ reply }] }, { clock }) }),
    }).init();
    const { caller, session } = await rig.call();
    void caller.firstLoudFrame().then(() => order.push('first-audio'));
    const r = await session.respond({ messages: [{ role: 'user', content: 'balance?' }] });
    expect(r.playedText).toBe(reply);
    expect(order).toEqual(['first-audio', 'llm-done']);
    // Cut at sentence ends only: the decimal and the abbreviation stay inside their sentence.
    await caller.waitHeard((h) => h.length >= 3);
    expect(caller.heard).toEqual(['Sure.', 'Your balance is 42.50 dollars, due on Jan. 5.', 'Anything else?']);
    caller.stop();
  });

  it('runs tools and feeds results back until the model stops; stopOnTools ends the loop', async () => {
    const script = [
      { when: 'order', reply: 'Let me check.', toolCall: { name: 'lookup', arguments: { id: 7 } } },
      { afterTool: true, reply: 'It ships tomorrow.' },
      { when: 'human', toolCall: { name: 'handoff' } },
    ];
    rig = await new Rig({ plugins: () => ({ stt: new MockStt(), tts: new MockTts(), llm: new MockLlm({ script }) }) }).init();
    const { caller, session } = await rig.call();
    const tools = [
      { name: 'lookup', description: 'find an order', parameters: { type: 'object' } },
      { name: 'handoff', description: 'to a human', parameters: { type: 'object' } },
    ];
    const messages: ChatMessage[] = [{ role: 'user', content: 'where is my order' }];
    const ran: string[] = [];
    const r = await session.respond({
      messages,
      tools,
      runTool: async (call) => {
        ran.push(`${call.name}${call.arguments}`);
        return { eta: 'tomorrow' };
      },
    });
    expect(ran).toEqual(['lookup{"id":7}']);
    expect(r.playedText).toBe('Let me check. It ships tomorrow.');
    expect(r.toolCalls).toEqual([{ call: expect.objectContaining({ name: 'lookup' }), result: { eta: 'tomorrow' } }]);
    expect(messages.map((m) => m.role)).toEqual(['user']);
    expect(r.history.map((m) => m.role)).toEqual(['assistant', 'tool', 'assistant']);
    expect(r.history[0]).toMatchObject({ content: 'Let me check.', toolCalls: [{ name: 'lookup' }] });
    expect(r.history[1]).toMatchObject({ content: '{"eta":"tomorrow"}', name: 'lookup' });

    const m2: ChatMessage[] = [{ role: 'user', content: 'get me a human' }];
    const r2 = await session.respond({ messages: m2, tools, runTool: async () => 'ok', stopOnTools: ['handoff'] });
    expect(r2.stoppedOnTool).toBe('handoff');
    expect(r2.history.map((m) => m.role)).toEqual(['assistant', 'tool']);
    caller.stop();
  });

  it('classifies intents through the llm slot', async () => {
    rig = await new Rig().init();
    const { caller, session } = await rig.call();
    expect(await session.classifyIntent('I have a billing question', ['billing question', 'technical support'])).toBe('billing question');
    expect(await session.classifyIntent('hello there', ['billing question', 'technical support'])).toBeNull();
    caller.stop();
  });
});

describe('recording', () => {
  it('writes a stereo WAV and a JSON transcript with turn metrics', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { decodeWav } = await import('../../core/audio/wav.js');
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    rig = await new Rig({ settings: settings({ recording: { enabled: true, dir } }) }).init();
    const { caller, session, side } = await rig.call();
    const l = session.listen({ input: ['speech'], timeoutMs: 5000 });
    await caller.say('hi');
    await l;
    await session.respond({ messages: [{ role: 'user', content: 'hi' }] });
    await session.hangup();
    await side.ended;
    caller.stop();
    const wav = decodeWav(readFileSync(join(dir, `${side.callId}.wav`)));
    expect(wav.channels).toBe(2);
    expect(wav.sampleRate).toBe(16000);
    const left = wav.samples.filter((_, i) => i % 2 === 0);
    const right = wav.samples.filter((_, i) => i % 2 === 1);
    const { decodeMockSpeech } = await import('../../plugins/mock/mock-speech.js');
    expect(decodeMockSpeech(left, 16000)).toBe('hi');
    expect(decodeMockSpeech(right, 16000)).toBe('You said: hi.');
    // The bot answers after the caller spoke: its audio starts later in the file.
    const firstLoud = (s: Int16Array): number => s.findIndex((x) => Math.abs(x) > 1000);
    expect(firstLoud(right)).toBeGreaterThan(firstLoud(left));
    const doc = JSON.parse(readFileSync(join(dir, `${side.callId}.json`), 'utf8'));
    expect(doc.transcript.map((e: { speaker: string; text: string }) => `${e.speaker}:${e.text}`)).toEqual(['caller:hi', 'bot:You said: hi.']);
    expect(doc.turns).toHaveLength(1);
    expect(doc.reason).toBe('bot-hangup');
  });
});

describe('recording under a late event loop', () => {
  // Regression: a bot frame that went out more than a frame late started a new
  // talk spurt at wall-clock time, so the bot track was torn ("You s6\u0007…").
  it('places bot frames by media time: late timers do not tear the bot track', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { decodeWav } = await import('../../core/audio/wav.js');
    const { decodeMockSpeech } = await import('../../plugins/mock/mock-speech.js');
    const { VirtualClock } = await import('../../core/time/virtual-clock.js');
    const dir = mkdtempSync(join(tmpdir(), 'rec-late-'));
    const base = new VirtualClock();
    // Every 4th timer 70 ms late: the pacer resyncs (more than two frames behind).
    rig = await new Rig({ time: jitteryClock(base, 4, 70), settings: settings({ recording: { enabled: true, dir } }) }).init();
    const { caller, session, side } = await rig.call();
    const l = session.listen({ input: ['speech'], timeoutMs: 5000 });
    await caller.say('hi');
    await l;
    await session.respond({ messages: [{ role: 'user', content: 'tell me more' }] });
    await session.hangup();
    await side.ended;
    caller.stop();
    base.dispose();
    const wav = decodeWav(readFileSync(join(dir, `${side.callId}.wav`)));
    const right = wav.samples.filter((_, i) => i % 2 === 1);
    expect(decodeMockSpeech(right, 16000)).toBe('You said: tell me more.');
  });
});

describe('non-streaming STT', () => {
  it('buffers the utterance and calls recognize() once at turn end, at a rate the provider takes', async () => {
    const calls: number[] = [];
    class BatchStt extends MockStt {
      override readonly capabilities = { streaming: false, interimResults: false, sampleRates: [8000] };
      protected override _recognize(req: Parameters<MockStt['_recognize']>[0]) {
        calls.push(req.sampleRate);
        return super._recognize(req);
      }
    }
    rig = await new Rig({ rate: 16000, codec: 'l16', plugins: () => ({ stt: new BatchStt(), llm: new MockLlm(), tts: new MockTts() }) }).init();
    const { caller, session } = await rig.call();
    const l = session.listen({ input: ['speech'], timeoutMs: 5000 });
    await caller.say('batch mode works');
    expect(await l).toEqual({ type: 'speech', text: 'batch mode works' });
    expect(calls).toEqual([8000]);
    caller.stop();
  });
});
