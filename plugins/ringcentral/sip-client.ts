import WebSocket from 'ws';
import EventEmitter from 'ringcentral-web-phone/event-emitter';
import InboundMessage from 'ringcentral-web-phone/sip-message/inbound';
import RequestMessage from 'ringcentral-web-phone/sip-message/outbound/request';
import ResponseMessage from 'ringcentral-web-phone/sip-message/outbound/response';
import { branch, fakeDomain, fakeEmail, generateAuthorization, uuid } from 'ringcentral-web-phone/utils';
import type { SipInfo } from 'ringcentral-web-phone/types';
import { MAX_SIP_BYTES, parseInboundSip } from './sip-parse.js';

const AUTO_REPLY = /^(MESSAGE|BYE|CANCEL|INFO|NOTIFY|UPDATE) sip:/;
const REGISTER_EXPIRES = 60;

export interface NodeSipClientOptions {
  sipInfo: SipInfo;
  instanceId: string;
  rejectUnauthorized: boolean;
  /** ms to wait for any SIP reply (REGISTER, BYE...). */
  requestTimeoutMs?: number;
  reconnect?: { minMs?: number; maxMs?: number; /** failures on one proxy before trying the other */ switchAfter?: number };
  onState?: (state: 'registered' | 'disconnected' | 'reconnecting', detail?: string) => void;
  /** A message from the proxy failed parseInboundSip and was dropped (answered 400 when it was a request). */
  onBadMessage?: (detail: string) => void;
}

/**
 * The WebPhone's SipClient contract over the `ws` package, for Node.
 *
 * The package's DefaultSipClient needs a global browser WebSocket (absent on
 * Node 20), cannot skip certificate checks for a test proxy, waits forever for
 * replies that never come and never reconnects. This keeps its wire format
 * (same message classes and digest helper) and adds those.
 */
export class NodeSipClient extends EventEmitter {
  disposed = false;
  wsc: WebSocket | undefined;
  private readonly opts: NodeSipClientOptions;
  private reregisterTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private useBackup = false;
  private started = false;
  private reconnecting = false;
  private registered = false;

  constructor(opts: NodeSipClientOptions) {
    super();
    this.opts = opts;
  }

  get proxy(): string {
    return this.useBackup && this.opts.sipInfo.outboundProxyBackup ? this.opts.sipInfo.outboundProxyBackup : this.opts.sipInfo.outboundProxy;
  }

  async start(): Promise<void> {
    await this.connect();
    await this.register(REGISTER_EXPIRES);
    this.started = true;
    this.opts.onState?.('registered', this.proxy);
  }

