/**
 * The one gate for SIP text arriving from the proxy, before the WebPhone
 * library sees it. The library trusts its input: a header it expects missing,
 * or a P-rc call-control header that is not its XML, throws inside its async
 * handlers, where nobody catches (an unhandled rejection ends the process).
 */
import InboundMessage from 'ringcentral-web-phone/sip-message/inbound';
import RcMessage from 'ringcentral-web-phone/rc-message/rc-message';

/** Largest SIP message accepted (RingCentral's INVITEs are a few KiB). */
export const MAX_SIP_BYTES = 64 * 1024;
const MAX_HEADERS = 100;
const REQUEST_LINE = /^([A-Z]+) (sips?:\S+) SIP\/2\.0$/;
const STATUS_LINE = /^SIP\/2\.0 [1-6]\d\d( .*)?$/;
const HEADER_NAME = /^[A-Za-z0-9!%*_+`'~.-]+$/;
const CSEQ = /^\d{1,10} [A-Z]+$/;
const REQUIRED = ['Via', 'From', 'To', 'Call-Id', 'CSeq'];

export type ParsedSip = { ok: true; msg: InboundMessage } | { ok: false; detail: string; msg?: InboundMessage };

/** An inbound message the library can handle, or why not (with the message when it is complete enough to answer 400). */
export function parseInboundSip(text: string): ParsedSip {
  if (text.length > MAX_SIP_BYTES) return { ok: false, detail: `a SIP message of ${text.length} bytes (limit ${MAX_SIP_BYTES})` };
  const head = text.split('\r\n\r\n', 1)[0];
  const [start, ...lines] = head.split('\r\n');
  const request = REQUEST_LINE.exec(start);
  if (!request && !STATUS_LINE.test(start)) return { ok: false, detail: `bad start line ${JSON.stringify(start.slice(0, 60))}` };
  if (lines.length > MAX_HEADERS) return { ok: false, detail: `${lines.length} header lines (limit ${MAX_HEADERS})` };
  for (const l of lines) {
    const at = l.indexOf(': ');
    if (at <= 0 || !HEADER_NAME.test(l.slice(0, at))) return { ok: false, detail: `bad header line ${JSON.stringify(l.slice(0, 60))}` };
  }
  const msg = InboundMessage.fromString(text);
  const missing = REQUIRED.filter((h) => !msg.getHeader(h));
  if (missing.length) return { ok: false, detail: `missing ${missing.join(', ')}` };
  const cseq = msg.getHeader('CSeq')!;
  if (!CSEQ.test(cseq) || (request && !cseq.endsWith(` ${request[1]}`))) return { ok: false, detail: `bad CSeq ${JSON.stringify(cseq.slice(0, 40))}`, msg };
  const prc = msg.getHeader('P-rc');
  if (prc !== undefined && !isRcXml(prc)) return { ok: false, detail: 'a P-rc header that is not RingCentral call-control XML', msg };
  return { ok: true, msg };
}

function isRcXml(xml: string): boolean {
  try {
    const m = RcMessage.fromXml(xml);
    return typeof m.headers === 'object' && m.headers !== null && typeof m.body === 'object' && m.body !== null;
  } catch {
    return false;
  }
}
