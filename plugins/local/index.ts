import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { CallEvent } from '../../core/plugin-api.js';
import { VoicebotError } from '../../core/plugin-api.js';
import { silentLogger, type Logger } from '../../core/plugin-api.js';
import type { PluginContext } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import {
  TelephonyPlugin,
  type CallerSide,
  type CallInfo,
  type CallLeg,
  type DialOptions,
  type PlaceCallOptions,
  type TelephonyCapabilities,
} from '../../core/plugin-api.js';
import { FRAME_MS, realClock, type Clock } from '../../core/plugin-api.js';
import { LocalCall, type LocalCallHost } from './call.js';
import { SoftphoneClient } from './client.js';
import { DEFAULT_CLIENT_LIMITS, MAX_MESSAGE_BYTES, WS_PATH, parseClientMessage, type ClientLimits, type ClientMessage, type ServerMessage } from './protocol.js';

export { SoftphoneClient } from './client.js';
export { LocalCall } from './call.js';
export * from './protocol.js';

export interface LocalTelephonyOptions {
  /** Interface to bind (default settings.server.host, else 127.0.0.1). */
  host?: string;
  /** Port (default settings.server.port, else 8080; 0 picks a free one). */
  port?: number;
  /** Accept softphone connections from other machines (default false: this machine only). */
  allowRemote?: boolean;
  /** Extra page origins allowed to connect (e.g. a dev server), besides the page this plugin serves. */
  allowedOrigins?: string[];
  /** Longest typed text (`say`) in characters (default 500). */
  maxSayLength?: number;
  /** Typed texts a call may have waiting to play, the playing one included (default 8); more are refused. */
  maxQueuedSays?: number;
  /** A socket that sends no `hello` within this many ms is closed (default 10000). */
  helloTimeoutMs?: number;
  /** dial() with no page waiting: wait this many ms for one to open (default 0: fail at once). `voicebot call -c` with a page to open next. */
  pageWaitMs?: number;
}

const DEFAULT_HELLO_TIMEOUT_MS = 10_000;

/** Files the page is made of; nothing else is served. */
const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/softphone.js': { file: 'softphone.js', type: 'text/javascript; charset=utf-8' },
  '/worklet.js': { file: 'worklet.js', type: 'text/javascript; charset=utf-8' },
  '/softphone.css': { file: 'softphone.css', type: 'text/css; charset=utf-8' },
};

