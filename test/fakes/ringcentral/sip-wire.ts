import { createHash, randomBytes } from 'node:crypto';

/** Minimal SIP text codec for the fake; independent of the WebPhone's own parser. */
export interface SipMsg {
  /** Request line or status line. */
  start: string;
  headers: [string, string][];
  body: string;
}

export function parseSip(text: string): SipMsg {
  const idx = text.indexOf('\r\n\r\n');
  const head = idx < 0 ? text : text.slice(0, idx);
  const body = idx < 0 ? '' : text.slice(idx + 4);
  const [start, ...lines] = head.split('\r\n');
  const headers: [string, string][] = [];
  for (const l of lines) {
    const c = l.indexOf(':');
    if (c > 0) headers.push([l.slice(0, c).trim(), l.slice(c + 1).trim()]);
  }
  return { start: start ?? '', headers, body };
}

export function header(m: SipMsg, name: string): string | undefined {
  const n = name.toLowerCase();
  return m.headers.find(([k]) => k.toLowerCase() === n)?.[1];
}

export function serializeSip(start: string, headers: [string, string][], body = ''): string {
  const all = [...headers.filter(([k]) => k.toLowerCase() !== 'content-length'), ['Content-Length', String(Buffer.byteLength(body))] as [string, string]];
  return [start, ...all.map(([k, v]) => `${k}: ${v}`), '', body].join('\r\n');
}

export function isResponse(m: SipMsg): boolean {
  return m.start.startsWith('SIP/2.0 ');
}

export function statusOf(m: SipMsg): number {
  return Number(m.start.split(' ')[1]);
}

export function methodOf(m: SipMsg): string {
  return isResponse(m) ? (header(m, 'CSeq') ?? '').split(/\s+/)[1] ?? '' : m.start.split(' ')[0] ?? '';
}

export function responseTo(req: SipMsg, code: number, reason: string, extra: [string, string][] = [], body = ''): string {
  const copy = ['Via', 'From', 'To', 'Call-Id', 'CSeq']
    .map((h) => [h, header(req, h)] as const)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => [k, v] as [string, string]);
  return serializeSip(`SIP/2.0 ${code} ${reason}`, [...copy, ...extra], body);
}

export const md5 = (s: string) => createHash('md5').update(s).digest('hex');
export const token = (n = 8) => randomBytes(n).toString('hex');

export function parseDigest(h: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of h.matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}
