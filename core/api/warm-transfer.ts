import { resample } from '../audio/resampler.js';
import { VoicebotError, toVoicebotError } from '../errors/index.js';
import type { WarmTransferRequest } from '../flow/outbound-hooks.js';
import type { Logger } from '../logging.js';
import type { ChatMessage, LlmPlugin } from '../plugins/llm.js';
import type { TtsPlugin } from '../plugins/tts.js';
import type { CallInfo, CallLeg, TelephonyPlugin } from '../plugins/telephony.js';
import type { Clock } from '../time/clock.js';

export interface WarmTransferDeps {
  telephony: TelephonyPlugin;
  tts?: TtsPlugin;
  language: string;
  clock: Clock;
  logger: Logger;
}

/**
 * Speak `text` on a leg that has no engine (the agent's side of a warm
 * transfer): TTS at a rate it offers, resampled to the leg, written in 20 ms
 * frames on the clock.
 */
export async function speakOnLeg(leg: CallLeg, text: string, d: Pick<WarmTransferDeps, 'tts' | 'language' | 'clock'>, signal?: AbortSignal): Promise<void> {
  if (!d.tts) return;
  const rate = leg.media.outputRate;
  const ttsRate = d.tts.capabilities.sampleRates.includes(rate) ? rate : d.tts.capabilities.sampleRates[0]!;
  const n = (rate * leg.media.frameMs) / 1000;
  let due = d.clock.now();
  let pending = new Int16Array(0);
  let t = 0;
  const flush = async (final: boolean) => {
    let off = 0;
    for (; off + n <= pending.length || (final && off < pending.length); off += n) {
      if (signal?.aborted) return;
      let frame = pending.subarray(off, off + n);
      if (frame.length < n) {
        const padded = new Int16Array(n);
        padded.set(frame);
        frame = padded;
      }
      leg.media.write({ samples: frame, sampleRate: rate, timestampMs: t });
      t += leg.media.frameMs;
      due += leg.media.frameMs;
      await d.clock.sleep(Math.max(0, due - d.clock.now()), signal);
    }
    pending = pending.slice(Math.min(off, pending.length));
  };
  for await (const chunk of d.tts.synthesize({ text, sampleRate: ttsRate, language: d.language, signal })) {
    const pcm = chunk.sampleRate === rate ? chunk.samples : resample(chunk.samples, chunk.sampleRate, rate);
    const joined = new Int16Array(pending.length + pcm.length);
    joined.set(pending);
    joined.set(pcm, pending.length);
    pending = joined;
    await flush(false);
  }
  await flush(true);
}

/** The instruction the summary is written with; `extra` (the step's summarize string) is appended. */
export const SUMMARY_INSTRUCTION =
  'You hand a phone call to a human agent. In one or two short sentences, tell the agent who is calling and what they want, from the conversation below. No greeting, no lists.';

/** The conversation as one transcript, so any model (and the mock) sees the caller's own words. */
export async function summarizeForAgent(llm: LlmPlugin, conversation: readonly ChatMessage[], extra: string | undefined, signal?: AbortSignal): Promise<string> {
  const lines = conversation
    .filter((m) => m.role === 'user' || (m.role === 'assistant' && m.content))
    .map((m) => `${m.role === 'user' ? 'caller' : 'bot'}: ${m.content}`);
  if (!lines.length) throw new VoicebotError('VB_ERR_FLOW_STEP', { step: 'transfer', kind: 'transfer', detail: 'no conversation to summarize yet' });
  const system = extra ? `${SUMMARY_INSTRUCTION} ${extra}` : SUMMARY_INSTRUCTION;
  let text = '';
  for await (const ev of llm.chat({ messages: [{ role: 'system', content: system }, { role: 'user', content: lines.join('\n') }], maxTokens: 120, signal })) {
    if (ev.type === 'text') text += ev.text;
  }
  if (!text.trim()) throw new VoicebotError('VB_ERR_FLOW_STEP', { step: 'transfer', kind: 'transfer', detail: 'the llm wrote an empty summary' });
  return text.trim();
}

/**
 * Warm transfer: call the agent, tell them who is calling and why, then have
 * the line connect caller and agent and drop the bot. Any failure leaves the
 * caller with the bot (the flow's onFail) and the agent hung up.
 */
export async function warmTransfer(caller: CallInfo, req: WarmTransferRequest, d: WarmTransferDeps): Promise<void> {
  const tel = d.telephony;
  const fail = (detail: string, cause?: unknown) => new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: caller.id, to: req.to, detail }, cause === undefined ? {} : { cause });
  if (!tel.capabilities.outbound || !tel.capabilities.bridge) throw fail(`${tel.provider} cannot call an agent and bridge (warm transfer); use mode: blind`);
  let agent: CallLeg;
  try {
    agent = await tel.dial({ to: req.to, ringTimeoutMs: req.ringTimeoutMs, signal: req.signal, meta: { warmTransferOf: caller.id } });
  } catch (e) {
    const err = toVoicebotError(e, 'VB_ERR_OUTBOUND_FAILED', { to: req.to, detail: String(e) });
    throw fail(`${err.code}: ${err.message}`, e);
  }
  let agentGone = false;
  agent.onEnded(() => (agentGone = true));
  try {
    if (req.summary) await speakOnLeg(agent, req.summary, d, req.signal);
    if (req.signal?.aborted) throw fail('the caller left before the agent was connected');
    if (agentGone) throw fail('the agent hung up before being connected');
    req.onBridging?.();
    await tel.bridge(caller, agent.info);
    d.logger.info({ callId: caller.id, agent: agent.info.id, to: req.to }, 'warm transfer connected');
  } catch (e) {
    await agent.hangup('bot-hangup').catch(() => undefined);
    throw e instanceof VoicebotError && e.code === 'VB_ERR_TRANSFER_FAILED' ? e : fail(e instanceof Error ? e.message : String(e), e);
  }
}
