import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ApiSettings } from '../config/types.js';
import { VoicebotError, toVoicebotError, type ErrorCode } from '../errors/index.js';
import type { Logger } from '../logging.js';
import type { OutboundCalls, PlaceRequest } from './outbound-calls.js';

/** Largest request body, bytes: a call request is a few hundred. */
const MAX_BODY = 64 * 1024;

type Handler = (ctx: { req: IncomingMessage; res: ServerResponse; params: string[]; body: unknown }) => Promise<void> | void;

interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** OpenAPI-style path, e.g. /v1/calls/{id} (core/api/openapi.yaml lists the same). */
  path: string;
  handler: (calls: OutboundCalls) => Handler;
}

/** HTTP status of each coded refusal. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  VB_ERR_API_AUTH: 401,
  VB_ERR_API_REQUEST: 400,
  VB_ERR_API_NOT_FOUND: 404,
  VB_ERR_OUTBOUND_NUMBER: 422,
  VB_ERR_API_CONCURRENCY: 429,
  VB_ERR_API_RATE_LIMIT: 429,
  VB_ERR_OUTBOUND_UNSUPPORTED: 501,
};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, e: VoicebotError): void {
  const headers: Record<string, string> = {};
  if (e.code === 'VB_ERR_API_RATE_LIMIT') headers['retry-after'] = String(e.params.retryAfterS ?? 60);
  if (e.code === 'VB_ERR_API_AUTH') headers['www-authenticate'] = 'Bearer';
  send(res, STATUS[e.code] ?? 500, { error: { code: e.code, message: e.message, retryable: e.retryable } }, headers);
}

const bad = (detail: string, route = 'POST /v1/calls') => new VoicebotError('VB_ERR_API_REQUEST', { route, detail });

/** The POST /v1/calls body, checked field by field (the API's only input). */
export function parseCallRequest(body: unknown): PlaceRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object like {"to": "+15550100"}');
  const b = body as Record<string, unknown>;
  const known = ['to', 'flow', 'vars', 'callerId', 'amd'];
  const extra = Object.keys(b).filter((k) => !known.includes(k));
  if (extra.length) throw bad(`unknown field "${extra[0]}"; allowed: ${known.join(', ')}`);
  if (typeof b.to !== 'string' || !b.to.trim()) throw bad('"to" (the number to call) is required and must be a string');
  if (b.flow !== undefined && typeof b.flow !== 'string') throw bad('"flow" must be a string');
  if (b.callerId !== undefined && typeof b.callerId !== 'string') throw bad('"callerId" must be a string');
  if (b.vars !== undefined) {
    if (!b.vars || typeof b.vars !== 'object' || Array.isArray(b.vars)) throw bad('"vars" must be an object of strings, numbers and booleans');
    for (const [k, v] of Object.entries(b.vars)) if (!['string', 'number', 'boolean'].includes(typeof v)) throw bad(`vars.${k} must be a string, number or boolean`);
  }
  let amd: PlaceRequest['amd'];
  if (b.amd !== undefined) {
    if (typeof b.amd === 'boolean') amd = b.amd;
    else if (b.amd && typeof b.amd === 'object' && !Array.isArray(b.amd)) {
      const a = b.amd as Record<string, unknown>;
      const ms = (k: string, dflt: number) => {
        const v = a[k];
        if (v === undefined) return dflt;
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 120_000) throw bad(`amd.${k} must be ms between 0 and 120000`);
        return v;
      };
      const extraAmd = Object.keys(a).filter((k) => k !== 'timeoutMs' && k !== 'beepTimeoutMs');
      if (extraAmd.length) throw bad(`unknown field amd.${extraAmd[0]}; allowed: timeoutMs, beepTimeoutMs`);
      amd = { timeoutMs: ms('timeoutMs', 5000), beepTimeoutMs: ms('beepTimeoutMs', 20_000) };
    } else throw bad('"amd" must be true, false or {"timeoutMs": 5000, "beepTimeoutMs": 20000}');
  }
  return {
    to: b.to.trim(),
    ...(b.flow !== undefined ? { flow: b.flow as string } : {}),
    ...(b.vars !== undefined ? { vars: b.vars as Record<string, unknown> } : {}),
    ...(b.callerId !== undefined ? { callerId: b.callerId as string } : {}),
    ...(amd !== undefined ? { amd } : {}),
  };
}

function notFound(id: string): VoicebotError {
  return new VoicebotError('VB_ERR_API_NOT_FOUND', { what: `Call ${id}` });
}

/** Every route of the API; test/outbound/api.test.ts checks core/api/openapi.yaml lists exactly these. */
export const ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/v1/calls',
    handler: (calls) => ({ res, body }) => send(res, 201, calls.place(parseCallRequest(body))),
  },
  { method: 'GET', path: '/v1/calls', handler: (calls) => ({ res }) => send(res, 200, { calls: calls.list() }) },
  {
    method: 'GET',
    path: '/v1/calls/{id}',
    handler: (calls) => ({ res, params }) => {
      const v = calls.get(params[0]!);
      if (!v) throw notFound(params[0]!);
      send(res, 200, v);
    },
  },
  {
    method: 'DELETE',
    path: '/v1/calls/{id}',
    handler: (calls) => async ({ res, params }) => {
      const v = await calls.hangup(params[0]!);
      if (!v) throw notFound(params[0]!);
      send(res, 200, v);
    },
  },
];

const MATCHERS = ROUTES.map((r) => ({ route: r, re: new RegExp('^' + r.path.replace(/\{[^}]+\}/g, '([A-Za-z0-9_-]{1,64})') + '$') }));

function authorized(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) throw bad(`the body is larger than ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw bad('the body is not valid JSON');
  }
}

/**
 * The calls API of `voicebot run`: bearer token on every request, loopback by
 * default, JSON in and out, every refusal a coded error.
 */
export class ApiServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly handlers: { re: RegExp; route: Route; run: Handler }[];

  constructor(
    private readonly settings: Pick<ApiSettings, 'token' | 'host' | 'port'>,
    calls: OutboundCalls,
    private readonly logger?: Logger,
  ) {
    this.handlers = MATCHERS.map((m) => ({ ...m, run: m.route.handler(calls) }));
  }

  get url(): string | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) return undefined;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(new VoicebotError('VB_ERR_API_LISTEN', { host: this.settings.host, port: this.settings.port, detail: (e as Error).message }, { cause: e })),
      );
      server.listen(this.settings.port, this.settings.host, () => resolve());
    });
    this.server = server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      if (!authorized(req, this.settings.token)) throw new VoicebotError('VB_ERR_API_AUTH', {});
      const matches = this.handlers.filter((h) => h.re.test(path));
      if (!matches.length) throw new VoicebotError('VB_ERR_API_NOT_FOUND', { what: `Route ${path}` });
      const h = matches.find((m) => m.route.method === req.method);
      if (!h) {
        send(res, 405, { error: { code: 'VB_ERR_API_REQUEST', message: new VoicebotError('VB_ERR_API_REQUEST', { route: path, detail: `method ${req.method} not allowed; use ${matches.map((m) => m.route.method).join(', ')}` }).message } }, { allow: matches.map((m) => m.route.method).join(', ') });
        return;
      }
      const params = h.re.exec(path)!.slice(1);
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      await h.run({ req, res, params, body });
    } catch (e) {
      const err = toVoicebotError(e, 'VB_ERR_PROVIDER', { provider: 'api', slot: 'api' });
      if (!STATUS[err.code]) this.logger?.error({ code: err.code }, `api ${req.method} ${path}: ${err.message}`);
      if (!res.headersSent) sendError(res, err);
      else res.end();
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
