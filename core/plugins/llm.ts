import { PluginBase } from './base.js';

export interface LlmCapabilities {
  streaming: boolean;
  toolCalls: boolean;
  /**
   * The provider holds the answer to `ChatRequest.responseSchema` (OpenAI:
   * response_format json_schema, strict). Absent or false: the schema is not
   * enforced, so the request's own instruction is all the model gets and the
   * caller parses the answer tolerantly.
   */
  structuredOutput?: boolean;
}

/**
 * The shape a structured answer must have. The answer arrives as `text`
 * events whose concatenation is one JSON object.
 */
export interface ResponseSchema {
  /** Identifies the schema to the provider: letters, digits, _ and -, at most 64. */
  name: string;
  /**
   * JSON Schema of the answer object, in the subset strict structured output
   * accepts: every property listed in `required`, `additionalProperties: false`.
   */
  schema: Record<string, unknown>;
}

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text, as the model produced it; validated before the tool runs. */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; content: string; toolCallId: string; name: string };

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export interface ChatRequest {
  messages: readonly ChatMessage[];
  tools?: readonly ToolSpec[];
  temperature?: number;
  maxTokens?: number;
  /** Ask for a JSON answer of this shape (enforced when capabilities.structuredOutput). */
  responseSchema?: ResponseSchema;
  signal?: AbortSignal;
  callId?: string;
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

export type LlmEvent =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'done'; finishReason: 'stop' | 'tool_calls' | 'length' | 'cancelled'; usage?: LlmUsage };

export abstract class LlmPlugin extends PluginBase {
  readonly slot = 'llm' as const;
  abstract readonly capabilities: LlmCapabilities;

  /**
   * Stream one completion. Ends with exactly one `done` event. Measures
   * `ttft` (request → first text or tool call) and `duration`.
   */
  async *chat(req: ChatRequest): AsyncGenerator<LlmEvent, void, undefined> {
    const t0 = performance.now();
    let first = true;
    for await (const ev of this._chat(req)) {
      if (first && ev.type !== 'done') {
        first = false;
        this.emitMetric('ttft', performance.now() - t0, req.callId);
      }
      yield ev;
    }
    this.emitMetric('duration', performance.now() - t0, req.callId);
  }

  protected abstract _chat(req: ChatRequest): AsyncIterable<LlmEvent>;
}
