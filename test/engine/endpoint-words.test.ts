import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '../../core/config/types.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { Rig, ofType, settings } from './harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const wordAware = (): Settings => ({ ...settings({ endOfSpeech: 600 }), turn: { minEndpointMs: 200, maxEndpointMs: 1500, preemptive: false } });

async function oneTurn(s: Settings, parts: { say?: string; pause?: number }[], listen: { numDigits?: number; complete?: (t: string) => boolean; endpoint?: { minMs?: number; maxMs?: number } } = {}) {
  rig = await new Rig({ settings: s, plugins: (_i, t) => ({ stt: new MockStt({}, { clock: t }), llm: new MockLlm({}, { clock: t }), tts: new MockTts({}, { clock: t }) }) }).init();
  const { caller, session, events } = await rig.call();
  const got = session.listen({ input: ['speech'], timeoutMs: 5000, ...listen });
  for (const p of parts) {
    if (p.say) await caller.say(p.say);
    if (p.pause) await rig.time.sleep(p.pause);
  }
  const r = await got;
  // The turn metrics of a turn without a reply are published when the call ends.
  await session.close('caller-hangup');
  const m = ofType(events, 'turn.metrics');
  return { r, eou: m[0]?.endOfUtteranceMs, interims: ofType(events, 'caller.interim').map((e) => e.text) };
}

describe('word-aware endpointing through the engine (mock streaming STT, virtual clock)', () => {
  it('a punctuated final ends the turn after minEndpoint', async () => {
    const t = await oneTurn(wordAware(), [{ say: 'Yes please.' }]);
    expect(t.r).toEqual({ type: 'speech', text: 'Yes please.' });
    expect(t.eou).toBe(200);
    // The interims reached the event bus as the words arrived.
    expect(t.interims.at(-1)).toBe('Yes please.');
    expect(t.interims.length).toBeGreaterThan(3);
  });

  it('the fixed timer (endOfSpeech, no settings.turn) waits the same for every answer', async () => {
    expect((await oneTurn(settings({ endOfSpeech: 600 }), [{ say: 'Yes please.' }])).eou).toBe(600);
  });

  it('words without an ending wait between the two', async () => {
    expect((await oneTurn(wordAware(), [{ say: 'yes please' }])).eou).toBe(400);
  });

  it('a trailing "and" waits maxEndpoint: the caller who goes on after 1 s is not cut off', async () => {
    const t = await oneTurn(wordAware(), [{ say: 'coffee and' }, { pause: 1000 }, { say: 'a croissant.' }]);
    expect(t.r).toEqual({ type: 'speech', text: 'coffee and a croissant.' });
    expect(t.eou).toBe(200);
  });

  it('"my number is 555", a pause, then the rest: one turn', async () => {
    const t = await oneTurn(wordAware(), [{ say: 'my number is 555' }, { pause: 900 }, { say: '867 5309.' }]);
    expect(t.r).toEqual({ type: 'speech', text: 'my number is 555 867 5309.' });
  });

  it('a trailing "and" with nothing after ends at maxEndpoint', async () => {
    expect((await oneTurn(wordAware(), [{ say: 'coffee and' }])).eou).toBe(1500);
  });

  it('a route matched by the words, or numDigits spoken, ends after minEndpoint; a listen override applies', async () => {
    expect((await oneTurn(wordAware(), [{ say: 'sales' }], { complete: (x) => /sales/i.test(x) })).eou).toBe(200);
    expect((await oneTurn(wordAware(), [{ say: '1 2 3 4' }], { numDigits: 4 })).eou).toBe(200);
    expect((await oneTurn(wordAware(), [{ say: 'Yes.' }], { endpoint: { minMs: 100 } })).eou).toBe(100);
  });
});
