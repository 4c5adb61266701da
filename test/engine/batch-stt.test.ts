import { afterEach, describe, expect, it } from 'vitest';
import type { RecognizeRequest, Transcript } from '../../core/plugins/stt.js';
import type { Clock } from '../../core/time/clock.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { Rig, ofType } from './harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

/** A batch STT like a two-thread decoder pool: the first request takes long, later ones are quick. */
class PoolStt extends MockStt {
  override readonly capabilities = { streaming: false, interimResults: false, sampleRates: [16000] };
  private n = 0;
  constructor(private readonly clock: Clock) {
    super({}, { clock }, 'pool');
  }
  protected override async _recognize(req: RecognizeRequest): Promise<Transcript> {
    const slow = this.n++ === 0;
    await this.clock.sleep(slow ? 8000 : 20);
    return super._recognize(req);
  }
}

describe('batch STT', () => {
  // Regression: endpoint() fired recognize() without waiting for the previous one, so a
  // quick second result overtook a slow first one: listen() got the utterances swapped.
  it('delivers finals in utterance order when a later request finishes first', async () => {
    rig = await new Rig({ rate: 16000, codec: 'l16', plugins: (_i, clock) => ({ stt: new PoolStt(clock), llm: new MockLlm({}, { clock }), tts: new MockTts({}, { clock }) }) }).init();
    const { caller, session, events } = await rig.call();
    await caller.say('first thing');
    // Past endOfSpeech: the first utterance ended and is being recognized (slowly).
    await rig.time.sleep(600);
    await caller.say('second thing');
    await rig.time.sleep(600);
    expect(await session.listen({ input: ['speech'], timeoutMs: 20_000 })).toEqual({ type: 'speech', text: 'first thing' });
    expect(await session.listen({ input: ['speech'], timeoutMs: 5000 })).toEqual({ type: 'speech', text: 'second thing' });
    expect(ofType(events, 'caller.said').map((e) => e.text)).toEqual(['first thing', 'second thing']);
    // One turn each, numbered in order.
    await session.hangup();
    expect(ofType(events, 'turn.metrics').map((m) => m.turn)).toEqual([1, 2]);
    caller.stop();
  });
});