  private connect(): Promise<void> {
    const ws = new WebSocket('wss://' + this.proxy, 'sip', { rejectUnauthorized: this.opts.rejectUnauthorized, handshakeTimeout: 5000, maxPayload: MAX_SIP_BYTES });
    this.wsc = ws;
    // Errors after open are followed by 'close', which drives reconnection.
    ws.on('error', () => undefined);
    ws.on('message', (data) => {
      const p = parseInboundSip(String(data));
      if (!p.ok) {
        this.opts.onBadMessage?.(p.detail);
        if (p.msg && !p.msg.subject.startsWith('SIP/2.0 ')) void this.reply(new ResponseMessage(p.msg, { responseCode: 400 })).catch(() => undefined);
        return;
      }
      const msg = p.msg;
      this.emit('inboundMessage', msg);
      if (AUTO_REPLY.test(msg.subject)) void this.reply(new ResponseMessage(msg, { responseCode: 200 })).catch(() => undefined);
    });
    ws.on('close', () => {
      if (this.wsc !== ws) return;
      this.emit('closed');
      if (!this.disposed && this.started && !this.reconnecting) this.scheduleReconnect();
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (e) => reject(e));
    });
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.disposed) return;
    clearTimeout(this.reregisterTimer);
    const min = this.opts.reconnect?.minMs ?? 250;
    const max = this.opts.reconnect?.maxMs ?? 30_000;
    const delay = Math.min(max, min * 2 ** Math.min(this.failures, 16));
    this.opts.onState?.('reconnecting', `${this.proxy} in ${delay}ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    if (this.disposed) return;
    this.reconnecting = true;
    try {
      await this.connect();
      await this.register(REGISTER_EXPIRES);
      this.failures = 0;
      this.opts.onState?.('registered', this.proxy);
    } catch (e) {
      this.failures++;
      const switchAfter = this.opts.reconnect?.switchAfter ?? 3;
      // RingCentral gives a backup proxy for outages of the primary one.
      if (this.failures % switchAfter === 0 && this.opts.sipInfo.outboundProxyBackup) this.useBackup = !this.useBackup;
      this.opts.onState?.('disconnected', e instanceof Error ? e.message : String(e));
      const ws = this.wsc;
      this.wsc = undefined;
      ws?.terminate();
      this.scheduleReconnect();
    } finally {
      this.reconnecting = false;
    }
  }

  private async register(expires: number): Promise<void> {
    const { sipInfo, instanceId } = this.opts;
    const req = new RequestMessage(`REGISTER sip:${sipInfo.domain} SIP/2.0`, {
      'Call-Id': uuid(),
      Contact: `<sip:${fakeEmail};transport=wss>;+sip.instance="<urn:uuid:${instanceId}>";expires=${expires}`,
      From: `<sip:${sipInfo.username}@${sipInfo.domain}>;tag=${uuid()}`,
      To: `<sip:${sipInfo.username}@${sipInfo.domain}>`,
      Via: `SIP/2.0/WSS ${fakeDomain};branch=${branch()}`,
    });
    let res = await this.request(req);
    if (!res.subject.startsWith('SIP/2.0 200 ')) {
      const nonce = res.getHeader('Www-Authenticate')?.match(/\bnonce="([^"]+)"/)?.[1];
      if (!nonce) throw new Error(`Registration failed: ${res.subject}`);
      const retry = req.fork();
      retry.headers.Authorization = generateAuthorization(sipInfo, nonce, 'REGISTER');
      res = await this.request(retry);
    }
    if (!res.subject.startsWith('SIP/2.0 200 ')) throw new Error(`Registration failed: ${res.subject}`);
    if (expires === 0) {
      this.registered = false;
      return;
    }
    const granted = Number(res.getHeader('Contact')?.match(/;expires=(\d+)/)?.[1]);
    if (!granted) throw new Error(`Registration failed: ${res.subject} (missing Contact expires)`);
    this.registered = true;
    clearTimeout(this.reregisterTimer);
    this.reregisterTimer = setTimeout(() => {
      // A failed refresh means the socket is unusable: drop it and let reconnect take over.
      this.register(expires).catch(() => this.wsc?.terminate());
    }, Math.max(1, granted - 3) * 1000);
  }

  /**
   * Send a request and resolve with its final response. Never rejects: the
   * WebPhone awaits requests inside event handlers that nobody catches, so a
   * dead socket or a silent proxy yields a locally made 408, as a SIP
   * transaction timeout would, and the Call-Id is remembered as failed.
   */
  request(message: RequestMessage): Promise<InboundMessage> {
    const ws = this.wsc;
    const callId = message.headers['Call-Id'];
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.resolve(this.localFailure(message, 'SIP connection is not open'));
    const cseq = message.headers.CSeq!.trim().split(/\s+/)[0];
    const timeoutMs = this.opts.requestTimeoutMs ?? 5000;
    return new Promise((resolve) => {
      const listener = (msg: InboundMessage) => {
        if (!msg.subject.startsWith('SIP/2.0 ')) return;
        if (msg.getHeader('CSeq')?.trim().split(/\s+/)[0] !== cseq) return;
        if (callId && msg.getHeader('Call-Id') !== callId) return;
        if (msg.subject.startsWith('SIP/2.0 100 ')) return;
        cleanup();
        if (callId) this.failedCalls.delete(callId);
        resolve(msg);
      };
      const onClose = () => {
        cleanup();
        resolve(this.localFailure(message, 'SIP connection closed'));
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(this.localFailure(message, `no reply within ${timeoutMs}ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('inboundMessage', listener);
        this.off('closed', onClose);
      };
      this.on('inboundMessage', listener);
      this.on('closed', onClose);
      ws.send(message.toString());
      this.emit('outboundMessage', message);
    });
  }

  private readonly failedCalls = new Map<string, string>();

  private localFailure(message: RequestMessage, why: string): InboundMessage {
    const callId = message.headers['Call-Id'];
    if (callId) {
      this.failedCalls.set(callId, why);
      if (this.failedCalls.size > 100) this.failedCalls.delete(this.failedCalls.keys().next().value!);
    }
    return InboundMessage.fromString(
      `SIP/2.0 408 Request Timeout\r\nCall-Id: ${callId ?? ''}\r\nCSeq: ${message.headers.CSeq ?? ''}\r\nX-Local-Failure: ${why}\r\n\r\n`,
    );
  }

  /** Why the last request on this call got no answer, if it did not; clears the mark. */
  takeFailure(callId: string): string | undefined {
    const why = this.failedCalls.get(callId);
    this.failedCalls.delete(callId);
    return why;
  }

  get connected(): boolean {
    return this.wsc?.readyState === WebSocket.OPEN;
  }

  /** Send without waiting. Like SIP over UDP, a message on a dead socket is lost, not thrown: callers are uncaught handlers. */
  async reply(message: ResponseMessage | RequestMessage): Promise<void> {
    const ws = this.wsc;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(message.toString());
    this.emit('outboundMessage', message);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.reregisterTimer);
    clearTimeout(this.reconnectTimer);
    try {
      // Unregister only a contact we hold, so a failed start adds no REGISTER traffic.
      if (this.registered && this.wsc?.readyState === WebSocket.OPEN) await this.register(0);
    } catch {
      /* best effort: the registration expires on its own */
    }
    this.removeAllListeners();
    const ws = this.wsc;
    this.wsc = undefined;
    if (ws) {
      await new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        ws.close();
      });
    }
  }
}
