import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TelephonySessionEvent {
  telephonySessionId?: string;
  sequence?: number;
  parties?: { id?: string; direction?: string; status?: { code?: string } }[];
}

/** Parties read from one event; RingCentral sends a handful. */
const MAX_PARTIES = 64;
const str = (x: unknown): string | undefined => (typeof x === 'string' && x.length <= 1024 ? x : undefined);
const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * The one gate for webhook bodies: the telephony-session event in a delivery,
 * with every field the plugin reads of the type it expects (unknown or
 * mistyped fields are dropped, extra ones ignored). `undefined` when the
 * delivery carries no such event (other event types, or not an object).
 */
export function parseTelephonySessionEvent(delivery: unknown): TelephonySessionEvent | undefined {
  if (!isObj(delivery) || !isObj(delivery.body)) return undefined;
  const b = delivery.body;
  const ev: TelephonySessionEvent = {};
  const sid = str(b.telephonySessionId);
  if (sid) ev.telephonySessionId = sid;
  if (typeof b.sequence === 'number' && Number.isFinite(b.sequence)) ev.sequence = b.sequence;
  if (Array.isArray(b.parties)) {
    ev.parties = b.parties.slice(0, MAX_PARTIES).filter(isObj).map((p) => {
      const party: NonNullable<TelephonySessionEvent['parties']>[number] = {};
      const id = str(p.id);
      const direction = str(p.direction);
      const code = isObj(p.status) ? str(p.status.code) : undefined;
      if (id !== undefined) party.id = id;
      if (direction !== undefined) party.direction = direction;
      if (code !== undefined) party.status = { code };
      return party;
    });
  }
  return ev;
}

export interface WebhookServerOptions {
  /** Interface to bind; the URL RingCentral posts to may differ (publicUrl behind a proxy). */
  host: string;
  port: number;
  path: string;
  verificationToken: string;
  maxBodyBytes: number;
  /** Gets only events that passed parseTelephonySessionEvent. */
  onEvent(ev: TelephonySessionEvent): void;
}

/**
 * Receives RingCentral webhook deliveries: echoes the Validation-Token
 * handshake, refuses deliveries without the right Verification-Token, and
 * caps body size so an unauthenticated sender cannot make us buffer much.
 */
export class WebhookServer {
  private server: Server | undefined;
  private readonly opts: WebhookServerOptions;
  url = '';

  constructor(opts: WebhookServerOptions) {
    this.opts = opts;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    // A sender that trickles its headers or body must not hold a socket for Node's default 5 minutes.
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const host = this.opts.host === '0.0.0.0' || this.opts.host === '::' ? '127.0.0.1' : this.opts.host;
    this.url = `http://${host}:${(server.address() as AddressInfo).port}${this.opts.path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== this.opts.path) {
      res.writeHead(404).end();
      req.resume();
      return;
    }
    const validation = req.headers['validation-token'];
    if (typeof validation === 'string') {
      // Subscription handshake: echo the token within 3 s or RingCentral refuses the subscription.
      res.writeHead(200, { 'Validation-Token': validation }).end();
      req.resume();
      return;
    }
    const token = req.headers['verification-token'];
    if (typeof token !== 'string') {
      res.writeHead(401).end();
      req.resume();
      return;
    }
    if (!sameToken(token, this.opts.verificationToken)) {
      res.writeHead(403).end();
      req.resume();
      return;
    }
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > this.opts.maxBodyBytes) {
      res.writeHead(413, { connection: 'close' }).end();
      req.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > this.opts.maxBodyBytes) {
        res.writeHead(413, { connection: 'close' }).end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let delivery: unknown;
      try {
        delivery = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      const ev = parseTelephonySessionEvent(delivery);
      try {
        if (ev) this.opts.onEvent(ev);
      } catch {
        // One event's handling must not take the process (and every call on it) down.
      }
      // Acknowledged either way: RingCentral would only redeliver the same event.
      res.writeHead(200).end();
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
