import type { MetricSink } from '../../plugins/base.js';
import { LlmPlugin, type ChatRequest, type LlmCapabilities, type LlmEvent } from '../../plugins/llm.js';
import { LinkedAbort } from '../abort.js';
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

  protected async *_chat(req: ChatRequest): AsyncIterable<LlmEvent> {
    const errors: unknown[] = [];
    const budget = this.chain.budget();
    for (const entry of this.chain.order()) {
      if (budget.exhausted()) break;
      const link = new LinkedAbort(req.signal);
      const it = entry.plugin.chat({ ...req, signal: link.signal })[Symbol.asyncIterator]();
      let delivered = 0;
      try {
        for (;;) {
          const ms = delivered === 0 ? budget.firstResultMs(entry) : entry.timeoutMs;
          const r = await this.chain.withTimeout(it.next(), ms, () => this.chain.timeoutError(entry, ms));
          if (r.done) break;
          delivered++;
          yield r.value;
        }
        this.chain.markOk(entry);
        return;
      } catch (e) {
        link.abort();
        void it.return?.(undefined)?.catch(() => {});
        if (!this.chain.shouldFallOver(e, req.signal)) throw e;
        this.chain.markFailed(entry, e);
        if (delivered > 0) throw e;
        errors.push(e);
      } finally {
        link.dispose();
      }
    }
    throw this.chain.exhausted(errors);
  }
}
