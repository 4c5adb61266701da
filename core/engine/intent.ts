import { toVoicebotError } from '../errors/index.js';
import type { LlmPlugin } from '../plugins/llm.js';
import { LinkedAbort } from './abort.js';

/** Ask the llm slot which of `intents` (short descriptions) `text` matches; null when none. */
export async function classifyIntent(llm: LlmPlugin, callId: string, text: string, intents: readonly string[], ...signals: (AbortSignal | undefined)[]): Promise<string | null> {
  if (intents.length === 0) return null;
  const link = new LinkedAbort(...signals);
  let answer = '';
  try {
    for await (const ev of llm.chat({
      messages: [
        { role: 'system', content: ['CLASSIFY_INTENT', ...intents.map((i) => i.replace(/\n/g, ' '))].join('\n') },
        { role: 'user', content: text },
      ],
      temperature: 0,
      signal: link.signal,
      callId,
    })) {
      if (ev.type === 'text') answer += ev.text;
    }
  } catch (e) {
    if (link.signal.aborted) throw link.signal.reason;
    throw toVoicebotError(e, 'VB_ERR_PROVIDER', { provider: llm.provider, slot: 'llm' });
  } finally {
    link.dispose();
  }
  const a = answer.trim().replace(/^["']|["'.]$/g, '').trim().toLowerCase();
  if (!a || a === 'none') return null;
  return intents.find((i) => i.toLowerCase() === a) ?? intents.find((i) => a.startsWith(i.toLowerCase())) ?? null;
}
