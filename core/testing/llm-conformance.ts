import { describe, expect } from 'vitest';
import type { LlmEvent, LlmPlugin, ToolSpec } from '../plugins/llm.js';
import { ProviderError } from '../plugins/errors.js';
import { caseFor, useFixture, collect, type Skips } from './common.js';

export interface LlmFixture {
  plugin: LlmPlugin;
  failing?: LlmPlugin;
  /** A user message that makes this model call the `lookup` tool. */
  toolPrompt?: string;
  cleanup?: () => Promise<void>;
}

const LOOKUP: ToolSpec = {
  name: 'lookup',
  description: 'Look up an order by number',
  parameters: { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] },
};

export function describeLlmConformance(name: string, factory: () => Promise<LlmFixture>, skips?: Skips): void {
  describe(`llm conformance: ${name}`, () => {
    let fx: LlmFixture;
    useFixture(factory, (f) => (fx = f));
    const test = caseFor(skips);

    test('streams text and ends with exactly one done; reports ttft', async () => {
      const metrics: string[] = [];
      fx.plugin.setMetricSink((m) => metrics.push(m.name));
      const evs = await collect(fx.plugin.chat({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello.' }] }));
      fx.plugin.setMetricSink(undefined);
      const texts = evs.filter((e) => e.type === 'text');
      expect(texts.length).toBeGreaterThan(0);
      expect(evs.filter((e) => e.type === 'done').length).toBe(1);
      expect(evs[evs.length - 1].type).toBe('done');
      expect(metrics).toContain('ttft');
    });

    test('emits a tool call with JSON arguments when tools are given', async () => {
      if (!fx.plugin.capabilities.toolCalls) {
        throw new Error('capabilities.toolCalls is false: skip this test with a reason (the skips argument), so the report says why');
      }
      const evs = await collect(fx.plugin.chat({ messages: [{ role: 'user', content: fx.toolPrompt ?? 'look up order 42' }], tools: [LOOKUP] }));
      const call = evs.find((e): e is Extract<LlmEvent, { type: 'tool_call' }> => e.type === 'tool_call');
      expect(call?.call.name).toBe('lookup');
      expect(typeof JSON.parse(call!.call.arguments)).toBe('object');
      const done = evs.find((e) => e.type === 'done') as Extract<LlmEvent, { type: 'done' }>;
      expect(done.finishReason).toBe('tool_calls');
    });

    test('answers a responseSchema request: one JSON object of that shape with structuredOutput, else still a normal reply', async () => {
      const responseSchema = {
        name: 'intent',
        schema: {
          type: 'object',
          properties: { intent: { type: 'string', enum: ['sales', 'support', 'none'] } },
          required: ['intent'],
          additionalProperties: false,
        },
      };
      const evs = await collect(
        fx.plugin.chat({
          messages: [
            { role: 'system', content: 'Pick the intent: sales, support or none. Answer {"intent": "..."}.' },
            { role: 'user', content: 'I need support with my bill.' },
          ],
          responseSchema,
          temperature: 0,
        }),
      );
      expect(evs.filter((e) => e.type === 'done').length).toBe(1);
      const text = evs.map((e) => (e.type === 'text' ? e.text : '')).join('');
      expect(text.length).toBeGreaterThan(0);
      if (fx.plugin.capabilities.structuredOutput) {
        const answer = JSON.parse(text) as Record<string, unknown>;
        expect(Object.keys(answer)).toEqual(['intent']);
        expect(['sales', 'support', 'none']).toContain(answer.intent);
      }
    });

    test('cancels on abort with finishReason cancelled and no throw', async () => {
      const ac = new AbortController();
      const evs: LlmEvent[] = [];
      for await (const e of fx.plugin.chat({ messages: [{ role: 'user', content: 'Tell me a long story about the sea and ships.' }], signal: ac.signal })) {
        evs.push(e);
        if (e.type === 'text') ac.abort();
      }
      const done = evs[evs.length - 1] as Extract<LlmEvent, { type: 'done' }>;
      expect(done.type).toBe('done');
      expect(done.finishReason).toBe('cancelled');
    });

    test('failures are ProviderErrors with a boolean retryable', async () => {
      if (!fx.failing) return expect(fx.failing).toBeUndefined();
      const err = await collect(fx.failing.chat({ messages: [{ role: 'user', content: 'x' }] })).catch((e) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(typeof err.retryable).toBe('boolean');
    });
  });
}
