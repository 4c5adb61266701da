/**
 * Worker end of the WebSocket audio-stream: an HTTP server that upgrades
 * authenticated connections, and one WorkerLeg per streamed call — a CallLeg
 * the engine drives exactly like a local one.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { FRAME_MS, type AudioFrame } from '../../core/plugin-api.js';
import { VoicebotError, type ErrorCode } from '../../core/plugin-api.js';
import type { Logger } from '../../core/plugin-api.js';
import { LegState, TelephonyLeg } from '../../core/plugin-api.js';
import type { MediaPort } from '../../core/plugin-api.js';
import type { CallInfo, CallLeg, HangupReason, TransferOptions } from '../../core/plugin-api.js';
import type { CallEvent } from '../../core/plugin-api.js';
import type { FlowState } from '../../core/plugin-api.js';
import { realClock, type Clock, type TimerHandle } from '../../core/plugin-api.js';
import { presentedToken, refuseUpgrade, tokenMatches } from './auth.js';
import { FrameDecoder, FrameSender } from './media.js';
import {
  CLOSE,
  MARK_EVERY_FRAMES,
  PROTOCOL_VERSION,
  describeFormat,
  negotiate,
  parseEdgeMessage,
  type Codec,
  type MediaFormat,
  type StartMsg,
  type WorkerToEdge,
} from './protocol.js';

export interface WorkerSettings {
  host: string;
  port: number;
  path: string;
  token: string;
  codecs: readonly Codec[];
  maxBufferedMs: number;
  reconnectGraceMs: number;
  pingIntervalMs: number;
  /** An authenticated connection must send `start` within this many ms. */
  startTimeoutMs: number;
  /** Most concurrent calls (settings.fleet.capacity); 0 = no limit. */
  capacity?: number;
}

/** Largest `state`/`event` message sent to the edge (bytes, under MAX_PAYLOAD); the oldest conversation turns are left out beyond it. */
const MAX_STATE_BYTES = 48 * 1024;

/** Largest text or binary message accepted (a 20 ms l16 frame at 48 kHz is 1920 bytes). */
export const MAX_PAYLOAD = 64 * 1024;

/** A connection's control path stops at this many bytes queued in the socket: the peer is not reading. */
export function hardLimitBytes(sender: FrameSender | undefined): number {
  return 4 * (sender ? sender.highWater * 2 : 0) + MAX_PAYLOAD;
}

class Conn {
  alive = true;
  leg: WorkerLeg | undefined;
  badFrames = 0;
  /** Armed until the first `start` is handled. */
  startDeadline: TimerHandle | undefined;
  constructor(
    readonly ws: WebSocket,
    readonly remote: string,
  ) {}
}

type Pending = { resolve: () => void; reject: (e: VoicebotError) => void; timer: NodeJS.Timeout };

export class WorkerLeg extends TelephonyLeg implements MediaPort {
  /** The flow state an edge carried over from a lost worker (fleet re-dispatch). */
  readonly carried: FlowState | undefined;
  readonly info: CallInfo;
  readonly media: MediaPort = this;
  readonly inputRate: number;
  readonly outputRate: number;
  readonly frameMs = FRAME_MS;
  readonly session = randomUUID();
  readonly format: MediaFormat;
  /** Bot audio handed to the socket, and the part the edge confirmed (by echoing marks), in ms. */
  sentMs = 0;
  playedMs = 0;
  conn: Conn | undefined;
  private readonly sender: FrameSender;
  private readonly decoder: FrameDecoder;
  private rx: ((f: AudioFrame) => void) | undefined;
  private readonly pending = new Map<number, Pending>();
  private reqSeq = 0;
  private markSeq = 0;
  private sinceMark = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  private warnedDrop = false;

  constructor(
    start: StartMsg,
    format: MediaFormat,
    private readonly server: StreamServer,
    private readonly log: Logger,
  ) {
    super(start.callId);
    this.info = { id: start.callId, from: start.from, to: start.to, meta: { ...start.meta, stream: 'websocket' } };
    this.carried = start.carry;
    this.format = format;
    this.inputRate = this.outputRate = format.sampleRate;
    // The edge answered the call before it streamed it here.
    this.sm.beginAnswer('stream start');
    this.sm.transition(LegState.Active, 'stream start');
    this.decoder = new FrameDecoder(format);
    this.sender = new FrameSender(format, server.settings.maxBufferedMs, (n) => this.onDrop(n));
  }

