import { describe, expect, it } from 'vitest';
import { ReplyGenerator } from '../../core/engine/reply-generator.js';
import { TurnMetricsTracker } from '../../core/engine/turn-metrics.js';
import { VoicebotError } from '../../core/errors/index.js';
import type { ChatMessage } from '../../core/plugins/llm.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { outboundRig as rig } from './harness.js';

describe('ReplyGenerator', () => {
  function gen(script: NonNullable<ConstructorParameters<typeof MockLlm>[0]>['script']) {
    const r = rig();
    const metrics = new TurnMetricsTracker(() => {});
    const said: string[] = [];
    const end = new AbortController();
    const g = new ReplyGenerator({
      callId: 'c1',
      language: 'en-US',
      voice: undefined,
      llm: new MockLlm({ script }, { clock: r.time }),
      tts: new MockTts({}, { clock: r.time }),
      outbound: r.out,
      metrics,
      now: () => r.time.now(),
      endSignal: end.signal,
      said: (t, i) => said.push(`${t}${i ? ' [cut]' : ''}`),
      failed: (slot, e) => new VoicebotError('VB_ERR_PROVIDER', { provider: 'mock', slot, detail: String(e) }),
    });
    return { ...r, g, said };
  }

  it('respond() leaves the input alone and returns the turn as a history delta, tool round included', async () => {
    const r = gen([
      { when: 'order', reply: 'Let me check.', toolCall: { name: 'lookup', arguments: { id: 7 } } },
      { afterTool: true, reply: 'It ships tomorrow.' },
    ]);
    const messages: ChatMessage[] = [{ role: 'user', content: 'where is my order' }];
    const res = await r.g.respond({ messages, tools: [{ name: 'lookup', description: 'd', parameters: { type: 'object' } }], runTool: async () => ({ eta: 'tomorrow' }) });
    expect(messages).toEqual([{ role: 'user', content: 'where is my order' }]);
    expect(res.history.map((m) => [m.role, m.content])).toEqual([
      ['assistant', 'Let me check.'],
      ['tool', '{"eta":"tomorrow"}'],
      ['assistant', 'It ships tomorrow.'],
    ]);
    expect(res.playedText).toBe('Let me check. It ships tomorrow.');
    expect(r.said).toEqual(['Let me check. It ships tomorrow.']);
  });

  it('an interrupted reply keeps in its history only what was heard', async () => {
    const long = 'One two three four five six seven eight nine ten eleven twelve.';
    const r = gen([{ reply: long }]);
    const p = r.g.respond({ messages: [{ role: 'user', content: 'count' }] });
    await r.time.sleep(1500);
    const pb = r.out.playback!;
    r.out.stop(pb);
    pb.link.abort(new Error('barge-in'));
    const res = await p;
    expect(res.interrupted).toBe(true);
    expect(long.startsWith(res.playedText)).toBe(true);
    expect(res.playedText.length).toBeGreaterThan(0);
    expect(res.playedText.length).toBeLessThan(long.length);
    expect(res.history).toEqual([{ role: 'assistant', content: res.playedText }]);
  });
});
