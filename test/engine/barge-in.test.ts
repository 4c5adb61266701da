import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../core/plugins/llm.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { Rig, ofType } from './harness.js';

const LONG = 'This is a rather long answer that keeps going for quite a while so that the caller has time to cut in';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

function llmRig(): Promise<Rig> {
  return new Rig({ plugins: () => ({ stt: new MockStt(), tts: new MockTts(), llm: new MockLlm({ script: [{ reply: LONG }] }) }) }).init();
}

describe('barge-in', () => {
  it('stops the bot when the caller talks over it, keeps only what was played, and delivers the caller to the next listen()', async () => {
    rig = await llmRig();
    const { caller, session, events } = await rig.call();
    const messages: ChatMessage[] = [{ role: 'user', content: 'tell me' }];
    const responding = session.respond({ messages });
    await caller.afterLoudFrames(40);
    const speaking = caller.say('stop please');
    const r = await responding;
    const loudAtInterrupt = caller.loudFramesIn;

    expect(r.interrupted).toBe(true);
    expect(r.playedText.length).toBeGreaterThan(0);
    expect(r.playedText.length).toBeLessThan(LONG.length);
    expect(LONG.startsWith(r.playedText)).toBe(true);
    // History keeps the heard part only, and the caller really heard at least that much.
    expect(r.history).toEqual([{ role: 'assistant', content: r.playedText }]);
    expect(caller.partial.startsWith(r.playedText)).toBe(true);
    expect(ofType(events, 'bot.said').at(-1)).toMatchObject({ text: r.playedText, interrupted: true });

    expect(await session.listen({ input: ['speech'], timeoutMs: 5000 })).toEqual({ type: 'speech', text: 'stop please' });
    await speaking;
    // Not a single bot frame with sound after the bot was cut off.
    expect(caller.loudFramesIn).toBe(loudAtInterrupt);
    caller.stop();
  });

  it('ignores noise shorter than minSpeechMs', async () => {
    rig = await new Rig().init();
    const { caller, session } = await rig.call();
    const saying = session.say('Please hold the line while I look that up for you.');
    await caller.afterLoudFrames(20);
    await caller.noise(100);
    const r = await saying;
    expect(r).toEqual({ interrupted: false, playedText: 'Please hold the line while I look that up for you.' });
    await caller.waitHeard((h) => h.length >= 1);
    expect(caller.heard).toEqual(['Please hold the line while I look that up for you.']);
    // The noise is not a turn either.
    expect(await session.listen({ input: ['speech'], timeoutMs: 600 })).toEqual({ type: 'timeout' });
    caller.stop();
  });

  it('plays to the end when bargeIn is false', async () => {
    rig = await new Rig().init();
    const { caller, session } = await rig.call();
    const saying = session.say('Your call may be recorded for quality purposes.', { bargeIn: false });
    await caller.afterLoudFrames(10);
    void caller.say('operator');
    const r = await saying;
    expect(r).toEqual({ interrupted: false, playedText: 'Your call may be recorded for quality purposes.' });
    await caller.waitHeard((h) => h.length >= 1);
    expect(caller.heard).toEqual(['Your call may be recorded for quality purposes.']);
    caller.stop();
  });
});
