import type { SendDigitsStep } from '../../config/types.js';
import { VoicebotError } from '../../errors/index.js';
import { realClock } from '../../time/clock.js';
import { throwIfAborted, type StepExecutor } from '../context.js';
import { outboundHooks } from '../outbound-hooks.js';

/** `w` in sendDigits: a half-second pause, as dialers write it. */
export const DIGIT_PAUSE_MS = 500;

/** Split "1w2#" into the runs the leg sends and the pauses between them. */
export function digitPlan(digits: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of digits.split(/(w+)/)) {
    if (!part) continue;
    out.push(part[0] === 'w' ? part.length * DIGIT_PAUSE_MS : part);
  }
  return out;
}

export const runSendDigits: StepExecutor<SendDigitsStep> = async (step, rc, signal) => {
  const send = outboundHooks(rc.config)?.setupFor(rc.session.info.id)?.sendDtmf;
  if (!send) throw new VoicebotError('VB_ERR_PLUGIN_UNSUPPORTED', { provider: 'flow', slot: 'telephony', feature: 'sendDigits on this call (only calls the bot placed carry a DTMF sender)' });
  for (const item of digitPlan(step.digits)) {
    throwIfAborted(signal);
    if (typeof item === 'number') await (rc.clock ?? realClock).sleep(item, signal);
    else await send(item);
  }
  throwIfAborted(signal);
  return undefined;
};
