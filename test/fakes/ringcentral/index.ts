import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AudioFrame } from '../../../core/audio/frame.js';
import { createPeer, gatheringComplete, RtpAudio } from '../../../plugins/ringcentral/rtp-media.js';
import { FakeCalleeMedia, inviteResponse, newTag, type CalleeBehaviour, type OutboundInvite } from './callee.js';
import { selfSignedCert } from './cert.js';
import { header, isResponse, md5, methodOf, parseDigest, parseSip, responseTo, serializeSip, statusOf, token, type SipMsg } from './sip-wire.js';

export interface FakeRingCentralOptions {
  clientId?: string;
  clientSecret?: string;
  /** The only JWT the token endpoint accepts. */
  jwt?: string;
  /** access_token lifetime, s. */
  accessTokenTtl?: number;
  /** Contact expires the fake grants on REGISTER, s (the WebPhone re-registers at N-3). */
  registerExpires?: number;
  sipPassword?: string;
  /** Run a second SIP proxy for sipInfo.outboundProxyBackup (else the backup points at the primary). */
  backupProxy?: boolean;
  /** Lifetime the fake grants webhook subscriptions, s (RingCentral allows up to 7 days... or asks for renewal). */
  subscriptionTtl?: number;
  /** Answer every authenticated REGISTER with 403, as for a deleted device. */
  rejectRegister?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface PlaceCallOptions {
  from?: string;
  to?: string;
  /** Caller codec preference (the fake offers only these, plus telephone-event). */
  codecs?: ('opus' | 'pcmu')[];
  /**
   * Rewrite the offer the way RingCentral's media servers write theirs: Opus
   * as payload type 109 instead of werift's 111.
   */
  rcPayloadTypes?: boolean;
  /** Extra INVITE headers, e.g. Alert-Info: Auto Answer. */
  autoAnswerHeaders?: Record<string, string>;
}

export type CallEnd = 'caller-bye' | 'caller-cancel' | 'bot-bye' | 'rejected' | 'transferred' | 'dropped';

/** The caller side of one fake call. */
export class FakeCall {
  readonly callId: string;
  readonly sessionId: string;
  readonly partyId: string;
  readonly audio: RtpAudio;
  /** 200 OKs the bot sent for this INVITE (exactly one is right). */
  okCount = 0;
  /** Every final/provisional status the bot sent for the INVITE. */
  readonly statuses: number[] = [];
  /** Statuses the bot sent for re-INVITEs. */
  readonly reinviteStatuses: number[] = [];
  readonly answered: Promise<void>;
  readonly ended: Promise<CallEnd>;
  /** Caller received frames, copied (bot audio decoded at the caller). */
  readonly received: AudioFrame[] = [];
  keepReceived = true;
  endReason: CallEnd | undefined;
  private resolveAnswered!: () => void;
  private resolveEnded!: (r: CallEnd) => void;
  /** @internal */ inviteCseq: number;
  /** @internal */ fromHeader: string;
  /** @internal */ toHeader = '';
  /** @internal */ requestUri: string;
  /** @internal */ inviteVia = '';
  /** Outbound calls (the bot dialled): the fake callee's media and script. */
  callee: FakeCalleeMedia | undefined;

  constructor(
    private readonly fake: FakeRingCentral,
    init: { callId: string; sessionId: string; partyId: string; audio: RtpAudio; cseq: number; from: string; uri: string },
  ) {
    this.callId = init.callId;
    this.sessionId = init.sessionId;
    this.partyId = init.partyId;
    this.audio = init.audio;
    this.inviteCseq = init.cseq;
    this.fromHeader = init.from;
    this.requestUri = init.uri;
    this.answered = new Promise((r) => (this.resolveAnswered = r));
    this.ended = new Promise((r) => (this.resolveEnded = r));
    this.audio.setReceiver((f) => {
      if (this.keepReceived) this.received.push({ ...f, samples: f.samples.slice() });
    });
  }

  /** @internal */ markAnswered(): void {
    this.resolveAnswered();
  }

  /** @internal */ end(reason: CallEnd): void {
    if (this.endReason) return;
    this.endReason = reason;
    this.resolveEnded(reason);
    void this.audio.close();
  }

  /** Send caller audio (one 20 ms frame at audio.pcmRate). */
  write(frame: AudioFrame): void {
    this.audio.write(frame);
  }

