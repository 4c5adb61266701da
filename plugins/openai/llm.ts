import type OpenAI from 'openai';
import type { PluginContext } from '../../core/plugin-api.js';
import { LlmPlugin, type ChatMessage, type ChatRequest, type LlmCapabilities, type LlmEvent, type LlmUsage, type ToolCall, type ToolSpec } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import { COMMON_SCHEMA_PROPS, ProtocolError, Requester, checkApiKey, createClient, toProviderError, type OpenAiCommonOptions } from './common.js';

type ChatParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming;
type ApiMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type ApiTool = OpenAI.Chat.Completions.ChatCompletionTool;
type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

export interface OpenAiLlmOptions extends OpenAiCommonOptions {
  /** 0..2; a flow's request may override it (intent classification uses 0). */
  temperature?: number;
  /** Upper bound of generated tokens per reply (sent as max_completion_tokens). */
  maxTokens?: number;
}

export const DEFAULT_LLM_MODEL = 'gpt-4o-mini';
const ENDPOINT = '/chat/completions';

export function toApiMessages(messages: readonly ChatMessage[]): ApiMessage[] {
  return messages.map((m): ApiMessage => {
    switch (m.role) {
      case 'system':
        return { role: 'system', content: m.content };
      case 'user':
        return { role: 'user', content: m.content };
      case 'assistant':
        return m.toolCalls?.length
          ? {
              role: 'assistant',
              content: m.content || null,
              tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
            }
          : { role: 'assistant', content: m.content };
      case 'tool':
        return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    }
  });
}

export function toApiTools(tools: readonly ToolSpec[]): ApiTool[] {
  return tools.map((t) => ({
    type: 'function',
    function: {
      name: t.name,
      description: t.description,
      parameters: Object.keys(t.parameters).length ? t.parameters : { type: 'object', properties: {} },
    },
  }));
}

interface PartialCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Streaming chat completions. Text deltas are yielded as they arrive; tool
 * calls are assembled from their deltas and yielded when the model finishes.
 * Arguments are passed on as the model wrote them: the flow's ToolRunner
 * parses and validates them against the tool's params before the tool runs,
 * and reports invalid ones back to the model as the tool result.
 * A request's responseSchema becomes a strict json_schema response_format,
 * so the model can only answer with that object.
 */
export class OpenAiLlm extends LlmPlugin {
  readonly capabilities: LlmCapabilities = { streaming: true, toolCalls: true, structuredOutput: true };
  readonly model: string;
  private readonly req: Requester;
  private readonly temperature: number | undefined;
  private readonly maxTokens: number | undefined;

  constructor(opts: OpenAiLlmOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'openai') {
    super(provider);
    this.model = opts.model ?? DEFAULT_LLM_MODEL;
    this.req = new Requester(createClient('llm', opts, ctx.logger), { slot: 'llm', provider, model: this.model }, ctx.logger);
    this.temperature = opts.temperature;
    this.maxTokens = opts.maxTokens;
  }

  protected async *_chat(req: ChatRequest): AsyncIterable<LlmEvent> {
    const temperature = req.temperature ?? this.temperature;
    const maxTokens = req.maxTokens ?? this.maxTokens;
    const body: ChatParams = {
      model: this.model,
      messages: toApiMessages(req.messages),
      stream: true,
      stream_options: { include_usage: true },
      ...(temperature !== undefined ? { temperature } : {}),
      ...(maxTokens !== undefined ? { max_completion_tokens: maxTokens } : {}),
      ...(req.tools?.length ? { tools: toApiTools(req.tools) } : {}),
      ...(req.responseSchema
        ? { response_format: { type: 'json_schema', json_schema: { name: req.responseSchema.name, schema: req.responseSchema.schema, strict: true } } }
        : {}),
    };
    const calls = new Map<number, PartialCall>();
    let finish: Chunk['choices'][number]['finish_reason'] | undefined;
    let usage: LlmUsage | undefined;
    let n = 0;
    const cancelled = (): LlmEvent => ({ type: 'done', finishReason: 'cancelled', ...(usage ? { usage } : {}) });

    // Until text or a tool call arrived (the role chunk comes first), a broken stream is simply sent again.
    const commits = (c: Chunk): boolean => !!c.choices?.[0]?.delta?.content || !!c.choices?.[0]?.delta?.tool_calls?.length || !!c.choices?.[0]?.finish_reason;
    const chunks = this.req.stream(ENDPOINT, req.signal, (scope) => this.req.client.chat.completions.create(body, { signal: scope.signal }), commits);
    for await (const chunk of chunks) {
      if (chunk.usage) usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const delta = choice.delta ?? {};
      if (delta.content) {
        yield { type: 'text', text: delta.content };
        if (req.signal?.aborted) break;
      }
      for (const tc of delta.tool_calls ?? []) {
        const idx = tc.index ?? 0;
        let c = calls.get(idx);
        if (!c) calls.set(idx, (c = { id: '', name: '', arguments: '' }));
        if (tc.id) c.id = tc.id;
        if (tc.function?.name) c.name += tc.function.name;
        if (tc.function?.arguments) c.arguments += tc.function.arguments;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (req.signal?.aborted) {
      yield cancelled();
      return;
    }
    if (finish === undefined || finish === null) {
      throw toProviderError(new ProtocolError('the stream ended before a finish_reason'), this.req.errorContext(ENDPOINT));
    }
    if (usage) {
      this.emitMetric('promptTokens', usage.promptTokens, req.callId, 'tokens');
      this.emitMetric('completionTokens', usage.completionTokens, req.callId, 'tokens');
    }
    const done = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
    for (const c of done) {
      if (!c.name) throw toProviderError(new ProtocolError('a tool call without a function name'), this.req.errorContext(ENDPOINT));
      const call: ToolCall = { id: c.id || `call_${Date.now().toString(36)}_${n++}`, name: c.name, arguments: c.arguments || '{}' };
      yield { type: 'tool_call', call };
    }
    const finishReason = done.length || finish === 'tool_calls' || finish === 'function_call' ? 'tool_calls' : finish === 'length' ? 'length' : 'stop';
    yield { type: 'done', finishReason, ...(usage ? { usage } : {}) };
  }
}

export const openaiLlmPlugin = definePlugin<'llm', OpenAiLlmOptions>({
  slot: 'llm',
  name: 'openai',
  description: 'OpenAI chat completions with streaming and tool calls, or any OpenAI-compatible server',
  optionsSchema: {
    type: 'object',
    properties: {
      ...COMMON_SCHEMA_PROPS,
      temperature: { type: 'number', minimum: 0, maximum: 2, description: 'sampling temperature' },
      maxTokens: { type: 'integer', minimum: 1, description: 'maximum tokens per reply (max_completion_tokens)' },
    },
    additionalProperties: false,
  },
  checkOptions: checkApiKey('llm'),
  create: (options, ctx) => new OpenAiLlm(options, ctx),
});
