/**
 * The ops HTTP server of every role: /healthz (the process answers),
 * /readyz (takes calls: plugins started, registered when in a fleet, not
 * draining), /metrics (Prometheus text). Loopback by default; GET only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VoicebotError } from '../errors/index.js';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  /** Why not, for people reading /readyz. */
  reasons: string[];
}

export class OpsServer {
  private server: Server | undefined;
  private addr: AddressInfo | undefined;

  constructor(
    private readonly opts: { host: string; port: number },
    private readonly readiness: () => Readiness,
    private readonly metrics: Registry,
  ) {}

  get url(): string | undefined {
    if (!this.addr) return undefined;
    const h = this.opts.host;
    const host = h === '0.0.0.0' || h === '::' || h === '' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
    return `http://${host}:${this.addr.port}`;
  }

  async listen(): Promise<void> {
    const { host, port } = this.opts;
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
        return;
      }
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (path === '/readyz') {
        const r = this.readiness();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r) + '\n');
      } else if (path === '/metrics') {
        this.metrics.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
          (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`),
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('voicebot ops: GET /healthz, /readyz or /metrics\n');
      }
    });
    server.on('clientError', (_e, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new VoicebotError('VB_ERR_FLEET_OPS_LISTEN', { host, port, detail: e.message }, { cause: e })));
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    this.addr = server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
