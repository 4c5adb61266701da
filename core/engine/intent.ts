import { toVoicebotError } from '../errors/index.js';
import type { ChatMessage, LlmPlugin, ResponseSchema } from '../plugins/llm.js';
import { LinkedAbort } from './abort.js';

/** The answer when no intent fits. */
export const NO_INTENT = 'none';

/**
 * The request classifyIntent sends: an instruction any chat model can follow,
 * and a schema whose `intent` enum a provider with structured output enforces.
 */
export function intentRequest(text: string, intents: readonly string[]): { messages: ChatMessage[]; responseSchema: ResponseSchema } {
  const options = intents.map((i) => i.replace(/\s+/g, ' ').trim());
  const system = [
    'You classify what a caller said on a phone call.',
    `Pick the one intent below that matches the caller's words, or "${NO_INTENT}" when none of them does.`,
    'Intents:',
    ...options.map((i) => `- ${i}`),
    `Answer with only a JSON object: {"intent": "<one of the intents, or ${NO_INTENT}>"}.`,
  ].join('\n');
  return {
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: text },
    ],
    responseSchema: {
      name: 'intent',
      schema: {
        type: 'object',
        properties: { intent: { type: 'string', enum: [...options, NO_INTENT] } },
        required: ['intent'],
        additionalProperties: false,
      },
    },
  };
}

/**
 * The intent in a model's answer: `{"intent": …}` (bare, or inside a code
 * fence or prose), else the whole text as the intent's name. Compared without
 * case, quotes and a trailing full stop; null for "none" or no match.
 */
export function parseIntentAnswer(answer: string, intents: readonly string[]): string | null {
  let said = answer;
  const json = /\{[\s\S]*\}/.exec(answer)?.[0];
  if (json) {
    try {
      const v = (JSON.parse(json) as { intent?: unknown }).intent;
      if (typeof v === 'string') said = v;
    } catch {
      // not JSON after all: read the text as the intent name
    }
  }
  const a = said.trim().replace(/^["'`]+|["'`.]+$/g, '').trim().toLowerCase();
  if (!a || a === NO_INTENT) return null;
  const norm = (i: string): string => i.replace(/\s+/g, ' ').trim().toLowerCase();
  return intents.find((i) => norm(i) === a) ?? intents.find((i) => a.startsWith(norm(i))) ?? null;
}

/** Ask the llm slot which of `intents` (short descriptions) `text` matches; null when none. */
export async function classifyIntent(llm: LlmPlugin, callId: string, text: string, intents: readonly string[], ...signals: (AbortSignal | undefined)[]): Promise<string | null> {
  if (intents.length === 0) return null;
  const link = new LinkedAbort(...signals);
  let answer = '';
  try {
    for await (const ev of llm.chat({ ...intentRequest(text, intents), temperature: 0, signal: link.signal, callId })) {
      if (ev.type === 'text') answer += ev.text;
    }
  } catch (e) {
    if (link.signal.aborted) throw link.signal.reason;
    throw toVoicebotError(e, 'VB_ERR_PROVIDER', { provider: llm.provider, slot: 'llm' });
  } finally {
    link.dispose();
  }
  return parseIntentAnswer(answer, intents);
}
