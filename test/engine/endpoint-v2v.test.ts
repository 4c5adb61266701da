import { afterEach, describe, expect, it } from 'vitest';
import type { Settings } from '../../core/config/types.js';
import type { TurnMetrics } from '../../core/engine/events.js';
import type { ChatMessage } from '../../core/plugins/llm.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { GAP_MS } from '../../plugins/mock/mock-speech.js';
import { Rig, ofType, settings } from './harness.js';

/**
 * Voice-to-voice (the caller's last speech sample → the first bot sample at
 * the caller) with the modelled provider delays: streaming STT words
 * 100 ms behind the audio and its final 200 ms after speech end, LLM first
 * token 350 ms, TTS first byte 150 ms. Virtual time: the figures are exact
 * and the same on every run, so the test asserts their order, not a budget.
 */
const STT = { latencyMs: 200, interimDelayMs: 100 };
const LLM_MS = 350;
const TTS_MS = 150;

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

async function voiceToVoice(s: Settings, text: string): Promise<{ v2v: number; m: TurnMetrics }> {
  rig = await new Rig({
    settings: s,
    plugins: (_i, t) => ({ stt: new MockStt(STT, { clock: t }), llm: new MockLlm({ latencyMs: LLM_MS }, { clock: t }), tts: new MockTts({ latencyMs: TTS_MS }, { clock: t }) }),
  }).init();
  const { caller, session, events } = await rig.call();
  const base: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }];
  const got = session.listen({ input: ['speech'], timeoutMs: 5000, preempt: { messages: base } });
  await caller.say(text);
  // The audio ends with a GAP_MS silence after the end marker's tone: that tone's end is the last speech sample.
  const lastSpeechAt = rig.time.now() - GAP_MS;
  const heard = caller.firstLoudFrame().then(() => rig!.time.now());
  const r = await got;
  const reply = session.respond({ messages: [...base, { role: 'user', content: r.type === 'speech' ? r.text : '' }] });
  const firstAt = await heard;
  await reply;
  await session.close('caller-hangup');
  const m = ofType(events, 'turn.metrics')[0];
  await rig.stop();
  rig = undefined;
  return { v2v: firstAt - lastSpeechAt, m };
}

describe('voice-to-voice with modelled delays (virtual clock)', () => {
  it('fixed timer > word-aware > preemptive, and the preemptive reply does not wait out the endpoint', async () => {
    const text = 'What are your opening hours on Sunday?';
    const fixed = await voiceToVoice(settings({ endOfSpeech: 600 }), text);
    const words = await voiceToVoice({ ...settings({ endOfSpeech: 600 }), turn: { minEndpointMs: 200, maxEndpointMs: 1500, preemptive: false } }, text);
    const pre = await voiceToVoice({ ...settings({ endOfSpeech: 600 }), turn: { minEndpointMs: 200, maxEndpointMs: 1500, preemptive: true } }, text);
    const fig = (x: { v2v: number; m: TurnMetrics }): string => `v2v ${x.v2v} ms (eou ${x.m.endOfUtteranceMs}, stt ${x.m.sttMs}, e2e ${x.m.e2eMs}, overhead ${x.m.overheadMs})`;
    console.log(`voice-to-voice, STT 200/100 ms, LLM ${LLM_MS} ms, TTS ${TTS_MS} ms: fixed ${fig(fixed)}; word-aware ${fig(words)}; preemptive ${fig(pre)}`);

    expect(fixed.m.endOfUtteranceMs).toBe(600);
    expect(words.m.endOfUtteranceMs).toBe(200);
    expect(fixed.v2v).toBeGreaterThan(words.v2v);
    expect(words.v2v).toBeGreaterThan(pre.v2v);
    // Without preemption the stages add up: endpoint, then the LLM, then TTS.
    expect(words.v2v).toBeGreaterThanOrEqual(words.m.endOfUtteranceMs! + LLM_MS + TTS_MS);
    // With it the LLM ran during the endpoint wait: less than endpoint + LLM + TTS.
    expect(pre.m.preemptive).toBe(true);
    expect(pre.v2v).toBeLessThan(pre.m.endOfUtteranceMs! + LLM_MS + TTS_MS);
    // The target: below LiveKit's preemptive figure (≈710 ms) with these delays.
    expect(pre.v2v).toBeLessThan(710);
  });
});
