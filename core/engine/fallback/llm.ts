import type { MetricSink } from '../../plugins/base.js';
import { LlmPlugin, type ChatRequest, type LlmCapabilities, type LlmEvent } from '../../plugins/llm.js';
import { Chain, type FallbackOptions, type MemberInput } from './chain.js';

/**
 * An LLM chain. A provider that fails before its first event is replaced
 * transparently; once text reached the caller a retry would repeat it, so a
 * mid-stream failure is reported (and the provider marked unhealthy).
 */
export class FallbackLlm extends LlmPlugin {
  readonly capabilities: LlmCapabilities;
  readonly chain: Chain<LlmPlugin>;

  constructor(members: readonly MemberInput<LlmPlugin>[], opts: FallbackOptions = {}) {
    const chain = new Chain<LlmPlugin>('llm', members, opts);
    super(chain.name);
    this.chain = chain;
    this.capabilities = {
      streaming: chain.entries.every((e) => e.plugin.capabilities.streaming),
      toolCalls: chain.entries.every((e) => e.plugin.capabilities.toolCalls),
      structuredOutput: chain.entries.every((e) => e.plugin.capabilities.structuredOutput === true),
    };
  }

  override setMetricSink(sink: MetricSink | undefined): void {
    super.setMetricSink(sink);
    for (const e of this.chain.entries) e.plugin.setMetricSink(sink);
  }

  protected _chat(req: ChatRequest): AsyncIterable<LlmEvent> {
    return this.chain.run<LlmEvent>(req.signal, {
      start: (entry, signal) => entry.plugin.chat({ ...req, signal })[Symbol.asyncIterator](),
      // Once text reached the caller a retry would repeat it.
      failed: (_e, delivered) => delivered === 0,
    });
  }
}
