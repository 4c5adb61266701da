/**
 * Scriptable, deterministic LLM.
 *
 * Rules (option `script`) are tried in order against the last user message;
 * the first whose `when` regex matches (or that has no `when`) answers with a
 * `reply` (streamed word by word) and/or a `toolCall`. Without a matching
 * rule it echoes: "You said: <text>." After a tool result it replies
 * "Done: <result>" unless a rule with `afterTool: true` matches.
 *
 * Structured output (how the engine classifies intents): a request with a
 * `responseSchema` gets one JSON object. A string property with an `enum`
 * holds the value sharing the most words with the user text (or a rule's
 * `intent`), else "none" when the enum has it; other strings hold the user
 * text. The prompt text plays no part.
 *
 * Timing models a hosted model: `latencyMs` is the time to first token,
 * `tokenDelayMs` the gap between later tokens (one token per word here).
 */
import { definePlugin } from '../../core/plugin-api.js';
import { LlmPlugin, type ChatRequest, type LlmCapabilities, type LlmEvent } from '../../core/plugin-api.js';
import { FAULT_SCHEMA_PROPS, Faults, type FaultOptions } from './faults.js';
import { realClock, type PluginContext, type Clock } from '../../core/plugin-api.js';

export interface MockLlmRule {
  when?: string;
  reply?: string;
  toolCall?: { name: string; arguments?: Record<string, unknown> };
  intent?: string;
  /** Match only right after a tool result. */
  afterTool?: boolean;
}

export interface MockLlmOptions extends FaultOptions {
  script?: MockLlmRule[];
  /** ms between streamed words after the first (default 0); the first waits latencyMs. */
  tokenDelayMs?: number;
}

function words(s: string): Set<string> {
  return new Set(s.toLowerCase().match(/[a-z0-9']+/g) ?? []);
}

export class MockLlm extends LlmPlugin {
  readonly capabilities: LlmCapabilities = { streaming: true, toolCalls: true, structuredOutput: true };
  private readonly faults: Faults;
  private readonly rules: { re?: RegExp; rule: MockLlmRule }[];
  private readonly tokenDelayMs: number;
  private calls = 0;

  private readonly clock: Clock;

  constructor(opts: MockLlmOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'mock') {
    super(provider);
    const clock = ctx.clock ?? realClock;
    this.clock = clock;
    this.faults = new Faults('llm', opts, clock);
    this.rules = (opts.script ?? []).map((rule) => ({ rule, re: rule.when ? new RegExp(rule.when, 'i') : undefined }));
    this.tokenDelayMs = opts.tokenDelayMs ?? 0;
  }

  protected async *_chat(req: ChatRequest): AsyncIterable<LlmEvent> {
    await this.faults.delay(req.signal);
    if (req.signal?.aborted) {
      yield { type: 'done', finishReason: 'cancelled' };
      return;
    }
    this.faults.check();
    const msgs = req.messages;
    const last = msgs[msgs.length - 1];
    const lastUser = [...msgs].reverse().find((m) => m.role === 'user');
    const userText = lastUser?.content ?? '';

    if (req.responseSchema) {
      yield { type: 'text', text: JSON.stringify(this.structured(req.responseSchema.schema, userText)) };
      yield { type: 'done', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 } };
      return;
    }

    const afterTool = last?.role === 'tool';
    const match = this.rules.find(({ re, rule }) => !!rule.afterTool === afterTool && !rule.intent && (!re || re.test(userText)))?.rule;
    if (match?.toolCall && !afterTool && req.tools?.some((t) => t.name === match.toolCall!.name)) {
      if (match.reply) yield* this.stream(match.reply, req.signal);
      yield {
        type: 'tool_call',
        call: { id: `call_${++this.calls}`, name: match.toolCall.name, arguments: JSON.stringify(match.toolCall.arguments ?? {}) },
      };
      yield { type: 'done', finishReason: 'tool_calls' };
      return;
    }
    const reply = match?.reply ?? (afterTool ? `Done: ${last.content}` : `You said: ${userText.replace(/[.!?]+$/, '')}.`);
    const cancelled = yield* this.stream(reply, req.signal);
    yield { type: 'done', finishReason: cancelled ? 'cancelled' : 'stop', usage: { promptTokens: msgs.length, completionTokens: reply.split(' ').length } };
  }

  private async *stream(text: string, signal?: AbortSignal): AsyncGenerator<LlmEvent, boolean> {
    const parts = text.split(/(?<= )/);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (signal?.aborted) return true;
      if (i > 0 && this.tokenDelayMs) await this.clock.sleep(this.tokenDelayMs, signal);
      if (signal?.aborted) return true;
      yield { type: 'text', text: p };
    }
    return false;
  }

  /** One value per schema property: enums are classified, other strings echo the user, the rest get a neutral value. */
  private structured(schema: Record<string, unknown>, text: string): Record<string, unknown> {
    const props = (schema.properties ?? {}) as Record<string, { type?: string; enum?: unknown[] }>;
    const out: Record<string, unknown> = {};
    for (const [key, p] of Object.entries(props)) {
      if (Array.isArray(p.enum)) out[key] = this.classify(p.enum.map(String), text);
      else if (p.type === 'string') out[key] = text;
      else if (p.type === 'number' || p.type === 'integer') out[key] = 0;
      else if (p.type === 'boolean') out[key] = false;
      else out[key] = null;
    }
    return out;
  }

  private classify(options: readonly string[], text: string): string {
    const byRule = this.rules.find(({ re, rule }) => rule.intent && re?.test(text))?.rule.intent;
    if (byRule && options.includes(byRule)) return byRule;
    const said = words(text);
    let best = options.includes('none') ? 'none' : options[0];
    let bestScore = 0;
    for (const option of options) {
      let score = 0;
      for (const w of words(option)) if (w.length > 2 && said.has(w)) score++;
      if (score > bestScore) {
        bestScore = score;
        best = option;
      }
    }
    return best;
  }
}

export const mockLlmPlugin = definePlugin<'llm', MockLlmOptions>({
  slot: 'llm',
  name: 'mock',
  virtualTime: true,
  description: 'Scriptable deterministic LLM (echo by default)',
  optionsSchema: {
    type: 'object',
    properties: {
      ...FAULT_SCHEMA_PROPS,
      latencyMs: { type: 'number', minimum: 0, description: 'time to first token, ms' },
      tokenDelayMs: { type: 'number', minimum: 0, description: 'ms between streamed words after the first (default 0)' },
      script: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            when: { type: 'string' },
            reply: { type: 'string' },
            intent: { type: 'string' },
            afterTool: { type: 'boolean' },
            toolCall: {
              type: 'object',
              properties: { name: { type: 'string' }, arguments: { type: 'object' } },
              required: ['name'],
              additionalProperties: false,
            },
          },
          additionalProperties: false,
        },
      },
    },
    additionalProperties: false,
  },
  create: (options, ctx) => new MockLlm(options, ctx),
});