/** The page lives next to the sources (plugins/local/static), also when running from dist/. */
export function staticDir(): string {
  const candidates = [new URL('./static/', import.meta.url), new URL('../../../plugins/local/static/', import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((d) => existsSync(d + 'index.html'));
  if (!found) throw new VoicebotError('VB_ERR_LOCAL_STATIC', { dirs: candidates.join(', ') });
  return found;
}

function isLoopbackAddress(a: string | undefined): boolean {
  if (!a) return false;
  return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}

function isLoopbackHostname(h: string): boolean {
  const name = h.replace(/^\[|\]$/g, '').toLowerCase();
  return name === 'localhost' || name.endsWith('.localhost') || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * The local softphone line: an HTTP server with a page to call the bot from a
 * browser (microphone, speaker, keypad, typed text, live transcript), and a
 * WebSocket per call carrying PCM16 frames and JSON control messages.
 * Transfers are simulated: recorded, shown on the page, and the call ends.
 */
export class LocalTelephony extends TelephonyPlugin implements LocalCallHost {
  readonly capabilities: TelephonyCapabilities = { transfer: true, sendDtmf: true, receiveDtmf: true, placeCalls: true, outbound: true };
  readonly logger: Logger;
  readonly options: LocalTelephonyOptions;
  readonly limits: ClientLimits;
  private readonly clock: Clock;
  /** Answered or ringing calls, by id. */
  readonly calls = new Map<string, LocalCall>();
  /** Calls whose socket is still open (they receive late events), by id. */
  private readonly sockets = new Map<string, LocalCall>();
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly connections = new Set<Socket>();
  private readonly clients = new Set<SoftphoneClient>();
  private readonly host: string;
  private readonly port: number;
  private boundPort: number | undefined;
  private seq = 0;
  /** Pages waiting for calls the bot places (hello.standby), oldest first. */
  private readonly standbys: Standby[] = [];
  /** dial()s waiting for a page to open (pageWaitMs). */
  private readonly pageWaiters = new Set<() => void>();
  private files: Map<string, Buffer> | undefined;

  constructor(options: LocalTelephonyOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'local') {
    super(provider);
    this.options = options;
    this.logger = ctx.logger ?? silentLogger();
    this.clock = ctx.clock ?? realClock;
    this.limits = {
      maxSayLength: options.maxSayLength ?? DEFAULT_CLIENT_LIMITS.maxSayLength,
      maxQueuedSays: options.maxQueuedSays ?? DEFAULT_CLIENT_LIMITS.maxQueuedSays,
    };
    this.host = options.host ?? ctx.settings?.server.host ?? '127.0.0.1';
    this.port = options.port ?? ctx.settings?.server.port ?? 8080;
  }

  /** The softphone page, once listening (`voicebot run` prints it). */
  get url(): string | undefined {
    if (this.boundPort === undefined) return undefined;
    const h = this.host === '0.0.0.0' || this.host === '::' ? 'localhost' : this.host.includes(':') ? `[${this.host}]` : this.host;
    return `http://${h}:${this.boundPort}/`;
  }

  /** ws:// address of the call socket. */
  get wsUrl(): string | undefined {
    const u = this.url;
    return u && u.replace(/^http/, 'ws').replace(/\/$/, WS_PATH);
  }

  protected override async _start(): Promise<void> {
    if (this.server) return;
    const dir = staticDir();
    this.files = new Map(Object.values(STATIC_FILES).map((f) => [f.file, readFileSync(dir + f.file)]));
    const server = createServer((req, res) => this.serve(req, res));
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
    server.on('connection', (s: Socket) => {
      this.connections.add(s);
      s.on('close', () => this.connections.delete(s));
    });
    server.on('upgrade', (req, socket, head) => {
      const refusal = this.refuse(req);
      if (refusal) {
        this.logger.warn({ code: refusal.code, remote: req.socket.remoteAddress }, refusal.message);
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n' + refusal.toLine() + '\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        reject(new VoicebotError('VB_ERR_LOCAL_LISTEN', { host: this.host, port: this.port, detail: e.code ?? e.message }, { cause: e }));
      };
      server.once('error', onError);
      server.listen(this.port, this.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (e) => this.logger.error({ err: e }, 'softphone server error'));
    this.server = server;
    this.wss = wss;
    this.boundPort = (server.address() as AddressInfo).port;
    this.logger.info({ url: this.url }, `softphone: open ${this.url} in a browser to call the bot`);
  }

  protected override async _stop(): Promise<void> {
    for (const c of [...this.clients]) c.close();
    for (const c of [...this.calls.values(), ...this.sockets.values()]) c.end('shutdown');
    this.calls.clear();
    this.sockets.clear();
    const server = this.server;
    const wss = this.wss;
    this.server = undefined;
    this.wss = undefined;
    this.boundPort = undefined;
    if (wss) {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    }
    if (server) {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of this.connections) s.destroy();
      await closed;
    }
  }

  // ── HTTP ──────────────────────────────────────────────────────────────
  private serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const entry = STATIC_FILES[path];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !entry || !this.files) {
      res.writeHead(entry ? 405 : 404, { 'Content-Type': 'text/plain' }).end(entry ? 'method not allowed\n' : 'not found\n');
      return;
    }
    const body = this.files.get(entry.file)!;
    res.writeHead(200, {
      'Content-Type': entry.type,
      'Content-Length': body.length,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'",
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /**
   * Only this machine, and only this page (or a client with no Origin, like
   * a test or CLI), by default: a web page elsewhere must not be able to
   * place calls through the user's browser. Host is checked too (DNS rebinding).
   */
  private refuse(req: IncomingMessage): VoicebotError | undefined {
    const remote = req.socket.remoteAddress ?? 'unknown';
    const origin = req.headers.origin;
    const host = req.headers.host ?? '';
    const fail = (why: string): VoicebotError => new VoicebotError('VB_ERR_LOCAL_ORIGIN', { remote: `${remote} (${why})`, origin: origin ?? 'none' });
    if ((req.url ?? '').split('?')[0] !== WS_PATH) return fail(`path ${req.url}`);
    if (!this.options.allowRemote) {
      if (!isLoopbackAddress(remote)) return fail('not this machine');
      const hostname = host.replace(/:\d+$/, '');
      if (!isLoopbackHostname(hostname)) return fail(`Host ${host}`);
    }
    if (origin !== undefined) {
      const allowed = this.options.allowedOrigins ?? [];
      let sameOrigin = false;
      try {
        const o = new URL(origin);
        sameOrigin = (o.protocol === 'http:' || o.protocol === 'https:') && o.host === host;
      } catch {
        sameOrigin = false;
      }
      if (!sameOrigin && !allowed.includes(origin)) return fail('another site');
    }
    return undefined;
  }

  // ── calls ─────────────────────────────────────────────────────────────
  private onSocket(ws: WebSocket): void {
    let call: LocalCall | undefined;
    let standby: Standby | undefined;
    // A flooding client must not turn one message into one log line: limit refusals are logged
    // the first time and then every 100th (with the count); the client is told each time.
    let refused = 0;
    const report = (code: 'VB_ERR_LOCAL_PROTOCOL' | 'VB_ERR_LOCAL_LIMIT', params: Record<string, string | number>): void => {
      const e = new VoicebotError(code, params);
      if (code !== 'VB_ERR_LOCAL_LIMIT' || ++refused === 1 || refused % 100 === 0) {
        this.logger.warn({ code: e.code, callId: call?.info.id, ...(refused ? { refused } : {}) }, e.message);
      }
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'error', code: e.code, message: e.message }));
    };
    // Anything malformed ends this socket's call (a conforming page never sends it); other calls are untouched.
    const protocolError = (detail: string): void => {
      report('VB_ERR_LOCAL_PROTOCOL', { detail });
      if (call) call.end('error');
      else ws.close(1008, 'protocol error');
    };
    const helloMs = this.options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS;
    const helloTimer = this.clock.setTimeout(() => protocolError(`no hello within ${helloMs} ms`), helloMs);
    const clearHello = (): void => this.clock.clearTimeout(helloTimer);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        if (call) call.onAudio(toBuffer(data));
        else protocolError('audio before hello');
        return;
      }
      const p = parseClientMessage(toBuffer(data), this.limits);
      if (!p.ok) return protocolError(p.detail);
      const msg = p.msg;
      if (!call && standby) {
        // Waiting for the bot to call: only the answer to an `incoming` is meaningful.
        if ((msg.type === 'accept' || msg.type === 'decline') && standby.ringing?.callId === msg.callId) return standby.ringing.settle(msg.type);
        if (msg.type === 'accept' || msg.type === 'decline') return; // a late answer to a call that stopped ringing
        return protocolError(`${msg.type} on a standby socket with no call`);
      }
      if (!call) {
        if (msg.type !== 'hello') return protocolError(`expected hello first, got ${msg.type}`);
        clearHello();
        if (msg.standby) {
          standby = { ws, sampleRate: msg.sampleRate, attach: (c) => (call = c) };
          this.standbys.push(standby);
          ws.send(JSON.stringify({ type: 'standby', sampleRate: msg.sampleRate } satisfies ServerMessage));
          for (const w of [...this.pageWaiters]) w();
          return;
        }
        call = this.offer(ws, msg);
        return;
      }
      switch (msg.type) {
        case 'dtmf':
          return call.onDtmfFromCaller(msg.digits);
        case 'say':
          if (!call.onSay(msg.text)) {
            report('VB_ERR_LOCAL_LIMIT', { what: 'typed text', detail: `${this.limits.maxQueuedSays} texts are already waiting to be played; this one was dropped`, option: 'maxQueuedSays' });
          }
          return;
        case 'hangup':
          return call.onCallerGone('caller-hangup');
        case 'ack':
          return call.onAck(msg.id);
        case 'hello':
          return protocolError('a second hello on a call');
        case 'accept':
        case 'decline':
          return protocolError(`${msg.type} during a call`);
      }
    });
    ws.on('close', () => {
      clearHello();
      if (standby) {
        const i = this.standbys.indexOf(standby);
        if (i >= 0) this.standbys.splice(i, 1);
        standby.ringing?.settle('gone');
      }
      if (!call) return;
      call.onCallerGone('caller-hangup');
      if (this.sockets.get(call.info.id) === call) this.sockets.delete(call.info.id);
    });
    ws.on('error', (e) => this.logger.debug({ err: e.message }, 'softphone socket error'));
  }

  private offer(ws: WebSocket, hello: Extract<ClientMessage, { type: 'hello' }>): LocalCall | undefined {
    const handler = this.callHandler;
    if (!handler) {
      ws.close(1013, 'not accepting calls');
      return undefined;
    }
    const id = `local-${process.pid}-${++this.seq}`;
    const from = hello.from || `softphone-${this.seq}`;
    const to = hello.to || 'local';
    const call = new LocalCall({ id, from, to, meta: { line: 'local' } }, hello.sampleRate, ws, this);
    this.calls.set(id, call);
    this.sockets.set(id, call);
    call.send({ type: 'ringing', callId: id, sampleRate: hello.sampleRate, frameMs: FRAME_MS, from, to });
    this.logger.info({ callId: id, from, sampleRate: hello.sampleRate }, 'softphone call ringing');
    handler.onIncomingCall(call);
    return call;
  }

  /**
   * The bot calls the open page: the newest standby socket not already
   * ringing gets `incoming`; `accept` makes that socket the call's (then it
   * runs like a page-placed call), `decline`, a closed page or the ring
   * timeout fail with the coded outbound errors.
   */
  protected override async _dial(opts: DialOptions): Promise<CallLeg> {
    const to = opts.to;
    if (opts.signal?.aborted) throw new VoicebotError('VB_ERR_CANCELLED', { what: `call to ${to}` });
    const free = (): Standby | undefined => [...this.standbys].reverse().find((p) => !p.ringing);
    if (!free() && this.options.pageWaitMs) await this.waitForPage(this.options.pageWaitMs, opts.signal);
    if (opts.signal?.aborted) throw new VoicebotError('VB_ERR_CANCELLED', { what: `call to ${to}` });
    const page = free();
    if (!page) {
      throw new VoicebotError('VB_ERR_OUTBOUND_FAILED', { to, detail: `no softphone page is waiting for calls; open ${this.url ?? 'the softphone page'} and tick "Take calls from the bot"` });
    }
    const id = `local-out-${process.pid}-${++this.seq}`;
    const info: CallInfo = { id, from: opts.callerId ?? 'voicebot', to, meta: { ...opts.meta, line: 'local' }, direction: 'outbound' };
    const ringMs = opts.ringTimeoutMs ?? 30_000;
    opts.onRinging?.(info);
    const send = (m: ServerMessage): void => {
      if (page.ws.readyState === page.ws.OPEN) page.ws.send(JSON.stringify(m));
    };
    const answer = await new Promise<'accept' | 'decline' | 'gone' | 'timeout' | 'cancelled'>((resolve) => {
      const settle = (a: 'accept' | 'decline' | 'gone' | 'timeout' | 'cancelled'): void => {
        this.clock.clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        page.ringing = undefined;
        resolve(a);
      };
      const timer = this.clock.setTimeout(() => settle('timeout'), ringMs);
      const onAbort = (): void => settle('cancelled');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      page.ringing = { callId: id, settle };
      send({ type: 'incoming', callId: id, from: info.from, to, sampleRate: page.sampleRate, frameMs: FRAME_MS });
      this.logger.info({ callId: id, to }, 'softphone: ringing the page');
    });
    if (answer === 'timeout' || answer === 'cancelled') send({ type: 'missed', callId: id, reason: answer === 'timeout' ? 'no-answer' : 'cancelled' });
    if (answer === 'timeout') throw new VoicebotError('VB_ERR_OUTBOUND_NO_ANSWER', { to, timeoutMs: ringMs });
    if (answer === 'cancelled') throw new VoicebotError('VB_ERR_CANCELLED', { what: `call to ${to}` });
    if (answer === 'decline') throw new VoicebotError('VB_ERR_OUTBOUND_DECLINED', { to, detail: 'declined on the softphone page' });
    if (answer === 'gone') throw new VoicebotError('VB_ERR_OUTBOUND_FAILED', { to, detail: 'the softphone page closed while it rang' });
    // Accepted: the standby socket is this call's from now on.
    const i = this.standbys.indexOf(page);
    if (i >= 0) this.standbys.splice(i, 1);
    const call = new LocalCall(info, page.sampleRate, page.ws, this);
    page.attach(call);
    this.calls.set(id, call);
    this.sockets.set(id, call);
    call.send({ type: 'ringing', callId: id, sampleRate: page.sampleRate, frameMs: FRAME_MS, from: info.from, to });
    return call.answer();
  }

  private waitForPage(ms: number, signal: AbortSignal | undefined): Promise<void> {
    this.logger.info({ url: this.url, waitMs: ms }, `softphone: waiting for a page to take the call; open ${this.url}`);
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.pageWaiters.delete(done);
        resolve();
      };
      const timer = this.clock.setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.pageWaiters.add(done);
    });
  }

  /** LocalCallHost: the call is over. */
  forget(call: LocalCall): void {
    this.calls.delete(call.info.id);
  }

  /** Events of the calls on this line go to their page (see VoicebotApp). */
  onCallEvent(ev: CallEvent): void {
    this.sockets.get(ev.callId)?.onEvent(ev);
  }

  /** Places a call from an in-process softphone client over the real WebSocket. */
  protected override _placeCall(opts: PlaceCallOptions): CallerSide {
    const url = this.wsUrl;
    if (!url || !this.callHandler) {
      throw new VoicebotError('VB_ERR_PLUGIN_UNSUPPORTED', { provider: this.provider, slot: 'telephony', feature: 'placing calls before listen()' });
    }
    const client = new SoftphoneClient(url, { sampleRate: opts.sampleRate ?? 16000, from: opts.from, to: opts.to });
    this.clients.add(client);
    void client.closed.then(() => this.clients.delete(client));
    return client;
  }
}

