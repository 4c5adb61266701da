import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '../../core/config/types.js';
import type { ChatMessage, ChatRequest, LlmEvent, ToolSpec } from '../../core/plugins/llm.js';
import type { Clock } from '../../core/time/clock.js';
import { MockLlm, type MockLlmOptions } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { Rig, ofType, settings } from './harness.js';

/** The mock LLM, recording the caller's words of every request it gets and whether it was cancelled. */
class CountingLlm extends MockLlm {
  readonly asked: string[] = [];
  cancelled = 0;
  constructor(opts: MockLlmOptions, clock: Clock) {
    super(opts, { clock });
  }
  protected override async *_chat(req: ChatRequest): AsyncIterable<LlmEvent> {
    const user = [...req.messages].reverse().find((m) => m.role === 'user');
    this.asked.push(user?.content ?? '');
    req.signal?.addEventListener('abort', () => this.cancelled++, { once: true });
    yield* super._chat(req);
  }
}

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const preemptive = (on = true): Settings => ({ ...settings({ endOfSpeech: 600 }), turn: { minEndpointMs: 200, maxEndpointMs: 1500, preemptive: on } });
const SYSTEM: ChatMessage = { role: 'system', content: 'Be brief.' };
const RESERVE: ToolSpec = { name: 'reserve', description: 'reserve a table', parameters: { type: 'object', properties: {} } };

async function start(s: Settings, llmOpts: MockLlmOptions = {}) {
  let llm: CountingLlm | undefined;
  rig = await new Rig({
    settings: s,
    plugins: (_i, t) => {
      llm = new CountingLlm({ latencyMs: 350, ...llmOpts }, t);
      return { stt: new MockStt({}, { clock: t }), llm, tts: new MockTts({ latencyMs: 150 }, { clock: t }) };
    },
  }).init();
  const call = await rig.call();
  return { ...call, llm: llm! };
}