  /** Play PCM16 in real time as 20 ms frames. */
  async play(samples: Int16Array, rate: number): Promise<void> {
    const n = (rate * 20) / 1000;
    for (let i = 0; i + n <= samples.length && !this.endReason; i += n) {
      this.audio.write({ samples: samples.subarray(i, i + n), sampleRate: rate, timestampMs: (i * 1000) / rate });
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  pressDtmf(digits: string): Promise<void> {
    return this.audio.sendDtmf(digits);
  }

  /** Re-INVITE with the same offer (session refresh / hold-unhold as RingCentral sends them). */
  reinvite(): void {
    this.fake.sendReinvite(this);
  }

  /** The caller gives up before the answer: CANCEL toward the bot. */
  cancel(): void {
    if (this.endReason) return;
    this.fake.sendCancel(this);
    this.end('caller-cancel');
  }

  /** The caller hangs up: BYE toward the bot. */
  hangup(): void {
    if (this.endReason) return;
    this.fake.sendBye(this);
    this.end('caller-bye');
  }
}

export class FakeRingCentral {
  readonly requests: RecordedRequest[] = [];
  readonly sipLog: { dir: 'in' | 'out'; start: string }[] = [];
  readonly calls: FakeCall[] = [];
  /** Bridge requests the fake carried out (warm transfers). */
  readonly bridges: { from: { sessionId: string; partyId: string }; to: { sessionId: string; partyId: string } }[] = [];
  /** Every INVITE the WebPhone sent (outbound calls), in order. */
  readonly invites: OutboundInvite[] = [];
  /** Outbound calls the fake callee answered. */
  readonly outboundCalls: FakeCall[] = [];
  /** How the callee at each number behaves; others get `defaultCallee`. */
  readonly callees = new Map<string, CalleeBehaviour>();
  defaultCallee: CalleeBehaviour = { kind: 'human' };
  /** Ringing outbound INVITEs by Call-Id (CANCEL ends them with 487). */
  private readonly ringing = new Map<string, { invite: SipMsg; ws: WebSocket; tag: string; timer?: NodeJS.Timeout }>();
  /** Successful REGISTERs with expires>0. */
  registrations = 0;
  /** Successful REGISTERs with expires=0 (the phone left). */
  unregistrations = 0;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly jwt: string;
  readonly sipInfo = {
    username: '16505550100',
    password: 'sip-secret',
    authorizationId: '802000000001',
    domain: 'sip.fake.test',
  };
  restUrl = '';
  sipHostPort = '';
  backupHostPort = '';
  private rest!: Server;
  private sipServers: { kind: 'primary' | 'backup'; https: HttpsServer; wss: WebSocketServer; down: boolean }[] = [];
  private sockets = new Set<WebSocket>();
  /** Which proxy each successful REGISTER arrived at, in order. */
  readonly registeredVia: ('primary' | 'backup')[] = [];
  private accessTokens = new Set<string>();
  private refreshTokens = new Set<string>();
  private nonces = new Set<string>();
  private cseq = 50000 + Math.floor(Math.random() * 1000);
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];
  private readonly opts: Required<FakeRingCentralOptions>;
  subscriptions: { id: string; address: string; verificationToken?: string; validated: boolean }[] = [];

  constructor(opts: FakeRingCentralOptions = {}) {
    this.opts = {
      clientId: opts.clientId ?? 'fake-client-id',
      clientSecret: opts.clientSecret ?? 'fake-client-secret',
      jwt: opts.jwt ?? 'fake.jwt.token',
      accessTokenTtl: opts.accessTokenTtl ?? 3600,
      registerExpires: opts.registerExpires ?? 60,
      sipPassword: opts.sipPassword ?? 'sip-secret',
      backupProxy: opts.backupProxy ?? false,
      subscriptionTtl: opts.subscriptionTtl ?? 604800,
      rejectRegister: opts.rejectRegister ?? false,
    };
    this.clientId = this.opts.clientId;
    this.clientSecret = this.opts.clientSecret;
    this.jwt = this.opts.jwt;
    this.sipInfo.password = this.opts.sipPassword;
  }

  /** @internal */ async start(): Promise<void> {
    this.rest = createServer((req, res) => void this.onRest(req, res));
    await listen(this.rest);
    this.restUrl = `http://127.0.0.1:${(this.rest.address() as AddressInfo).port}`;
    this.sipHostPort = await this.startSip('primary');
    // Without a backup proxy the backup address is the primary, as some accounts have.
    this.backupHostPort = this.opts.backupProxy ? await this.startSip('backup') : this.sipHostPort;
  }

  private async startSip(kind: 'primary' | 'backup'): Promise<string> {
    const { key, cert } = selfSignedCert();
    const https = createHttpsServer({ key, cert });
    const entry = { kind, https, wss: undefined as unknown as WebSocketServer, down: false };
    entry.wss = new WebSocketServer({
      server: https,
      handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
      verifyClient: (_info, cb) => (entry.down ? cb(false, 503, 'Service Unavailable') : cb(true)),
    });
    entry.wss.on('connection', (ws) => {
      (ws as WebSocket & { via?: string }).via = kind;
      this.sockets.add(ws);
      ws.on('close', () => {
        this.sockets.delete(ws);
        this.check();
      });
      ws.on('message', (data) => this.onSip(ws, String(data)));
    });
    this.sipServers.push(entry);
    await listen(https);
    return `127.0.0.1:${(https.address() as AddressInfo).port}`;
  }

  /** Take a proxy down (refuses WebSocket upgrades, drops its connections) or bring it back. */
  setProxyDown(kind: 'primary' | 'backup', down: boolean): void {
    for (const s of this.sipServers.filter((x) => x.kind === kind)) {
      s.down = down;
      if (down) for (const ws of s.wss.clients) ws.terminate();
    }
  }

  // ---------------------------------------------------------------- REST

  countRequests(pathPart: string, method?: string): number {
    return this.requests.filter((r) => r.path.includes(pathPart) && (!method || r.method === method)).length;
  }

  private async onRest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    this.requests.push({ method: req.method ?? '', path, headers: req.headers, body });
    this.check();
    const json = (status: number, obj: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };

    if (path === '/restapi/oauth/token' && req.method === 'POST') {
      const basic = Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64');
      if (req.headers.authorization !== `Basic ${basic}`) {
        return json(401, { error: 'invalid_client', errors: [{ errorCode: 'OAU-123', message: 'Invalid client' }], error_description: 'Invalid client' });
      }
      const form = new URLSearchParams(body);
      const grant = form.get('grant_type');
      if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
        if (form.get('assertion') !== this.jwt) {
          return json(400, { error: 'invalid_grant', errors: [{ errorCode: 'OAU-144', message: 'Invalid token' }], error_description: 'Invalid token' });
        }
      } else if (grant === 'refresh_token') {
        const rt = form.get('refresh_token') ?? '';
        if (!this.refreshTokens.delete(rt)) {
          return json(400, { error: 'invalid_grant', errors: [{ errorCode: 'OAU-211', message: 'Token is revoked' }], error_description: 'Token is revoked' });
        }
      } else {
        return json(400, { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' });
      }
      const access = 'at-' + token();
      const refresh = 'rt-' + token();
      this.accessTokens.add(access);
      this.refreshTokens.add(refresh);
      return json(200, {
        access_token: access, token_type: 'bearer', expires_in: this.opts.accessTokenTtl,
        refresh_token: refresh, refresh_token_expires_in: 604800, scope: 'VoipCalling CallControl',
        owner_id: '100000001', endpoint_id: 'ep-' + token(4),
      });
    }
    if (path === '/restapi/oauth/revoke') {
      const t = new URLSearchParams(body).get('token');
      if (t) {
        this.accessTokens.delete(t);
        this.refreshTokens.delete(t);
      }
      res.writeHead(200).end();
      return;
    }
    if (!path.startsWith('/restapi/v1.0/')) return json(404, { errorCode: 'CMN-404', message: 'Not found' });
    const auth = req.headers.authorization ?? '';
    if (!/^bearer /i.test(auth) || !this.accessTokens.has(auth.slice(7))) {
      return json(401, { errorCode: 'TokenInvalid', message: 'Invalid token', errors: [{ errorCode: 'OAU-213', message: 'Token not found' }] });
    }

    if (path === '/restapi/v1.0/client-info/sip-provision' && req.method === 'POST') {
      return json(200, {
        device: { id: '800000000001', type: 'WebPhone', status: 'Online' },
        sipInfo: [{
          transport: 'WSS', ...this.sipInfo, authorizationTypes: ['SipDigest'],
          outboundProxy: this.sipHostPort, outboundProxyBackup: this.backupHostPort,
          stunServers: [], switchBackInterval: 3600,
        }],
        sipFlags: { voipFeatureEnabled: true, outboundCallsEnabled: true },
        sipErrorCodes: [], pollingInterval: 86400,
      });
    }
    if (path === '/restapi/v1.0/subscription' && req.method === 'POST') {
      const sub = JSON.parse(body || '{}') as { deliveryMode?: { address?: string; verificationToken?: string } };
      const address = sub.deliveryMode?.address ?? '';
      const validationToken = token();
      const echoed = await postJson(address, '', { 'Validation-Token': validationToken }).catch(() => undefined);
      const ok = echoed?.status === 200 && echoed.headers['validation-token'] === validationToken;
      if (!ok) return json(400, { errorCode: 'SUB-523', message: 'Webhook validation failed' });
      const id = 'sub-' + token(4);
      this.subscriptions.push({ id, address, verificationToken: sub.deliveryMode?.verificationToken, validated: true });
      return json(200, { id, status: 'Active', expiresIn: this.opts.subscriptionTtl, deliveryMode: sub.deliveryMode });
    }
    const subm = /^\/restapi\/v1\.0\/subscription\/([^/]+)(\/renew)?$/.exec(path);
    if (subm) {
      const i = this.subscriptions.findIndex((x) => x.id === subm[1]);
      if (i < 0) return json(404, { errorCode: 'SUB-404', message: 'Subscription not found' });
      if (req.method === 'POST' && subm[2]) return json(200, { id: subm[1], status: 'Active', expiresIn: this.opts.subscriptionTtl });
      if (req.method === 'DELETE' && !subm[2]) {
        this.subscriptions.splice(i, 1);
        res.writeHead(204).end();
        return;
      }
    }
    const m = /^\/restapi\/v1\.0\/account\/~\/telephony\/sessions\/([^/]+)(?:\/parties\/([^/]+)\/(\w+))?$/.exec(path);
    if (m) {
      const [, sid, pid, action] = m;
      const call = this.calls.find((c) => c.sessionId === sid);
      if (!call || call.endReason) return json(404, { errorCode: 'TAS-102', message: 'Telephony session not found' });
      if (!pid) {
        if (req.method === 'GET') return json(200, { id: sid, parties: [{ id: call.partyId, status: { code: 'Answered' } }] });
        if (req.method === 'DELETE') {
          this.sendBye(call);
          call.end('dropped');
          res.writeHead(204).end();
          return;
        }
      }
      if (pid !== call.partyId) return json(404, { errorCode: 'TAS-103', message: 'Party not found' });
      if (action === 'transfer' && req.method === 'POST') {
        json(200, { id: pid, status: { code: 'Gone', reason: 'BlindTransfer' } });
        // After a blind transfer RingCentral drops the bot's leg with a BYE.
        setTimeout(() => {
          if (!call.endReason) {
            this.sendBye(call);
            call.end('transferred');
          }
        }, 10);
        return;
      }
      if (action === 'bridge' && req.method === 'POST') {
        const b = JSON.parse(body || '{}') as { telephonySessionId?: string; partyId?: string };
        const other = this.calls.find((c) => c.sessionId === b.telephonySessionId && !c.endReason);
        if (!other || other.partyId !== b.partyId) return json(404, { errorCode: 'TAS-102', message: 'Telephony session to bridge not found' });
        this.bridges.push({ from: { sessionId: call.sessionId, partyId: call.partyId }, to: { sessionId: other.sessionId, partyId: other.partyId } });
        json(200, { id: pid, status: { code: 'Answered' } });
        // The two far ends now talk to each other; the platform drops the bot from both.
        setTimeout(() => {
          for (const c of [call, other]) {
            if (c.endReason) continue;
            this.sendBye(c);
            c.end('transferred');
          }
        }, 10);
        return;
      }
      if (['answer', 'forward', 'reject'].includes(action ?? '') && req.method === 'POST') {
        return json(200, { id: pid, status: { code: action === 'answer' ? 'Answered' : 'Gone' } });
      }
    }
    return json(404, { errorCode: 'CMN-404', message: 'Not found' });
  }

  /** POST a telephony session event to every validated webhook. Resolves with the HTTP statuses. */
  async notify(
    call: { sessionId: string; partyId: string },
    code: string,
    opts: { verificationToken?: string; otherParties?: { id: string; code: string }[] } = {},
  ): Promise<number[]> {
    const out: number[] = [];
    for (const s of this.subscriptions) {
      const body = JSON.stringify({
        uuid: token(), event: '/restapi/v1.0/account/~/extension/~/telephony/sessions', timestamp: new Date().toISOString(),
        body: { telephonySessionId: call.sessionId, sequence: 5, parties: [
          { id: call.partyId, direction: 'Inbound', extensionId: '100000001', status: { code } },
          ...(opts.otherParties ?? []).map((p) => ({ id: p.id, direction: 'Outbound', status: { code: p.code } })),
        ] },
      });
      const tok = opts.verificationToken ?? s.verificationToken;
      const r = await postJson(s.address, body, tok ? { 'Verification-Token': tok } : {});
      out.push(r.status);
    }
    return out;
  }

  // ---------------------------------------------------------------- SIP

  private sendSip(ws: WebSocket | undefined, text: string): void {
    const target = ws ?? this.registeredSocket();
    if (!target) return;
    this.sipLog.push({ dir: 'out', start: text.slice(0, text.indexOf('\r\n')) });
    target.send(text);
  }

  private registeredSocket(): WebSocket | undefined {
    return [...this.sockets].find((s) => (s as WebSocket & { registered?: boolean }).registered && s.readyState === s.OPEN);
  }

  private onSip(ws: WebSocket, text: string): void {
    const msg = parseSip(text);
    this.sipLog.push({ dir: 'in', start: msg.start });
    if (isResponse(msg)) return this.onSipResponse(msg);
    const method = methodOf(msg);
    if (method === 'REGISTER') return this.onRegister(ws, msg);
    const call = this.calls.find((c) => c.callId === header(msg, 'Call-Id'));
    if (method === 'BYE') {
      this.sendSip(ws, responseTo(msg, 200, 'OK'));
      call?.end('bot-bye');
      this.check();
      return;
    }
    if (method === 'ACK') return;
    if (method === 'INVITE' && !call) return void this.onOutboundInvite(ws, msg);
    if (method === 'CANCEL') return this.onCancel(ws, msg);
    // MESSAGE, INFO, REFER...: accept; the fake has no call-control over SIP.
    this.sendSip(ws, responseTo(msg, method === 'REFER' ? 202 : 200, method === 'REFER' ? 'Accepted' : 'OK'));
  }

  private onRegister(ws: WebSocket, msg: SipMsg): void {
    const auth = header(msg, 'Authorization');
    if (!auth) {
      const nonce = token(12);
      this.nonces.add(nonce);
      return this.sendSip(ws, responseTo(msg, 401, 'Unauthorized', [
        ['WWW-Authenticate', `Digest realm="${this.sipInfo.domain}", nonce="${nonce}", algorithm=MD5, qop="auth"`],
      ]));
    }
    const d = parseDigest(auth);
    const ha1 = md5(`${this.sipInfo.authorizationId}:${this.sipInfo.domain}:${this.sipInfo.password}`);
    const ha2 = md5(`REGISTER:${d.uri}`);
    const ok = d.username === this.sipInfo.authorizationId && d.nonce !== undefined && this.nonces.delete(d.nonce) &&
      d.response === md5(`${ha1}:${d.nonce}:${ha2}`);
    if (!ok || this.opts.rejectRegister) return this.sendSip(ws, responseTo(msg, 403, 'Forbidden'));
    const contact = header(msg, 'Contact') ?? '';
    const expires = Number(/;expires=(\d+)/.exec(contact)?.[1] ?? '60');
    const granted = Math.min(expires, this.opts.registerExpires);
    const tagged = contact.replace(/;expires=\d+/, '') + `;expires=${granted}`;
    (ws as WebSocket & { registered?: boolean }).registered = granted > 0;
    if (granted === 0) this.unregistrations++;
    if (granted > 0) {
      this.registrations++;
      this.registeredVia.push(((ws as WebSocket & { via?: 'primary' | 'backup' }).via) ?? 'primary');
    }
    this.sendSip(ws, responseTo(msg, 200, 'OK', [['Contact', tagged]]));
    this.check();
  }

  private onSipResponse(msg: SipMsg): void {
    const call = this.calls.find((c) => c.callId === header(msg, 'Call-Id'));
    if (!call || methodOf(msg) !== 'INVITE') return;
    const status = statusOf(msg);
    const cseqNum = Number((header(msg, 'CSeq') ?? '').split(/\s+/)[0]);
    if (cseqNum !== call.inviteCseq) {
      // A re-INVITE's answer: acknowledge, keep the media as it is.
      call.reinviteStatuses.push(status);
      if (status >= 200) {
        this.sendSip(undefined, serializeSip(`ACK ${call.requestUri} SIP/2.0`, [
          ['Via', `SIP/2.0/WSS ${this.sipHostPort};branch=z9hG4bK${token(6)}`],
          ['From', call.fromHeader], ['To', call.toHeader], ['Call-Id', call.callId], ['CSeq', `${cseqNum} ACK`],
        ]));
      }
      this.check();
      return;
    }
    call.statuses.push(status);
    if (status === 200) {
      call.okCount++;
      call.toHeader = header(msg, 'To') ?? call.toHeader;
      this.sendSip(undefined, serializeSip(`ACK ${call.requestUri} SIP/2.0`, [
        ['Via', `SIP/2.0/WSS ${this.sipHostPort};branch=z9hG4bK${token(6)}`],
        ['From', call.fromHeader], ['To', call.toHeader], ['Call-Id', call.callId], ['CSeq', `${call.inviteCseq} ACK`],
      ]));
      if (call.okCount === 1) {
        void call.audio.pc
          .setRemoteDescription({ type: 'answer', sdp: msg.body })
          .then(() => waitConnected(call.audio))
          .then(() => call.markAnswered(), () => undefined);
      }
    } else if (status >= 300) {
      call.end('rejected');
    }
    this.check();
  }

  /** @internal */ sendBye(call: FakeCall): void {
    this.sendSip(undefined, serializeSip(`BYE sip:${this.sipInfo.username}@${this.sipInfo.domain} SIP/2.0`, [
      ['Via', `SIP/2.0/WSS ${this.sipHostPort};branch=z9hG4bK${token(6)}`],
      ['From', call.fromHeader], ['To', call.toHeader || `<sip:${this.sipInfo.username}@${this.sipInfo.domain}>`],
      ['Call-Id', call.callId], ['CSeq', `${++this.cseq} BYE`], ['Max-Forwards', '70'],
    ]));
  }

  /** @internal */ sendReinvite(call: FakeCall): void {
    this.sendSip(undefined, serializeSip(`INVITE ${call.requestUri} SIP/2.0`, [
      ['Via', `SIP/2.0/WSS ${this.sipHostPort};branch=z9hG4bK${token(6)}`],
      ['From', call.fromHeader], ['To', call.toHeader], ['Call-Id', call.callId], ['CSeq', `${++this.cseq} INVITE`],
      ['Contact', `<sip:caller@${this.sipHostPort};transport=wss>`], ['Max-Forwards', '70'],
      ['p-rc-api-ids', `party-id=${call.partyId};session-id=${call.sessionId}`],
      ['Content-Type', 'application/sdp'],
    ], call.audio.pc.localDescription!.sdp));
  }

  /** @internal */ sendCancel(call: FakeCall): void {
    this.sendSip(undefined, serializeSip(`CANCEL ${call.requestUri} SIP/2.0`, [
      ['Via', call.inviteVia], ['From', call.fromHeader], ['To', `<sip:${this.sipInfo.username}@${this.sipInfo.domain}>`],
      ['Call-Id', call.callId], ['CSeq', `${call.inviteCseq} CANCEL`], ['Max-Forwards', '70'],
    ]));
  }

  // ------------------------------------------------------ outbound (callee)

  private checkDigest(msg: SipMsg, name: string, method: string): boolean {
    const auth = header(msg, name);
    if (!auth) return false;
    const d = parseDigest(auth);
    const ha1 = md5(`${this.sipInfo.authorizationId}:${this.sipInfo.domain}:${this.sipInfo.password}`);
    const ha2 = md5(`${method}:${d.uri}`);
    return d.username === this.sipInfo.authorizationId && d.nonce !== undefined && this.nonces.delete(d.nonce) && d.response === md5(`${ha1}:${d.nonce}:${ha2}`);
  }

  /** An INVITE from the WebPhone: digest challenge, then the callee rings and answers (or not) as configured. */
  private async onOutboundInvite(ws: WebSocket, msg: SipMsg): Promise<void> {
    const callId = header(msg, 'Call-Id') ?? '';
    const to = /^INVITE sip:([^@\s]+)@/.exec(msg.start)?.[1] ?? '';
    const pai = header(msg, 'P-Asserted-Identity');
    const hasAuth = header(msg, 'Proxy-Authorization') !== undefined;
    this.invites.push({ callId, to, callerId: pai ? /sip:([^@>]+)@/.exec(pai)?.[1] : undefined, authorized: hasAuth });
    this.check();
    if (!hasAuth) {
      const nonce = token(12);
      this.nonces.add(nonce);
      return this.sendSip(ws, responseTo(msg, 407, 'Proxy Authentication Required', [
        ['Proxy-Authenticate', `Digest realm="${this.sipInfo.domain}", nonce="${nonce}", algorithm=MD5, qop="auth"`],
      ]));
    }
    if (!this.checkDigest(msg, 'Proxy-Authorization', 'INVITE')) return this.sendSip(ws, responseTo(msg, 403, 'Forbidden'));
    const behaviour = this.callees.get(to) ?? this.defaultCallee;
    const tag = newTag();
    const idBase = token(6).replace(/[^0-9a-f]/g, '') + 'z';
    const sessionId = `s-${idBase}${token(3)}`;
    const partyId = `p-${idBase}${token(3)}-1`;
    const ids: [string, string] = ['p-rc-api-ids', `party-id=${partyId};session-id=${sessionId}`];
    this.sendSip(ws, inviteResponse(msg, 100, 'Trying', tag));
    this.sendSip(ws, inviteResponse(msg, 180, 'Ringing', tag, [ids]));
    const entry: { invite: SipMsg; ws: WebSocket; tag: string; timer?: NodeJS.Timeout } = { invite: msg, ws, tag };
    this.ringing.set(callId, entry);
    if (behaviour.kind === 'no-answer') return;
    entry.timer = setTimeout(() => {
      if (!this.ringing.delete(callId)) return;
      if (behaviour.kind === 'busy') return this.sendSip(ws, inviteResponse(msg, 486, 'Busy Here', tag));
      if (behaviour.kind === 'decline') return this.sendSip(ws, inviteResponse(msg, 603, 'Decline', tag));
      if (behaviour.kind === 'human' || behaviour.kind === 'machine') void this.answerOutbound(ws, msg, behaviour, { tag, sessionId, partyId, ids });
    }, behaviour.ringMs ?? 50);
  }

  private async answerOutbound(
    ws: WebSocket,
    msg: SipMsg,
    behaviour: Extract<CalleeBehaviour, { kind: 'human' | 'machine' }>,
    d: { tag: string; sessionId: string; partyId: string; ids: [string, string] },
  ): Promise<void> {
    const media = new FakeCalleeMedia(behaviour);
    const sdp = await media.answerSdp(msg.body);
    const toWithTag = `${header(msg, 'To') ?? ''};tag=${d.tag}`;
    const call = new FakeCall(this, {
      callId: header(msg, 'Call-Id') ?? '', sessionId: d.sessionId, partyId: d.partyId, audio: media.audio,
      cseq: Number((header(msg, 'CSeq') ?? '').split(/\s+/)[0]), from: toWithTag, uri: `sip:${this.sipInfo.username}@${this.sipInfo.domain}`,
    });
    call.toHeader = header(msg, 'From') ?? '';
    call.callee = media;
    call.keepReceived = false;
    this.calls.push(call);
    this.outboundCalls.push(call);
    void call.ended.then(() => media.stop());
    this.sendSip(ws, inviteResponse(msg, 200, 'OK', d.tag, [
      ['Contact', `<sip:callee@${this.sipHostPort};transport=wss>`], d.ids, ['Content-Type', 'application/sdp'],
    ], sdp));
    waitConnected(media.audio).then(() => {
      if (call.endReason) return;
      media.start();
      call.markAnswered();
      this.check();
    }, () => undefined);
    this.check();
  }

  private onCancel(ws: WebSocket, msg: SipMsg): void {
    const callId = header(msg, 'Call-Id') ?? '';
    const r = this.ringing.get(callId);
    this.sendSip(ws, responseTo(msg, 200, 'OK'));
    if (!r) return;
    clearTimeout(r.timer);
    this.ringing.delete(callId);
    this.sendSip(ws, inviteResponse(r.invite, 487, 'Request Terminated', r.tag));
    this.check();
  }

  /** Bot-audio frames the callee heard after `fromMs` (ms since its media came up). */
  calleeHeardAfter(call: FakeCall, fromMs: number): AudioFrame[] {
    return (call.callee?.heard ?? []).filter((h) => h.atMs >= fromMs).map((h) => h.frame);
  }

  /** Ring the registered WebPhone with an INVITE whose SDP comes from a real werift caller. */
  async placeCall(opts: PlaceCallOptions = {}): Promise<FakeCall> {
    await this.waitFor(() => this.registeredSocket() !== undefined);
    const audio = new RtpAudio(createPeer({ loopback: true, codecs: opts.codecs ?? ['opus', 'pcmu'] }));
    await audio.pc.setLocalDescription(await audio.pc.createOffer());
    await gatheringComplete(audio.pc);
    let sdp = audio.pc.localDescription!.sdp;
    if (opts.rcPayloadTypes) {
      sdp = sdp
        .replace(/^(m=audio \S+ \S+ .*?)\b111\b/m, '$1109')
        .replace(/a=rtpmap:111 /g, 'a=rtpmap:109 ')
        .replace(/a=fmtp:111 /g, 'a=fmtp:109 ')
        .replace(/a=rtcp-fb:111 /g, 'a=rtcp-fb:109 ');
    }
    const idBase = token(6).replace(/[^0-9a-f]/g, '') + 'z';
    const sessionId = `s-${idBase}${token(3)}`;
    const partyId = `p-${idBase}${token(3)}-2`;
    const fromNum = opts.from ?? '+16505550199';
    const from = `"Caller" <sip:${fromNum}@${this.sipInfo.domain}>;tag=${token(5)}`;
    const uri = `sip:${this.sipInfo.username}@${this.sipInfo.domain}`;
    const cseq = ++this.cseq;
    const call = new FakeCall(this, { callId: `fake-${token(8)}`, sessionId, partyId, audio, cseq, from, uri });
    call.inviteVia = `SIP/2.0/WSS ${this.sipHostPort};branch=z9hG4bK${token(6)}`;
    this.calls.push(call);
    const extra = Object.entries(opts.autoAnswerHeaders ?? {}) as [string, string][];
    this.sendSip(undefined, serializeSip(`INVITE ${uri} SIP/2.0`, [
      ['Via', call.inviteVia],
      ['From', from],
      ['To', `<sip:${opts.to ?? this.sipInfo.username}@${this.sipInfo.domain}>`],
      ['Call-Id', call.callId],
      ['CSeq', `${cseq} INVITE`],
      ['Contact', `<sip:${fromNum}@${this.sipHostPort};transport=wss>`],
      ['Max-Forwards', '70'],
      ['p-rc-api-ids', `party-id=${partyId};session-id=${sessionId}`],
      ['Content-Type', 'application/sdp'],
      ...extra,
    ], sdp));
    return call;
  }

  /** Any text or bytes to the registered WebPhone, as a broken or hostile proxy would send them (fuzz tests). */
  sendRawSip(data: string | Buffer, opts: { binary?: boolean } = {}): void {
    const ws = this.registeredSocket();
    if (typeof data === 'string' && !opts.binary) this.sendSip(ws, data);
    else ws?.send(data, { binary: opts.binary ?? true });
  }

  /** The Call-Id, tags and URIs of a placed call, for building in-dialog messages. */
  dialogOf(call: FakeCall): { uri: string; from: string; to: string; via: string; hostPort: string; domain: string; user: string } {
    return { uri: call.requestUri, from: call.fromHeader, to: call.toHeader || `<sip:${this.sipInfo.username}@${this.sipInfo.domain}>`, via: call.inviteVia, hostPort: this.sipHostPort, domain: this.sipInfo.domain, user: this.sipInfo.username };
  }

  /** Kill every SIP WebSocket, as a network drop or a proxy restart would. */
  dropSipConnection(): void {
    for (const s of this.sockets) s.terminate();
  }

  get openSipConnections(): number {
    return this.sockets.size;
  }

  /** Resolve when `pred` holds; re-checked on every request, SIP message and close. */
  waitFor(pred: () => boolean): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      if (w.pred()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  async close(): Promise<void> {
    for (const r of this.ringing.values()) clearTimeout(r.timer);
    this.ringing.clear();
    for (const c of this.calls) c.end(c.endReason ?? 'dropped');
    for (const s of this.sockets) s.terminate();
    for (const s of this.sipServers) s.wss.close();
    await Promise.all([closeServer(this.rest), ...this.sipServers.map((s) => closeServer(s.https))]);
  }
}

export async function startFakeRingCentral(opts: FakeRingCentralOptions = {}): Promise<FakeRingCentral> {
  const fake = new FakeRingCentral(opts);
  await fake.start();
  return fake;
}

function listen(server: Server | HttpsServer): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

function closeServer(server: Server | HttpsServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function waitConnected(a: RtpAudio): Promise<void> {
  if (a.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const sub = a.pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected') {
        sub.unSubscribe();
        resolve();
      } else if (s === 'failed' || s === 'closed') {
        sub.unSubscribe();
        reject(new Error(`caller media ${s}`));
      }
    });
  });
}

function postJson(address: string, body: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(address, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
