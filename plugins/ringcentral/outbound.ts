import { VoicebotError } from '../../core/plugin-api.js';

/** The p-rc-api-ids header RingCentral puts on its SIP answers: the REST call-control ids of this party. */
export function parseApiIds(header: string | undefined): { telephonySessionId?: string; partyId?: string } {
  const h = header ?? '';
  const sid = /session-id=([^;\s]+)/.exec(h)?.[1];
  const pid = /party-id=([^;\s]+)/.exec(h)?.[1];
  return { ...(sid ? { telephonySessionId: sid } : {}), ...(pid ? { partyId: pid } : {}) };
}

/** A number RingCentral can dial: digits with an optional +, or a short extension. Spaces, dashes and brackets are dropped. */
export function dialableNumber(to: string): string | undefined {
  const n = to.replace(/^tel:/, '').replace(/[\s().-]/g, '');
  return /^\+?\d{2,15}$/.test(n) ? n : undefined;
}

/** Why an outbound INVITE ended without an answer, from its final SIP status line. */
export function dialFailure(to: string, statusLine: string, ringTimeoutMs: number, timedOut: boolean): VoicebotError {
  const code = Number(/^SIP\/2\.0 (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const detail = statusLine.replace(/^SIP\/2\.0 /, '') || 'no final response';
  if (timedOut || code === 408 || code === 480) return new VoicebotError('VB_ERR_OUTBOUND_NO_ANSWER', { to, timeoutMs: ringTimeoutMs });
  if (code === 486 || code === 600) return new VoicebotError('VB_ERR_OUTBOUND_BUSY', { to, detail });
  if (code === 603) return new VoicebotError('VB_ERR_OUTBOUND_DECLINED', { to, detail });
  return new VoicebotError('VB_ERR_OUTBOUND_FAILED', { to, detail });
}
