/**
 * Edge end of the WebSocket audio-stream: one EdgeStream per answered call.
 * Streams the caller's audio and DTMF to the worker, plays the bot's audio
 * into the leg, carries out the worker's transfer/hangup/DTMF requests, and
 * re-attaches a dropped stream within the grace window (or ends the call with
 * a coded reason when it cannot).
 */
import { WebSocket, type RawData } from 'ws';
import type { AudioFrame } from '../../core/plugin-api.js';
import { Resampler } from '../../core/plugin-api.js';
import { VoicebotError, isErrorCode, toVoicebotError } from '../../core/plugin-api.js';
import type { Logger } from '../../core/plugin-api.js';
import type { CallLeg, HangupReason } from '../../core/plugin-api.js';
import type { ForwardResult, StreamEvent, WorkerPicker, WorkerTarget } from '../../core/plugin-api.js';
import type { FlowState } from '../../core/plugin-api.js';
import { FrameDecoder, FrameSender } from './media.js';
import { MAX_PAYLOAD, hardLimitBytes } from './worker.js';
import {
  CLOSE,
  PROTOCOL_VERSION,
  describeFormat,
  offerFor,
  parseWorkerMessage,
  type Codec,
  type EdgeToWorker,
  type MediaFormat,
  type StartMsg,
} from './protocol.js';

export interface EdgeSettings {
  url: string;
  token: string;
  codecs: readonly Codec[];
  maxBufferedMs: number;
  reconnectGraceMs: number;
  connectTimeoutMs: number;
}

/** Errors after which retrying cannot help. */
const PERMANENT = new Set(['VB_ERR_WS_AUTH', 'VB_ERR_WS_FORMAT', 'VB_ERR_WS_RESUME', 'VB_ERR_WS_PROTOCOL', 'VB_ERR_WS_UNAVAILABLE']);
const MAX_PENDING_CONTROL = 64;

/** The worker's own coded error, with its message (which already says what to do). */
function remoteError(code: string, message: string): VoicebotError {
  const e = new VoicebotError(isErrorCode(code) ? code : 'VB_ERR_WS_PROTOCOL', { callId: '-', detail: message });
  if (isErrorCode(code)) e.message = message;
  return e;
}

