import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TelephonySessionEvent {
  telephonySessionId?: string;
  sequence?: number;
  parties?: { id?: string; direction?: string; status?: { code?: string } }[];
}

export interface WebhookServerOptions {
  /** Interface to bind; the URL RingCentral posts to may differ (publicUrl behind a proxy). */
  host: string;
  port: number;
  path: string;
  verificationToken: string;
  maxBodyBytes: number;
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
      let parsed: { body?: TelephonySessionEvent } | undefined;
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { body?: TelephonySessionEvent };
      } catch {
        res.writeHead(400).end();
        return;
      }
      try {
        if (parsed?.body) this.opts.onEvent(parsed.body);
      } catch {
        // Acknowledge anyway: RingCentral would only redeliver the same event.
      }
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