describe('preemptive reply', () => {
  it('is started before the endpoint and kept when the final words and the context are unchanged', async () => {
    const { caller, session, events, llm } = await start(preemptive());
    const base = [SYSTEM];
    const got = session.listen({ input: ['speech'], timeoutMs: 5000, preempt: { messages: base } });
    await caller.say('What time is it?');
    const r = await got;
    expect(r).toEqual({ type: 'speech', text: 'What time is it?' });
    // Started on the stable words, before the turn ended.
    expect(llm.asked).toEqual(['What time is it?']);
    const reply = await session.respond({ messages: [...base, { role: 'user', content: r.type === 'speech' ? r.text : '' }] });
    expect(reply.playedText).toBe('You said: What time is it.');
    expect(llm.asked).toHaveLength(1);
    await caller.waitHeard((h) => h.includes('You said: What time is it.'));
    await session.close('caller-hangup');
    const [m] = ofType(events, 'turn.metrics');
    expect(m.preemptive).toBe(true);
    expect(m.endOfUtteranceMs).toBe(200);
    // The model's own time is reported as it was...
    expect(m.llmTtftMs).toBe(350);
    expect(m.ttsTtfbMs).toBe(150);
    // ...but it overlapped the endpoint wait: the turn took less than the stages one after another.
    expect(m.e2eMs!).toBeLessThan(m.endOfUtteranceMs! + m.sttMs! + m.llmTtftMs! + m.ttsTtfbMs!);
    expect(m.overheadMs!).toBeGreaterThanOrEqual(0);
    expect(m.overheadMs!).toBeLessThan(40);
  });

  it('is discarded when the caller goes on, restarted on the new words, and nothing of it is heard', async () => {
    const { caller, session, events, llm } = await start(preemptive());
    const base = [SYSTEM];
    const got = session.listen({ input: ['speech'], timeoutMs: 5000, preempt: { messages: base } });
    await caller.say('I want to book');
    // Stable words with no ending wait 400 ms: 300 ms later the caller goes on.
    await rig!.time.sleep(300);
    expect(llm.asked).toEqual(['I want to book']);
    await caller.say('a table for two.');
    const r = await got;
    expect(r).toEqual({ type: 'speech', text: 'I want to book a table for two.' });
    expect(llm.asked).toEqual(['I want to book', 'I want to book a table for two.']);
    expect(llm.cancelled).toBe(1);
    const reply = await session.respond({ messages: [...base, { role: 'user', content: 'I want to book a table for two.' }] });
    expect(reply.history).toEqual([{ role: 'assistant', content: 'You said: I want to book a table for two.' }]);
    await caller.waitHeard((h) => h.includes('You said: I want to book a table for two.'));
    expect(caller.heard).not.toContain('You said: I want to book.');
    expect(ofType(events, 'bot.said').map((e) => e.text)).toEqual(['You said: I want to book a table for two.']);
    await session.close('caller-hangup');
    expect(ofType(events, 'turn.metrics')[0].preemptive).toBe(true);
  });

  it('a cough after the words were stable discards the generation; the same words start again at the next pause', async () => {
    const { caller, session, events, llm } = await start(preemptive());
    const got = session.listen({ input: ['speech'], timeoutMs: 5000, preempt: { messages: [SYSTEM] } });
    await caller.say('What time is it?');
    await rig!.time.sleep(100);
    expect(llm.asked).toEqual(['What time is it?']);
    await caller.noise(100);
    const r = await got;
    expect(r).toEqual({ type: 'speech', text: 'What time is it?' });
    expect(llm.asked).toEqual(['What time is it?', 'What time is it?']);
    expect(llm.cancelled).toBe(1);
    await session.respond({ messages: [SYSTEM, { role: 'user', content: 'What time is it?' }] });
    expect(llm.asked).toHaveLength(2);
    await session.close('caller-hangup');
    expect(ofType(events, 'turn.metrics')[0].preemptive).toBe(true);
  });

  it('runs no tool before the endpoint: a discarded generation\'s tool never runs, a kept one\'s runs after the turn ended', async () => {
    const { caller, session, llm } = await start(preemptive(), {
      script: [
        { when: 'book$', toolCall: { name: 'reserve', arguments: { early: true } } },
        { when: 'table', toolCall: { name: 'reserve', arguments: { early: false } } },
        { afterTool: true, reply: 'Booked.' },
      ],
    });
    const ran: { args: string; at: number }[] = [];
    let listenedAt = -1;
    const base = [SYSTEM];
    const got = session.listen({ input: ['speech'], timeoutMs: 5000, preempt: { messages: base, tools: [RESERVE] } });
    void got.then(() => (listenedAt = rig!.time.now()));
    await caller.say('I want to book');
    await rig!.time.sleep(300);
    await caller.say('a table.');
    await got;
    expect(llm.asked).toEqual(['I want to book', 'I want to book a table.']);
    // Both generations asked for the tool before the endpoint; neither ran it.
    expect(ran).toEqual([]);
    const reply = await session.respond({
      messages: [...base, { role: 'user', content: 'I want to book a table.' }],
      tools: [RESERVE],
      runTool: async (call) => {
        ran.push({ args: call.arguments, at: rig!.time.now() });
        return { ok: true };
      },
    });
    expect(ran.map((x) => x.args)).toEqual(['{"early":false}']);
    expect(ran[0].at).toBeGreaterThanOrEqual(listenedAt);
    expect(reply.playedText).toBe('Booked.');
    // The kept generation's tool call, then the request after the tool result.
    expect(llm.asked).toHaveLength(3);
  });

  it('is not used when the context changed (an intent exit, a different system prompt)', async () => {
    const { caller, session, events, llm } = await start(preemptive());
    const got = session.listen({ input: ['speech'], timeoutMs: 5000, preempt: { messages: [SYSTEM] } });
    await caller.say('Hello there.');
    await got;
    expect(llm.asked).toEqual(['Hello there.']);
    await session.respond({ messages: [{ role: 'system', content: 'Be verbose.' }, { role: 'user', content: 'Hello there.' }] });
    expect(llm.asked).toEqual(['Hello there.', 'Hello there.']);
    expect(llm.cancelled).toBeGreaterThanOrEqual(1);
    await session.close('caller-hangup');
    const [m] = ofType(events, 'turn.metrics');
    expect(m.preemptive).toBeUndefined();
    expect(m.llmTtftMs).toBe(350);
  });

  it('off (settings.turn.preemptive: false): the LLM starts when respond() asks', async () => {
    const { caller, session, llm } = await start(preemptive(false));
    const got = session.listen({ input: ['speech'], timeoutMs: 5000, preempt: { messages: [SYSTEM] } });
    await caller.say('Hello there.');
    await got;
    expect(llm.asked).toEqual([]);
  });
});

describe('turn metrics of a preemptive turn', () => {
  it('overhead counts only the LLM time left after the final transcript', async () => {
    const { summarize } = await import('../../core/engine/turn-metrics.js');
    // Speech ends at 0, endpoint 200, final 210; the LLM was started at 120 and answered at 470; TTS 470 → 620; wire 630.
    const m = summarize({ turn: 1, speechEndAt: 0, endpointAt: 200, finalAt: 210, llmStartAt: 120, llmFirstAt: 470, ttsStartAt: 470, ttsFirstAt: 620, preemptive: true }, 630);
    expect(m).toMatchObject({ preemptive: true, endOfUtteranceMs: 200, sttMs: 10, llmTtftMs: 350, ttsTtfbMs: 150, e2eMs: 630 });
    // 630 − 200 − 10 − (470 − 210) − 150
    expect(m.overheadMs).toBe(10);
    // Not preemptive: the whole ttft is on the path, as before.
    expect(summarize({ turn: 1, speechEndAt: 0, endpointAt: 200, finalAt: 210, llmStartAt: 215, llmFirstAt: 565, ttsStartAt: 565, ttsFirstAt: 715 }, 725).overheadMs).toBe(15);
  });
});