  get ended(): boolean {
    return this.sm.ended;
  }

  /** Bot audio the edge has not confirmed yet, in ms. */
  get pendingMs(): number {
    return Math.max(0, this.sentMs - this.playedMs);
  }

  /** Counters for tests and logs. */
  stats(): { sentFrames: number; droppedFrames: number; queuedFrames: number; bufferedBytes: number; limitBytes: number } {
    return {
      sentFrames: this.sender.sent,
      droppedFrames: this.sender.dropped,
      queuedFrames: this.sender.queued,
      bufferedBytes: this.conn?.ws.bufferedAmount ?? 0,
      limitBytes: this.sender.highWater * 2,
    };
  }

  // ── stream binding ─────────────────────────────────────────────────────
  bind(conn: Conn, resumed: boolean): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const old = this.conn;
    if (old && old !== conn) {
      old.leg = undefined;
      old.ws.terminate();
    }
    this.conn = conn;
    conn.leg = this;
    // `started` goes out before any audio so the edge knows the format first.
    this.sendJson({ type: 'started', version: PROTOCOL_VERSION, callId: this.info.id, session: this.session, format: this.format, frameMs: FRAME_MS, resumed });
    this.sender.setSocket(conn.ws);
    if (resumed) this.log.info({ remote: conn.remote }, 'audio stream resumed');
  }

  /** The socket closed without a `stop`: keep the call for reconnectGraceMs. */
  detach(conn: Conn, why: string): void {
    if (this.conn !== conn || this.sm.ended) return;
    this.conn = undefined;
    this.sender.setSocket(undefined);
    this.rejectPending(`the audio stream dropped (${why})`);
    const grace = this.server.settings.reconnectGraceMs;
    this.log.warn({ graceMs: grace }, `audio stream dropped (${why}); waiting for the edge to resume`);
    const lost = (): void => {
      this.graceTimer = undefined;
      const e = new VoicebotError('VB_ERR_WS_STREAM_LOST', { callId: this.info.id, detail: why, graceMs: grace });
      this.log.error({ code: e.code }, e.message);
      this.finish('error', true);
    };
    if (grace <= 0) lost();
    else this.graceTimer = setTimeout(lost, grace);
  }

  onAudio(data: Buffer): void {
    if (!this.sm.carriesMedia) return;
    const f = this.decoder.decode(data);
    if (f) this.rx?.(f);
    else if (this.conn && this.conn.badFrames++ === 0) {
      this.server.sendError(this.conn, 'VB_ERR_WS_PROTOCOL', {
        callId: this.info.id,
        detail: `a binary frame has ${data.length} bytes; ${describeFormat(this.format)} frames of ${FRAME_MS} ms have ${this.decoder.frameBytes}. Such frames are dropped`,
      });
    }
  }

  onControl(conn: Conn, m: Exclude<ReturnType<typeof parseEdgeMessage>, { ok: false }>['msg']): void {
    switch (m.type) {
      case 'dtmf':
        this.emitDtmf(m.digit);
        return;
      case 'mark':
        if (typeof m.ms === 'number' && m.ms > this.playedMs) this.playedMs = Math.min(m.ms, this.sentMs);
        return;
      case 'result': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.ok) p.resolve();
        else p.reject(new VoicebotError('VB_ERR_PROVIDER', { provider: 'edge', slot: 'telephony', detail: `${m.error?.code ?? 'error'} ${m.error?.message ?? ''}`.trim() }));
        return;
      }
      case 'stop':
        this.log.info({ reason: m.reason }, 'the edge ended the call');
        this.finish(m.reason, true);
        conn.ws.close(CLOSE.normal);
        return;
      case 'error':
        this.log.warn({ code: m.code }, `the edge reported: ${m.message}`);
        return;
      case 'start':
        this.server.sendError(conn, 'VB_ERR_WS_PROTOCOL', { callId: this.info.id, detail: 'a second start on a started stream is ignored' });
        return;
    }
  }

  // ── Mirror to the edge (core/app CallMirror): split mode shows the call there ──
  onCallEvent(ev: CallEvent): void {
    if (this.sm.ended && ev.type !== 'call.ended') return;
    const conn = this.conn;
    if (!conn) return;
    let msg = JSON.stringify({ type: 'event', event: ev });
    // A big tool result must not exceed the edge's message limit (that would close the stream): leave it out.
    if (Buffer.byteLength(msg) > MAX_STATE_BYTES && ev.type === 'tool.called') msg = JSON.stringify({ type: 'event', event: { ...ev, args: '(too large)', result: '(too large)' } });
    if (Buffer.byteLength(msg) <= MAX_STATE_BYTES) this.server.sendText(conn, msg, this.sender);
  }

  onFlowState(state: FlowState): void {
    if (this.sm.ended || !this.conn) return;
    const history = [...state.history];
    let msg = JSON.stringify({ type: 'state', state: { ...state, history } });
    while (Buffer.byteLength(msg) > MAX_STATE_BYTES && history.length > 0) {
      history.shift();
      msg = JSON.stringify({ type: 'state', state: { ...state, history } });
    }
    // Variables alone over the limit: not sent; a re-dispatch then carries the last state that fitted.
    if (Buffer.byteLength(msg) <= MAX_STATE_BYTES) this.server.sendText(this.conn, msg, this.sender);
  }

  // ── MediaPort ──────────────────────────────────────────────────────────
  setReceiver(cb: ((f: AudioFrame) => void) | undefined): void {
    this.rx = cb;
  }

  write(frame: AudioFrame): void {
    if (this.sm.ended || !this.conn) return;
    if (frame.sampleRate !== this.outputRate) {
      throw new VoicebotError('VB_ERR_AUDIO_FORMAT', { where: 'websocket stream write', got: `${frame.sampleRate} Hz`, expected: `${this.outputRate} Hz` });
    }
    this.sender.write(frame.samples);
    this.sentMs += (frame.samples.length * 1000) / this.outputRate;
    // A mark must follow the audio it counts, so it is only sent while no frame waits in the
    // sender's queue (a congested stream skips marks; the next one covers the position).
    if (++this.sinceMark >= MARK_EVERY_FRAMES && this.sender.queued === 0 && this.conn.ws.bufferedAmount <= this.sender.highWater) {
      this.sinceMark = 0;
      this.sendJson({ type: 'mark', name: `m${++this.markSeq}`, ms: Math.round(this.sentMs) });
    }
  }

  clear(): void {
    this.sender.clear();
    this.sinceMark = 0;
    if (this.conn && !this.sm.ended) this.sendJson({ type: 'clear' });
    // Whatever was sent is either played by now or flushed by the edge.
    this.playedMs = this.sentMs;
  }

  // ── CallLeg ────────────────────────────────────────────────────────────
  async sendDtmf(digits: string): Promise<void> {
    this.sm.assertActive('sendDtmf');
    const id = ++this.reqSeq;
    await this.request(id, { type: 'dtmf', id, digits }, 30_000);
  }

  async transfer(to: string, opts?: TransferOptions): Promise<void> {
    this.sm.transition(LegState.Transferring, 'transfer');
    const id = ++this.reqSeq;
    try {
      await this.request(id, { type: 'transfer', id, to, timeoutMs: opts?.timeoutMs }, (opts?.timeoutMs ?? 60_000) + 15_000);
    } catch (e) {
      if (this.sm.state === LegState.Transferring) this.sm.transition(LegState.Active, 'transfer failed');
      throw new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: this.info.id, to, detail: (e as Error).message }, { cause: e });
    }
    if (this.sm.ended) return;
    const conn = this.conn;
    this.finish('transferred', false);
    conn?.ws.close(CLOSE.normal);
  }

  async hangup(reason: HangupReason = 'bot-hangup'): Promise<void> {
    if (this.sm.ended) return;
    const conn = this.conn;
    if (conn) this.sendJson({ type: 'hangup', reason });
    this.finish(reason, false);
    conn?.ws.close(CLOSE.normal);
  }

  /** The worker is shutting down: tell the edge, end the call here. */
  shutdown(): void {
    if (this.sm.ended) return;
    const conn = this.conn;
    if (conn) this.sendJson({ type: 'stop', reason: 'shutdown' });
    this.finish('shutdown', true);
    conn?.ws.close(CLOSE.normal);
  }

  private request(id: number, msg: WorkerToEdge, timeoutMs: number): Promise<void> {
    if (!this.conn) return Promise.reject(new VoicebotError('VB_ERR_PROVIDER', { provider: 'websocket', slot: 'audioStream', detail: 'the audio stream is reconnecting' }));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new VoicebotError('VB_ERR_PROVIDER_TIMEOUT', { provider: 'edge', slot: 'telephony', timeoutMs }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.sendJson(msg);
    });
  }

  private rejectPending(detail: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new VoicebotError('VB_ERR_PROVIDER', { provider: 'websocket', slot: 'audioStream', detail }));
    }
  }

  private sendJson(msg: WorkerToEdge): void {
    const conn = this.conn;
    if (conn) this.server.sendJson(conn, msg, this.sender);
  }

  private onDrop(total: number): void {
    if (this.warnedDrop) return;
    this.warnedDrop = true;
    const w = new VoicebotError('VB_WARN_WS_AUDIO_DROPPED', { callId: this.info.id, frames: total, direction: 'toward the edge', limitMs: this.server.settings.maxBufferedMs });
    this.log.warn({ code: w.code }, w.message);
  }

  protected release(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.rejectPending('the call ended');
    this.server.forget(this);
    if (this.conn) this.conn.leg = undefined;
    this.conn = undefined;
    this.sender.setSocket(undefined);
    this.rx = undefined;
    if (this.sender.dropped > 0) this.log.warn({ droppedFrames: this.sender.dropped }, 'bot audio frames were dropped on this call (slow stream)');
  }
}