/** A page's socket waiting for the bot to call (hello with standby: true). */
interface Standby {
  ws: WebSocket;
  sampleRate: number;
  /** The accepted call takes over the socket's messages. */
  attach(call: LocalCall): void;
  /** Set while an `incoming` waits for the page's answer. */
  ringing?: { callId: string; settle(a: 'accept' | 'decline' | 'gone'): void };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export const localTelephonyPlugin = definePlugin<'telephony', LocalTelephonyOptions>({
  slot: 'telephony',
  name: 'local',
  description: 'Softphone page in your browser (microphone, keypad, typed text, live transcript) on settings.server',
  optionsSchema: {
    type: 'object',
    properties: {
      host: { type: 'string', minLength: 1, description: 'interface to bind (default settings.server.host)' },
      port: { type: 'integer', minimum: 0, maximum: 65535, description: 'port (default settings.server.port; 0 picks a free one)' },
      allowRemote: { type: 'boolean', description: 'accept calls from other machines (default false)' },
      allowedOrigins: { type: 'array', items: { type: 'string' }, description: 'extra page origins allowed to connect' },
      maxSayLength: { type: 'integer', minimum: 1, maximum: 2000, description: 'longest typed text in characters (default 500)' },
      maxQueuedSays: { type: 'integer', minimum: 1, maximum: 1000, description: 'typed texts a call may have waiting; more are refused (default 8)' },
      helloTimeoutMs: { type: 'integer', minimum: 100, maximum: 600000, description: 'close a socket that sends no hello within this (default 10000)' },
      pageWaitMs: { type: 'integer', minimum: 0, maximum: 600000, description: 'dial() with no page waiting: wait this long for one (default 0)' },
    },
    additionalProperties: false,
  },
  create: (options, ctx) => new LocalTelephony(options, ctx),
});

export default localTelephonyPlugin;
