import { afterEach, describe, expect, it } from 'vitest';
import { SentenceSplitter } from '../../core/engine/sentence-splitter.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { Rig, ofType } from './harness.js';

function pieces(text: string, opts: ConstructorParameters<typeof SentenceSplitter>[0]): string[] {
  const s = new SentenceSplitter(opts);
  const out: string[] = [];
  for (const tok of text.split(/(?<= )/)) out.push(...s.push(tok));
  const rest = s.flush();
  if (rest) out.push(rest);
  return out;
}

describe('quick start: the first piece before the first sentence ends', () => {
  it('cuts the first clause of two words or more, then follows the sentence rules', () => {
    expect(pieces('Of course, I can book that table for you. It is free tonight.', { quickStart: true })).toEqual(['Of course,', 'I can book that table for you.', 'It is free tonight.']);
  });
  it('cuts after a few words when no clause ends sooner; a one-word clause rides on', () => {
    expect(pieces('Sure, I can book that table for you tonight. Anything else?', { quickStart: true })).toEqual(['Sure, I can book that', 'table for you tonight.', 'Anything else?']);
    expect(pieces('Yes it is.', { quickStart: true })).toEqual(['Yes it is.']);
  });
  it('is off by default', () => {
    expect(pieces('Of course, I can book that table for you. It is free tonight.', {})).toEqual(['Of course, I can book that table for you.', 'It is free tonight.']);
  });
});

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

describe('respond() with an input-streaming TTS', () => {
  async function firstAudio(inputStreaming: boolean) {
    rig = await new Rig({
      plugins: (_i, t) => ({
        stt: new MockStt({}, { clock: t }),
        llm: new MockLlm({ latencyMs: 350, tokenDelayMs: 50, script: [{ reply: 'Of course, I can book that table for you tonight.' }] }, { clock: t }),
        tts: new MockTts({ latencyMs: 150, inputStreaming }, { clock: t }),
      }),
    }).init();
    const { caller, session, events } = await rig.call();
    const got = session.listen({ input: ['speech'], timeoutMs: 5000 });
    await caller.say('A table please.');
    await got;
    const r = await session.respond({ messages: [{ role: 'user', content: 'A table please.' }] });
    expect(r.playedText).toBe('Of course, I can book that table for you tonight.');
    await caller.waitHeard((h) => h.join(' ') === 'Of course, I can book that table for you tonight.');
    const heard = [...caller.heard];
    await session.close('caller-hangup');
    return { heard, m: ofType(events, 'turn.metrics')[0] };
  }

  it('hands TTS the first clause at once (it is heard as its own piece); without the capability the whole sentence', async () => {
    const quick = await firstAudio(true);
    expect(quick.heard).toEqual(['Of course,', 'I can book that table for you tonight.']);
    await rig!.stop();
    rig = undefined;
    const whole = await firstAudio(false);
    expect(whole.heard).toEqual(['Of course, I can book that table for you tonight.']);
    // Tokens every 50 ms: the clause is complete at the second one, the sentence only at the tenth (the last).
    expect(quick.m.llmToTtsMs).toBe(50);
    expect(whole.m.llmToTtsMs).toBe(450);
    expect(whole.m.e2eMs! - quick.m.e2eMs!).toBe(400);
  });
});