/** Accepts edge streams on host:port/path. */
export class StreamServer {
  readonly settings: WorkerSettings;
  handler: ((leg: WorkerLeg, flow: string | undefined, carried?: FlowState) => void) | undefined;
  /** Draining (SIGTERM): new calls are refused, resumes still attach. */
  draining = false;
  private readonly log: Logger;
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly conns = new Set<Conn>();
  private readonly sessions = new Map<string, WorkerLeg>();
  private readonly waiters = new Map<string, (leg: WorkerLeg) => void>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closing = false;
  private addr: AddressInfo | undefined;

  constructor(
    settings: WorkerSettings,
    log: Logger,
    private readonly clock: Clock = realClock,
  ) {
    this.settings = settings;
    this.log = log;
  }

  /** ws://host:port/path as edges should dial it (loopback for 0.0.0.0 / ::). */
  get url(): string | undefined {
    if (!this.addr) return undefined;
    const h = this.settings.host;
    const host = h === '0.0.0.0' || h === '::' || h === '' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
    return `ws://${host}:${this.addr.port}${this.settings.path}`;
  }

  get activeLegs(): WorkerLeg[] {
    return [...this.sessions.values()];
  }

  async listen(): Promise<void> {
    const { host, port } = this.settings;
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket', connection: 'close' });
      res.end('This is a voicebot audio-stream endpoint: connect with a WebSocket (see plugins/websocket/README.md).\n');
    });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_PAYLOAD, clientTracking: false });
    http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    http.on('clientError', (_e, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error): void => reject(new VoicebotError('VB_ERR_WS_LISTEN', { host, port, detail: e.message }, { cause: e }));
      http.once('error', onErr);
      http.listen(port, host, () => {
        http.off('error', onErr);
        resolve();
      });
    });
    http.on('error', (e) => this.log.error({ err: e.message }, 'audio-stream server error'));
    this.http = http;
    this.wss = wss;
    this.addr = http.address() as AddressInfo;
    this.heartbeat = setInterval(() => this.beat(), this.settings.pingIntervalMs);
    this.heartbeat.unref();
  }

  /** A leg with this callId, once it streams in, goes to the returned promise instead of the handler (loopback attach). */
  claim(callId: string): { promise: Promise<WorkerLeg>; cancel: () => void } {
    let resolve!: (l: WorkerLeg) => void;
    const promise = new Promise<WorkerLeg>((r) => (resolve = r));
    this.waiters.set(callId, resolve);
    return { promise, cancel: () => this.waiters.delete(callId) };
  }

  forget(leg: WorkerLeg): void {
    if (this.sessions.get(leg.session) === leg) this.sessions.delete(leg.session);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const leg of [...this.sessions.values()]) leg.shutdown();
    for (const c of this.conns) c.ws.close(1001, 'worker shutting down');
    const http = this.http;
    this.http = undefined;
    if (http) {
      // Give closing handshakes a moment, then cut whatever is left.
      const cut = setTimeout(() => {
        for (const c of this.conns) c.ws.terminate();
        http.closeAllConnections();
      }, 1000);
      await new Promise<void>((r) => http.close(() => r()));
      clearTimeout(cut);
    }
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
    this.wss?.close();
    this.waiters.clear();
  }

  sendJson(conn: Conn, msg: object, sender?: FrameSender): void {
    this.sendText(conn, JSON.stringify(msg), sender);
  }

  sendText(conn: Conn, text: string, sender?: FrameSender): void {
    const ws = conn.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    const limit = hardLimitBytes(sender);
    if (ws.bufferedAmount > limit) {
      const e = new VoicebotError('VB_ERR_WS_BACKPRESSURE', { callId: conn.leg?.info.id ?? '-', bufferedBytes: ws.bufferedAmount, limitBytes: limit });
      this.log.error({ code: e.code }, e.message);
      ws.close(CLOSE.backpressure, 'VB_ERR_WS_BACKPRESSURE');
      return;
    }
    ws.send(text, sender ? sender.flush : undefined);
  }

  sendError(conn: Conn, code: ErrorCode, params: Record<string, string | number>, close?: number): void {
    const e = new VoicebotError(code, params);
    this.log.warn({ code: e.code, remote: conn.remote }, e.message);
    this.sendJson(conn, { type: 'error', code: e.code, message: e.message });
    if (close !== undefined) conn.ws.close(close, e.code);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    let url: URL;
    try {
      // An absolute-form target with a bad host (`GET http://[/calls`) makes URL throw: refuse it before anything else.
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      const e = new VoicebotError('VB_ERR_WS_PROTOCOL', { callId: '-', detail: `the upgrade request target ${JSON.stringify((req.url ?? '').slice(0, 80))} is not a valid path` });
      this.log.warn({ code: e.code, remote: req.socket.remoteAddress }, e.message);
      refuseUpgrade(socket, 400, 'Bad Request', `${e.code} ${e.message}\n`);
      return;
    }
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    if (url.pathname !== this.settings.path) {
      refuseUpgrade(socket, 404, 'Not Found', `No audio stream at ${url.pathname}; use ${this.settings.path}.\n`);
      return;
    }
    const token = presentedToken(req, url);
    if (token === undefined || !tokenMatches(token, this.settings.token)) {
      const e = new VoicebotError('VB_ERR_WS_AUTH', { side: 'worker', detail: `${token === undefined ? 'no token' : 'wrong token'} from ${remote}` });
      this.log.warn({ code: e.code }, e.message);
      refuseUpgrade(socket, 401, 'Unauthorized', `${e.code} ${e.message}\n`, { 'WWW-Authenticate': 'Bearer realm="voicebot"' });
      return;
    }
    if (this.closing || !this.wss) {
      refuseUpgrade(socket, 503, 'Service Unavailable', 'VB_ERR_WS_UNAVAILABLE the worker is shutting down\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, remote));
  }

  private onConnection(ws: WebSocket, remote: string): void {
    const conn = new Conn(ws, remote);
    this.conns.add(conn);
    const timeoutMs = this.settings.startTimeoutMs;
    conn.startDeadline = this.clock.setTimeout(() => {
      conn.startDeadline = undefined;
      if (!conn.leg) this.sendError(conn, 'VB_ERR_WS_START_TIMEOUT', { remote, timeoutMs }, CLOSE.startTimeout);
    }, timeoutMs);
    ws.on('pong', () => (conn.alive = true));
    ws.on('error', (e) => this.log.debug({ err: e.message, remote }, 'audio-stream socket error'));
    ws.on('close', (code) => {
      this.clock.clearTimeout(conn.startDeadline);
      conn.startDeadline = undefined;
      this.conns.delete(conn);
      const leg = conn.leg;
      if (leg) leg.detach(conn, `socket closed with code ${code}`);
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        const leg = conn.leg;
        if (leg) leg.onAudio(data as Buffer);
        else this.sendError(conn, 'VB_ERR_WS_PROTOCOL', { callId: '-', detail: 'audio before start' }, CLOSE.protocol);
        return;
      }
      const p = parseEdgeMessage((data as Buffer).toString('utf8'));
      const callId = conn.leg?.info.id ?? '-';
      if (!p.ok) {
        // Garbage ends this stream (its call, if any, waits for a resume); an unknown type is only reported.
        this.sendError(conn, 'VB_ERR_WS_PROTOCOL', { callId, detail: p.detail }, p.fatal ? CLOSE.protocol : undefined);
        return;
      }
      const m = p.msg;
      if (m.type === 'start' && !conn.leg) this.onStart(conn, m);
      else if (conn.leg) conn.leg.onControl(conn, m);
      else this.sendError(conn, 'VB_ERR_WS_PROTOCOL', { callId, detail: `"${m.type}" before start` }, CLOSE.protocol);
    });
  }

  private onStart(conn: Conn, m: StartMsg): void {
    this.clock.clearTimeout(conn.startDeadline);
    conn.startDeadline = undefined;
    if (this.closing) {
      this.sendError(conn, 'VB_ERR_WS_UNAVAILABLE', { detail: 'the worker is shutting down' }, CLOSE.unavailable);
      return;
    }
    if (m.resume !== undefined) {
      const leg = this.sessions.get(m.resume);
      if (!leg || leg.ended || leg.info.id !== m.callId) {
        this.sendError(conn, 'VB_ERR_WS_RESUME', { callId: m.callId, detail: 'this worker has no such session' }, CLOSE.resume);
        return;
      }
      leg.bind(conn, true);
      return;
    }
    const format = negotiate(m.offer, this.settings.codecs);
    if (!format) {
      this.sendError(
        conn,
        'VB_ERR_WS_FORMAT',
        { callId: m.callId, offered: m.offer.map(describeFormat).join(', ') || 'nothing usable', accepted: this.settings.codecs.join(', ') },
        CLOSE.format,
      );
      return;
    }
    const waiter = this.waiters.get(m.callId);
    if (!waiter && !this.handler) {
      this.sendError(conn, 'VB_ERR_WS_UNAVAILABLE', { detail: 'this process runs no call engine (--role edge)' }, CLOSE.unavailable);
      return;
    }
    // A fleet worker protects its own capacity; the edge tries another worker on these.
    if (this.draining) {
      this.sendError(conn, 'VB_ERR_FLEET_DRAINING', {}, CLOSE.unavailable);
      return;
    }
    const cap = this.settings.capacity ?? 0;
    if (cap > 0 && this.sessions.size >= cap) {
      this.sendError(conn, 'VB_ERR_FLEET_CAPACITY', { load: this.sessions.size, capacity: cap }, CLOSE.unavailable);
      return;
    }
    for (const l of this.sessions.values()) {
      if (l.info.id === m.callId) {
        this.sendError(conn, 'VB_ERR_WS_PROTOCOL', { callId: m.callId, detail: 'this call is already streaming; to re-attach, send start with resume' }, CLOSE.protocol);
        return;
      }
    }
    const leg = new WorkerLeg(m, format, this, this.log.child({ callId: m.callId }));
    this.sessions.set(leg.session, leg);
    leg.bind(conn, false);
    this.log.info({ callId: m.callId, remote: conn.remote, format: describeFormat(format) }, 'audio stream started');
    if (waiter) {
      this.waiters.delete(m.callId);
      waiter(leg);
    } else this.handler!(leg, m.flow, m.carry);
  }

  private beat(): void {
    for (const c of this.conns) {
      if (!c.alive) {
        this.log.warn({ remote: c.remote }, 'audio-stream peer stopped answering pings; closing');
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }
}
