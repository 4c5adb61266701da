import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One canned answer of a scenario's `httpMocks:`. */
export interface HttpMockRoute {
  /** Any method when absent. */
  method?: string;
  /** Exact path (query ignored), or a pattern ending in `*` for a prefix. */
  path: string;
  status?: number;
  /** Sent as application/json. */
  json?: unknown;
  /** Sent as text/plain when no `json`. */
  body?: string;
  /** Answer after this many ms (to exercise timeouts). */
  delayMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON when it parses, else the raw text ('' when empty). */
  body: unknown;
}

/**
 * A loopback HTTP server with canned answers, for scenarios and tests of
 * http steps and http tools: flows stay pointed at a var (`{{BOOKING_URL}}`)
 * and the test points that var here. Binds 127.0.0.1 on port 0 only.
 */
export class HttpMockServer {
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  private base = '';

  constructor(private readonly routes: readonly HttpMockRoute[]) {}

  get url(): string {
    return this.base;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://127.0.0.1');
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          if (text) body = JSON.parse(text) as unknown;
        } catch {
          // Not JSON: keep the text.
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const method = (req.method ?? 'GET').toUpperCase();
        this.requests.push({ method, path: u.pathname, query: Object.fromEntries(u.searchParams), headers, body });
        const route = this.routes.find(
          (r) =>
            (!r.method || r.method.toUpperCase() === method) &&
            (r.path.endsWith('*') ? u.pathname.startsWith(r.path.slice(0, -1)) : u.pathname === r.path),
        );
        if (!route) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end(`no http mock for ${method} ${u.pathname}`);
          return;
        }
        const answer = (): void => {
          if (res.destroyed) return;
          if (route.json !== undefined) res.writeHead(route.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(route.json));
          else res.writeHead(route.status ?? 200, { 'content-type': 'text/plain' }).end(route.body ?? '');
        };
        if (route.delayMs) setTimeout(answer, route.delayMs).unref();
        else answer();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