/** The URL without credentials or query (a `?token=` must not reach the logs). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

type State = 'connecting' | 'open' | 'reconnecting' | 'ended';

export class EdgeStream {
  readonly ready: Promise<void>;
  readonly done: Promise<ForwardResult>;
  private resolveReady!: () => void;
  private rejectReady!: (e: VoicebotError) => void;
  private resolveDone!: (r: ForwardResult) => void;
  private state: State = 'connecting';
  private ws: WebSocket | undefined;
  private session: string | undefined;
  private format: MediaFormat | undefined;
  private sender: FrameSender | undefined;
  private decoder: FrameDecoder | undefined;
  private upRs: Resampler | undefined;
  private downRs: Resampler | undefined;
  private readonly outFrame: AudioFrame = { samples: new Int16Array(0), sampleRate: 0, timestampMs: 0 };
  private readonly pendingControl: string[] = [];
  private lastError: VoicebotError | undefined;
  private permanent: VoicebotError | undefined;
  private lostAt = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private answerTimer: NodeJS.Timeout | undefined;
  private alive = true;
  private badFrames = 0;
  private warnedDrop = false;
  private readonly offer: MediaFormat[];
  /** Where this call streams now: the static `url`, or the worker the fleet dispatcher chose. */
  private url: string;
  private target: WorkerTarget | undefined;
  /** Workers that refused or failed this placement (fleet). */
  private readonly tried = new Set<string>();
  private placeStartedAt = 0;
  /** The worker's last `state`: carried to another worker if this one is lost. */
  private carried: FlowState | undefined;
  /** Placing the call on another worker after its own was lost. */
  private redispatching = false;
  private lostDetail = '';

  constructor(
    readonly leg: CallLeg,
    private readonly flow: string | undefined,
    private readonly settings: EdgeSettings,
    private readonly log: Logger,
    private readonly onEvent?: (ev: StreamEvent) => void,
    private readonly pick?: WorkerPicker,
    private readonly keepLegOnNoWorker = false,
  ) {
    this.url = settings.url;
    this.ready = new Promise<void>((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => {});
    this.done = new Promise<ForwardResult>((r) => (this.resolveDone = r));
    this.offer = offerFor(settings.codecs, leg.media.inputRate);
  }

  get callId(): string {
    return this.leg.info.id;
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  start(): void {
    const leg = this.leg;
    leg.onEnded(this.onLegEnded);
    leg.onDtmf(this.onCallerDtmf);
    leg.media.setReceiver(this.onCallerFrame);
    if (this.offer.length === 0) {
      this.giveUp(new VoicebotError('VB_ERR_WS_FORMAT', { callId: this.callId, offered: 'nothing', accepted: this.settings.codecs.join(', ') }), false);
      return;
    }
    if (this.pick) {
      this.placeStartedAt = Date.now();
      const t = this.pick.pick(this.tried);
      if (!t) {
        this.giveUp(new VoicebotError('VB_ERR_FLEET_NO_WORKER', { callId: this.callId, detail: 'the registry lists no ready worker with free capacity' }), false);
        return;
      }
      this.target = t;
      this.url = t.url;
    }
    this.connect();
  }

  /** Liveness: called every pingIntervalMs by the plugin. */
  heartbeat(): void {
    const ws = this.ws;
    if (this.state !== 'open' || !ws) return;
    if (!this.alive) {
      this.log.warn('the worker stopped answering pings; reconnecting');
      ws.terminate();
      return;
    }
    this.alive = false;
    ws.ping();
  }

  /** Plugin stop: end the stream (the telephony plugin ends the caller's leg). */
  close(reason: HangupReason): void {
    if (this.state === 'ended') return;
    this.sendStop(reason);
    this.finish({ reason });
  }

  // ── connection ─────────────────────────────────────────────────────────
  private connect(): void {
    const resume = this.session;
    const carry = this.redispatching ? this.carried : undefined;
    const ws = new WebSocket(this.url, {
      headers: { authorization: `Bearer ${this.settings.token}` },
      perMessageDeflate: false,
      handshakeTimeout: this.settings.connectTimeoutMs,
      maxPayload: MAX_PAYLOAD,
    });
    this.ws = ws;
    this.alive = true;
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      const e =
        status === 401
          ? new VoicebotError('VB_ERR_WS_AUTH', { side: 'worker', detail: `HTTP 401 from ${safeUrl(this.url)}` })
          : status === 503
            ? new VoicebotError('VB_ERR_WS_UNAVAILABLE', { detail: `HTTP 503 from ${safeUrl(this.url)}` })
            : new VoicebotError('VB_ERR_WS_CONNECT', { url: safeUrl(this.url), detail: `HTTP ${status} instead of a WebSocket upgrade` });
      this.lastError = e;
      if (status === 401 || status === 404) this.permanent = e;
      ws.terminate();
    });
    ws.on('open', () => {
      if (ws !== this.ws) return;
      const start: StartMsg = {
        type: 'start',
        version: PROTOCOL_VERSION,
        callId: this.callId,
        from: this.leg.info.from,
        to: this.leg.info.to,
        ...(this.flow ? { flow: this.flow } : {}),
        meta: this.leg.info.meta,
        offer: this.offer,
        ...(resume ? { resume } : {}),
        ...(carry ? { carry } : {}),
      };
      ws.send(JSON.stringify(start));
      this.answerTimer = setTimeout(() => {
        this.lastError = new VoicebotError('VB_ERR_WS_CONNECT', { url: safeUrl(this.url), detail: `no answer to start within ${this.settings.connectTimeoutMs} ms` });
        ws.terminate();
      }, this.settings.connectTimeoutMs);
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (ws !== this.ws) return;
      if (isBinary) this.onBotAudio(data as Buffer);
      else this.onText((data as Buffer).toString('utf8'));
    });
    ws.on('pong', () => (this.alive = true));
    ws.on('error', (e) => {
      if (!this.lastError || this.lastError.code !== 'VB_ERR_WS_AUTH') {
        this.lastError ??= toVoicebotError(e, 'VB_ERR_WS_CONNECT', { url: safeUrl(this.url) });
      }
    });
    ws.on('close', (code) => this.onClose(ws, code));
  }

  private onClose(ws: WebSocket, code: number): void {
    if (ws !== this.ws) return;
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.answerTimer = undefined;
    this.ws = undefined;
    if (this.state === 'ended') return;
    this.sender?.setSocket(undefined);
    const why = this.permanent ?? this.lastError;
    if (!this.session) {
      // Never started: nothing to resume; in a fleet, another worker may take the call.
      const e = why ?? new VoicebotError('VB_ERR_WS_CONNECT', { url: safeUrl(this.url), detail: `closed with code ${code} before start was answered` });
      if (this.tryNext(e)) return;
      if (this.redispatching) this.giveUp(this.lost(`${this.lostDetail}; no other worker took the call (${e.message})`), true);
      else this.giveUp(this.pick ? new VoicebotError('VB_ERR_FLEET_NO_WORKER', { callId: this.callId, detail: `the last worker tried said: ${e.message}` }) : e, false);
      return;
    }
    const detail = why?.message ?? `the socket closed with code ${code}`;
    if (this.permanent) {
      if (this.redispatch(this.permanent.message)) return;
      this.giveUp(this.lost(this.permanent.message), true);
      return;
    }
    if (this.state === 'open') {
      this.state = 'reconnecting';
      this.lostAt = Date.now();
      this.attempt = 0;
      this.log.warn({ code, graceMs: this.settings.reconnectGraceMs }, `audio stream dropped (${detail}); reconnecting`);
      this.onEvent?.({ type: 'stream.reconnecting', callId: this.callId, detail });
    }
    const left = this.lostAt + this.settings.reconnectGraceMs - Date.now();
    if (left <= 0) {
      if (this.redispatch(detail)) return;
      this.giveUp(this.lost(detail), true);
      return;
    }
    const delay = Math.min(left, 1000, 50 * 2 ** this.attempt++);
    this.lastError = undefined;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === 'reconnecting') this.connect();
    }, delay);
  }

  /** Fleet: the worker refused the call or could not be reached before it started; try another within the budget. */
  private tryNext(why: VoicebotError): boolean {
    const pick = this.pick;
    if (!pick || !this.target) return false;
    pick.failed(this.target, why.code);
    this.tried.add(this.target.id);
    if (Date.now() - this.placeStartedAt > pick.budgetMs) return false;
    const next = pick.pick(this.tried);
    if (!next) return false;
    this.moveTo(next);
    return true;
  }

  /** Fleet: the call's worker is gone for good; place the call on another one, with the flow state it last reported. */
  private redispatch(detail: string): boolean {
    const pick = this.pick;
    if (!pick || !this.target || this.state === 'ended') return false;
    this.tried.clear();
    this.tried.add(this.target.id);
    const next = pick.pick(this.tried);
    if (!next) return false;
    this.log.warn({ lost: this.target.id, next: next.id, step: this.carried?.step }, `the call's worker is lost (${detail}); placing it on ${next.id}`);
    this.lostDetail = detail;
    this.redispatching = true;
    this.session = undefined;
    this.placeStartedAt = Date.now();
    this.moveTo(next);
    return true;
  }

  private moveTo(next: WorkerTarget): void {
    this.target = next;
    this.url = next.url;
    this.permanent = undefined;
    this.lastError = undefined;
    this.connect();
  }

  private lost(detail: string): VoicebotError {
    return new VoicebotError('VB_ERR_WS_STREAM_LOST', { callId: this.callId, detail, graceMs: this.settings.reconnectGraceMs });
  }

  // ── from the worker ────────────────────────────────────────────────────
  private onText(text: string): void {
    const p = parseWorkerMessage(text);
    if (!p.ok) {
      const e = new VoicebotError('VB_ERR_WS_PROTOCOL', { callId: this.callId, detail: p.detail });
      this.log.warn({ code: e.code }, e.message);
      this.sendJson({ type: 'error', code: e.code, message: e.message });
      if (p.fatal) {
        this.permanent = e;
        this.ws?.close(CLOSE.protocol, e.code);
      }
      return;
    }
    const m = p.msg;
    switch (m.type) {
      case 'started':
        this.onStarted(m.session, m.format, m.resumed);
        return;
      case 'mark':
        // Everything before the mark has been handed to the phone line (writes are synchronous).
        this.sendJson({ type: 'mark', name: m.name, ...(m.ms !== undefined ? { ms: m.ms } : {}) });
        return;
      case 'clear':
        this.leg.media.clear();
        return;
      case 'dtmf':
        this.leg.sendDtmf(m.digits).then(
          () => this.sendControl({ type: 'result', id: m.id, ok: true }),
          (e: unknown) => this.sendControl({ type: 'result', id: m.id, ok: false, error: wireError(e) }),
        );
        return;
      case 'transfer':
        this.leg.transfer(m.to, m.timeoutMs !== undefined ? { timeoutMs: m.timeoutMs } : undefined).then(
          () => {
            this.sendControl({ type: 'result', id: m.id, ok: true });
            this.sendStop('transferred');
            this.finish({ reason: 'transferred' });
          },
          (e: unknown) => this.sendControl({ type: 'result', id: m.id, ok: false, error: wireError(e) }),
        );
        return;
      case 'hangup':
      case 'stop': {
        const reason = m.reason;
        this.log.info({ reason }, `the worker ended the call (${m.type})`);
        this.finish({ reason });
        void this.leg.hangup(reason).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'hanging up the caller failed'));
        return;
      }
      case 'event':
        this.onEvent?.({ type: 'worker.event', callId: this.callId, event: m.event });
        return;
      case 'state':
        this.carried = m.state;
        return;
      case 'error': {
        const e = remoteError(m.code, m.message);
        this.log.warn({ code: e.code }, `the worker reported: ${m.message}`);
        if (PERMANENT.has(e.code)) this.permanent = e;
        else this.lastError = e;
        return;
      }
    }
  }

  private onStarted(session: string, format: MediaFormat, resumed: boolean): void {
    const ws = this.ws;
    if (!ws) return;
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.answerTimer = undefined;
    if (!this.format || this.format.codec !== format.codec || this.format.sampleRate !== format.sampleRate) {
      if (!this.offer.some((f) => f.codec === format.codec && f.sampleRate === format.sampleRate)) {
        this.permanent = new VoicebotError('VB_ERR_WS_PROTOCOL', { callId: this.callId, detail: `the worker chose ${describeFormat(format)}, which was not offered` });
        ws.close(CLOSE.protocol);
        return;
      }
      this.format = format;
      this.decoder = new FrameDecoder(format);
      this.sender = new FrameSender(format, this.settings.maxBufferedMs, (n) => this.onDrop(n));
      const media = this.leg.media;
      this.upRs = media.inputRate === format.sampleRate ? undefined : new Resampler(media.inputRate, format.sampleRate);
      this.downRs = media.outputRate === format.sampleRate ? undefined : new Resampler(format.sampleRate, media.outputRate);
      this.outFrame.sampleRate = media.outputRate;
    }
    this.session = session;
    this.state = 'open';
    this.sender!.setSocket(ws);
    while (this.pendingControl.length) ws.send(this.pendingControl.shift()!);
    if (resumed) {
      this.log.info({ attempts: this.attempt }, 'audio stream resumed');
      this.onEvent?.({ type: 'stream.resumed', callId: this.callId });
    } else if (this.redispatching) {
      this.redispatching = false;
      if (this.target) this.pick?.placed(this.target);
      const step = this.carried?.step ?? '(flow start)';
      const w = new VoicebotError('VB_WARN_FLEET_WORKER_LOST', { callId: this.callId, detail: this.lostDetail, worker: this.target?.id ?? '?', step });
      this.log.warn({ code: w.code }, w.message);
      this.onEvent?.({ type: 'stream.redispatched', callId: this.callId, url: safeUrl(this.url), step, code: w.code, message: w.message });
    } else {
      if (this.target) this.pick?.placed(this.target);
      this.log.info({ format: describeFormat(format) }, 'streaming the call to the worker');
      const { id: callId, from, to } = this.leg.info;
      this.onEvent?.({ type: 'stream.started', callId, from, to, flow: this.flow ?? '', url: safeUrl(this.url), format: describeFormat(format) });
      this.resolveReady();
    }
    this.lostAt = 0;
    this.attempt = 0;
  }

  private onBotAudio(data: Buffer): void {
    if (this.state !== 'open') return;
    const f = this.decoder!.decode(data);
    if (!f) {
      if (this.badFrames++ === 0) this.log.warn({ bytes: data.length }, 'dropping bot audio frames of the wrong size');
      return;
    }
    const out = this.outFrame;
    out.samples = this.downRs ? this.downRs.process(f.samples) : f.samples;
    out.timestampMs = f.timestampMs;
    this.leg.media.write(out);
  }

  // ── from the caller ────────────────────────────────────────────────────
  private readonly onCallerFrame = (f: AudioFrame): void => {
    if (this.state !== 'open') return;
    this.sender!.write(this.upRs ? this.upRs.process(f.samples) : f.samples);
  };

  private readonly onCallerDtmf = (digit: string): void => {
    this.sendControl({ type: 'dtmf', digit });
  };

  private readonly onLegEnded = (reason: HangupReason): void => {
    if (this.state === 'ended') return;
    this.log.info({ reason }, 'the caller side ended the call');
    this.sendStop(reason);
    this.finish({ reason });
  };

  // ── sending ────────────────────────────────────────────────────────────
  private sendJson(msg: EdgeToWorker): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const limit = hardLimitBytes(this.sender);
    if (ws.bufferedAmount > limit) {
      const e = new VoicebotError('VB_ERR_WS_BACKPRESSURE', { callId: this.callId, bufferedBytes: ws.bufferedAmount, limitBytes: limit });
      this.log.error({ code: e.code }, e.message);
      ws.close(CLOSE.backpressure, e.code);
      return;
    }
    ws.send(JSON.stringify(msg), this.sender?.flush);
  }

  /** Control that must not be lost: held (bounded) while reconnecting. */
  private sendControl(msg: EdgeToWorker): void {
    if (this.state === 'open') this.sendJson(msg);
    else if (this.state !== 'ended' && this.pendingControl.length < MAX_PENDING_CONTROL) this.pendingControl.push(JSON.stringify(msg));
  }

  private sendStop(reason: HangupReason): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN && this.state === 'open') {
      this.sendJson({ type: 'stop', reason });
      ws.close(CLOSE.normal);
    } else ws?.terminate();
  }

  private onDrop(total: number): void {
    if (this.warnedDrop) return;
    this.warnedDrop = true;
    const w = new VoicebotError('VB_WARN_WS_AUDIO_DROPPED', { callId: this.callId, frames: total, direction: 'toward the worker', limitMs: this.settings.maxBufferedMs });
    this.log.warn({ code: w.code }, w.message);
  }

  // ── ending ─────────────────────────────────────────────────────────────
  /** The stream cannot carry this call any more: hang up the caller with a coded reason. */
  private giveUp(e: VoicebotError, started: boolean): void {
    if (this.state === 'ended') return;
    this.log.error({ code: e.code }, e.message);
    this.ws?.terminate();
    this.finish({ reason: 'error', error: e });
    if (!started) this.rejectReady(e);
    // The app plays settings.fleet.noWorker on this leg, then hangs up itself.
    if (!started && this.keepLegOnNoWorker && e.code === 'VB_ERR_FLEET_NO_WORKER') return;
    void this.leg.hangup('error').catch(() => {});
  }

  private finish(r: ForwardResult): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.retryTimer = this.answerTimer = undefined;
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.close(CLOSE.normal);
    else if (ws && ws.readyState === WebSocket.CONNECTING) ws.terminate();
    const leg = this.leg;
    leg.media.setReceiver(undefined);
    leg.onDtmf(undefined);
    leg.onEnded(undefined);
    this.sender?.setSocket(undefined);
    this.pendingControl.length = 0;
    if (this.sender && this.sender.dropped > 0) this.log.warn({ droppedFrames: this.sender.dropped }, 'caller audio frames were dropped on this call (slow stream)');
    // A stream that ended before it started still settles `ready` (attach waits on it).
    this.rejectReady(r.error ?? new VoicebotError('VB_ERR_CALL_STATE', { callId: this.callId, action: 'stream', state: 'ended' }));
    this.resolveDone(r);
  }
}

function wireError(e: unknown): { code: string; message: string } {
  const v = toVoicebotError(e, 'VB_ERR_PROVIDER', { provider: 'edge', slot: 'telephony' });
  return { code: v.code, message: v.message };
}
