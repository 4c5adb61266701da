import { createHash, randomBytes } from 'node:crypto';
import { SDK } from '@ringcentral/sdk';
import WebPhone from 'ringcentral-web-phone';
import type CallSession from 'ringcentral-web-phone/call-session/index';
import type InboundCallSession from 'ringcentral-web-phone/call-session/inbound';
import type OutboundCallSession from 'ringcentral-web-phone/call-session/outbound';
import type InboundMessage from 'ringcentral-web-phone/sip-message/inbound';
import ResponseMessage from 'ringcentral-web-phone/sip-message/outbound/response';
import type { SipInfo, WebRtcSession, WebRtcSessionFactory } from 'ringcentral-web-phone/types';
import { VoicebotError } from '../../core/plugin-api.js';
import { silentLogger, type Logger } from '../../core/plugin-api.js';
import type { PluginContext } from '../../core/plugin-api.js';
import {
  TelephonyPlugin,
  type CallInfo,
  type CallLeg,
  type DialOptions,
  type IncomingCall,
  type TelephonyCapabilities,
} from '../../core/plugin-api.js';
import { LegState } from '../../core/plugin-api.js';
import { RcCallLeg, type LegControl } from './call-leg.js';
import { createPeer, gatheringComplete, RtpAudio } from './rtp-media.js';
import { dialableNumber, dialFailure, parseApiIds } from './outbound.js';
import { NodeSipClient } from './sip-client.js';
import { WebhookServer } from './webhook.js';

/** One extension of a multi-line plugin: its own JWT (and optionally app, server, contact, caller id). */
export interface RingCentralLineOptions {
  /** Shown in logs and `meta.line` of its calls; default line1, line2, … */
  name?: string;
  jwt: string;
  clientId?: string;
  clientSecret?: string;
  server?: string;
  instanceId?: string;
  callerId?: string;
}

export interface RingCentralOptions {
  /** REST base URL, e.g. https://platform.ringcentral.com. */
  server: string;
  clientId: string;
  clientSecret: string;
  /** JWT credential; in voicebot.yaml write `jwt: ${RC_JWT}` so it comes from the environment. Or give `lines`. */
  jwt: string;
  /** Several extensions in one process (instead of `jwt`); the other options are shared defaults. */
  lines?: RingCentralLineOptions[];
  /**
   * true: every inbound call is offered to the call flows, which answer it.
   * false: only INVITEs RingCentral marks `Alert-Info: Auto Answer` are offered;
   * other calls keep ringing the user's other devices.
   */
  autoAnswer?: boolean;
  /** A call no route takes: decline it over SIP (reject) or let it ring elsewhere (ignore). */
  unroutedCalls?: 'reject' | 'ignore';
  /** Telephony session events by webhook, to end calls whose SIP BYE got lost. */
  events?: 'webhook' | 'none';
  webhook?: { host?: string; port?: number; path?: string; verificationToken?: string; publicUrl?: string; maxBodyBytes?: number };
  /** SIP instance id; stable across restarts so RingCentral reuses one contact (avoids 603 Too Many Contacts). */
  instanceId?: string;
  /** Verify the SIP proxy's TLS certificate. Only tests against a local fake turn this off. */
  tlsRejectUnauthorized?: boolean;
  /** Add 127.0.0.1 ICE candidates (both ends on one host: tests, local fakes). */
  loopbackIce?: boolean;
  reconnect?: { minMs?: number; maxMs?: number; switchAfter?: number };
  /** How long answer() waits for media (ICE + DTLS) before returning the leg anyway, ms. */
  mediaTimeoutMs?: number;
  /** Caller id of calls the bot places (a number of this account); a call's own callerId wins. */
  callerId?: string;
  /** ms an outbound call rings before it counts as not answered (default 30000). */
  ringTimeoutMs?: number;
}

export const ringcentralOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['server', 'clientId', 'clientSecret'],
  description: 'give exactly one of jwt (one line) or lines (several extensions, each with its own jwt)',
  oneOf: [
    { properties: { jwt: { type: 'string' } }, required: ['jwt'] },
    { properties: { lines: { type: 'array' } }, required: ['lines'] },
  ],
  properties: {
    lines: {
      type: 'array',
      minItems: 1,
      description: 'several extensions, each its own login and WebPhone registration (instead of jwt)',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['jwt'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,40}$' },
          jwt: { type: 'string', minLength: 1 },
          clientId: { type: 'string', minLength: 1 },
          clientSecret: { type: 'string', minLength: 1 },
          server: { type: 'string', minLength: 1 },
          instanceId: { type: 'string', minLength: 1 },
          callerId: { type: 'string', pattern: '^\\+?[0-9]{2,15}$' },
        },
      },
    },
    server: { type: 'string', minLength: 1, default: 'https://platform.ringcentral.com' },
    clientId: { type: 'string', minLength: 1 },
    clientSecret: { type: 'string', minLength: 1 },
    jwt: { type: 'string', minLength: 1, description: 'JWT credential; use ${RC_JWT} to read it from the environment.' },
    autoAnswer: { type: 'boolean', default: true },
    unroutedCalls: { enum: ['reject', 'ignore'], default: 'reject' },
    events: { enum: ['webhook', 'none'], default: 'none' },
    webhook: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1, description: 'Interface to bind; default 0.0.0.0 with publicUrl, else 127.0.0.1.' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        path: { type: 'string', pattern: '^/' },
        verificationToken: { type: 'string', minLength: 8, maxLength: 64 },
        publicUrl: { type: 'string' },
        maxBodyBytes: { type: 'integer', minimum: 1024 },
      },
    },
    instanceId: { type: 'string', minLength: 1 },
    tlsRejectUnauthorized: { type: 'boolean', default: true },
    loopbackIce: { type: 'boolean', default: false },
    mediaTimeoutMs: { type: 'integer', minimum: 0, default: 5000 },
    callerId: { type: 'string', pattern: '^\\+?[0-9]{2,15}$', description: 'caller id of outbound calls (a number of this account)' },
    ringTimeoutMs: { type: 'integer', minimum: 1000, default: 30000 },
    reconnect: {
      type: 'object',
      additionalProperties: false,
      properties: {
        minMs: { type: 'integer', minimum: 1 },
        maxMs: { type: 'integer', minimum: 1 },
        switchAfter: { type: 'integer', minimum: 1 },
      },
    },
  },
} as const;

/** A stable UUID-shaped instance id from clientId + the JWT's subject (the user), so restarts reuse one SIP contact. */
export function defaultInstanceId(clientId: string, jwt: string): string {
  let subject = jwt;
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    if (typeof payload.sub === 'string' || typeof payload.sub === 'number') subject = String(payload.sub);
  } catch {
    /* not a decodable JWT: hash the whole credential */
  }
  const h = createHash('sha256').update(`${clientId}:${subject}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The WebPhone's media hook, backed by werift: real RTP without browser APIs. */
class WeriftSession implements WebRtcSession {
  readonly audio: RtpAudio;

  constructor(opts: { loopback: boolean; stunServers: string[] }) {
    this.audio = new RtpAudio(createPeer({ loopback: opts.loopback, stunServers: opts.stunServers }));
  }

  async createOffer(): Promise<string> {
    const pc = this.audio.pc;
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    return pc.localDescription!.sdp;
  }

  async createAnswer(offer: string): Promise<string> {
    const pc = this.audio.pc;
    // A re-INVITE (hold, ICE restart) on a live call: keep the current answer if werift refuses the offer.
    const previous = pc.localDescription?.sdp;
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      await pc.setLocalDescription(await pc.createAnswer());
      await gatheringComplete(pc);
    } catch (e) {
      if (previous) return previous;
      throw e;
    }
    return pc.localDescription!.sdp;
  }

  async applyAnswer(answer: string): Promise<void> {
    await this.audio.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  async changeInputDevice(): Promise<void> {}
  async changeOutputDevice(): Promise<void> {}

  setMuted(muted: boolean): void {
    this.audio.muted = muted;
  }

  sendDtmf(tones: string, duration?: number, gap?: number): void {
    void this.audio.sendDtmf(tones, duration, gap);
  }

  dispose(): void {
    void this.audio.close();
  }
}

let callSeq = 0;
/** Each plugin's SDK keeps its tokens under its own prefix: the SDK's default store is one per process. */
let sdkSeq = 0;

export class RingCentralTelephony extends TelephonyPlugin {
  readonly capabilities: TelephonyCapabilities = { transfer: true, sendDtmf: true, receiveDtmf: true, placeCalls: false, outbound: true, bridge: true };
  private readonly opts: RingCentralOptions;
  private readonly log: Logger;
  private sdk: SDK | undefined;
  private webPhone: WebPhone | undefined;
  private sipClient: NodeSipClient | undefined;
  private webhook: WebhookServer | undefined;
  private subscriptionId: string | undefined;
  private readonly sessions = new Map<string, WeriftSession>();
  /** Live legs by telephony session id, for webhook events. */
  private readonly legsBySession = new Map<string, RcCallLeg>();
  private readonly legs = new Set<RcCallLeg>();
  private stopped = false;
  /** The line's own number: caller id of outbound calls unless configured. */
  private lineNumber = '';
  /** Outbound calls still ringing: stop() gives up on them. */
  private readonly dialing = new Set<() => void>();

  constructor(opts: RingCentralOptions, ctx: Partial<PluginContext> = {}, provider = 'ringcentral') {
    super(provider);
    this.opts = opts;
    this.log = ctx.logger ?? silentLogger();
  }

  /** For tests and status: the SIP client's current proxy and the webhook URL. */
  get status(): { proxy?: string; webhookUrl?: string } {
    return { proxy: this.sipClient?.proxy, webhookUrl: this.webhook?.url };
  }

  protected override async _start(): Promise<void> {
    const o = this.opts;
    this.sdk = new SDK({ server: o.server, clientId: o.clientId, clientSecret: o.clientSecret, cachePrefix: `voicebot-rc-${process.pid}-${++sdkSeq}-` });
    const platform = this.sdk.platform();
    try {
      await platform.login({ jwt: o.jwt });
    } catch (e) {
      // Rejected credentials never get better by retrying; an unreachable server might.
      const rejected = (e as { response?: unknown }).response != null;
      throw new VoicebotError('VB_ERR_RC_AUTH', { detail: await describeRcError(e) }, { cause: e, retryable: !rejected });
    }
    let sipInfo: SipInfo;
    try {
      const r = await platform.post('/restapi/v1.0/client-info/sip-provision', { sipInfo: [{ transport: 'WSS' }] });
      const body = (await r.json()) as { sipInfo?: SipInfo[] };
      if (!body.sipInfo?.[0]) throw new Error('response has no sipInfo');
      sipInfo = body.sipInfo[0];
      this.lineNumber = sipInfo.username ?? '';
    } catch (e) {
      throw new VoicebotError('VB_ERR_RC_PROVISION', { detail: await describeRcError(e) }, { cause: e });
    }

    const instanceId = o.instanceId ?? defaultInstanceId(o.clientId, o.jwt);
    const sipClient = new NodeSipClient({
      sipInfo,
      instanceId,
      rejectUnauthorized: o.tlsRejectUnauthorized ?? true,
      reconnect: o.reconnect,
      onState: (state, detail) => {
        this.log.info({ state, detail }, 'ringcentral sip');
        this.callHandler?.onStateChange?.(state, detail);
      },
      onBadMessage: (detail) => {
        const w = new VoicebotError('VB_WARN_RC_SIP_DROPPED', { proxy: sipClient.proxy, detail });
        this.log.warn({ code: w.code }, w.message);
      },
    });
    this.sipClient = sipClient;
    const factory: WebRtcSessionFactory = ({ callId, stunServers }) => {
      const s = new WeriftSession({ loopback: o.loopbackIce ?? false, stunServers: o.loopbackIce ? [] : stunServers });
      this.sessions.set(callId, s);
      return s;
    };
    // autoAnswer:false on the WebPhone: the core answers, through IncomingCall.answer(), exactly once.
    this.webPhone = new WebPhone({ sipInfo, instanceId, sipClient, autoAnswer: false, webRtcSessionFactory: factory });
    this.webPhone.on('inboundCall', (session: InboundCallSession) => {
      // The WebPhone calls this from an async handler nobody awaits: never let it throw.
      try {
        this.onInbound(session);
      } catch (e) {
        this.log.error({ err: e }, 'ringcentral inbound call handling failed');
      }
    });
    try {
      await this.webPhone.start();
    } catch (e) {
      await sipClient.dispose().catch(() => undefined);
      throw new VoicebotError('VB_ERR_RC_SIP', { proxy: sipInfo.outboundProxy, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
    }

    if (o.events === 'webhook') {
      try {
        await this.startWebhook();
      } catch (e) {
        // Do not leave a registered phone behind a start() that failed.
        await this._stop().catch(() => undefined);
        throw e;
      }
    }
  }

  private async startWebhook(): Promise<void> {
    const w = this.opts.webhook ?? {};
    // Each start makes a fresh subscription, so a random token per process is enough.
    const token = w.verificationToken ?? randomBytes(16).toString('hex');
    this.webhook = new WebhookServer({
      // Without publicUrl nothing outside this host could post to us, so do not listen outside it.
      host: w.host ?? (w.publicUrl ? '0.0.0.0' : '127.0.0.1'),
      port: w.port ?? 0,
      path: w.path ?? '/ringcentral/webhook',
      verificationToken: token,
      maxBodyBytes: w.maxBodyBytes ?? 64 * 1024,
      onEvent: (ev) => this.onTelephonyEvent(ev),
    });
    try {
      await this.webhook.listen();
      const address = w.publicUrl ?? this.webhook.url;
      const r = await this.sdk!.platform().post('/restapi/v1.0/subscription', {
        eventFilters: ['/restapi/v1.0/account/~/extension/~/telephony/sessions'],
        deliveryMode: { transportType: 'WebHook', address, verificationToken: token },
        expiresIn: 604800,
      });
      const sub = (await r.json()) as { id?: string; expiresIn?: number };
      this.subscriptionId = sub.id;
      this.scheduleRenewal(sub.expiresIn ?? 604800);
    } catch (e) {
      throw new VoicebotError('VB_ERR_RC_WEBHOOK', { detail: await describeRcError(e) }, { cause: e });
    }
  }

  private renewTimer: NodeJS.Timeout | undefined;

  /** Webhook subscriptions expire; renew an hour early (or at half-life for short ones). */
  private scheduleRenewal(expiresInS: number): void {
    clearTimeout(this.renewTimer);
    const ms = Math.max(1000, expiresInS > 7200 ? (expiresInS - 3600) * 1000 : (expiresInS * 1000) / 2);
    this.renewTimer = setTimeout(() => {
      if (!this.subscriptionId || this.stopped) return;
      this.sdk!.platform()
        .post(`/restapi/v1.0/subscription/${this.subscriptionId}/renew`)
        .then(async (r) => this.scheduleRenewal(((await r.json()) as { expiresIn?: number }).expiresIn ?? expiresInS))
        .catch(async (e) => this.log.warn({ detail: await describeRcError(e) }, 'ringcentral webhook renewal failed'));
    }, Math.min(ms, 2 ** 31 - 1));
    this.renewTimer.unref();
  }

  private onTelephonyEvent(ev: { telephonySessionId?: string; parties?: { id?: string; status?: { code?: string } }[] }): void {
    if (!ev.telephonySessionId) return;
    const leg = this.legsBySession.get(ev.telephonySessionId);
    if (!leg) return;
    // Judge by our own party when the event lists it: other parties come and go (transfers, conferences).
    const ours = ev.parties?.filter((p) => p.id === leg.info.meta.partyId);
    const relevant = ours?.length ? ours : ev.parties;
    if (relevant?.some((p) => p.status?.code === 'Disconnected')) {
      // The SIP BYE never reached us (socket drop mid-call): the event is the only news.
      this.log.info({ callId: leg.info.id }, 'ringcentral call disconnected by event');
      leg.finish('caller-hangup');
    }
  }

  private onInbound(session: InboundCallSession): void {
    const sip = session.sipMessage;
    const alertAutoAnswer = sip.getHeader('Alert-Info') === 'Auto Answer';
    const meta: Record<string, string> = { sipCallId: session.callId };
    const ids = sip.getHeader('p-rc-api-ids') ?? '';
    const sid = /session-id=([^;\s]+)/.exec(ids)?.[1];
    const pid = /party-id=([^;\s]+)/.exec(ids)?.[1];
    if (sid) meta.telephonySessionId = sid;
    if (pid) meta.partyId = pid;
    const info: CallInfo = {
      id: `rc-${++callSeq}-${session.callId.slice(0, 12)}`,
      from: safeNumber(session.remotePeer),
      to: safeNumber(session.localPeer),
      meta,
    };
    const leg = new RcCallLeg(info);
    this.legs.add(leg);
    if (sid) this.legsBySession.set(sid, leg);
    session.on('disposed', () => this.onSessionGone(session, leg));

    // The WebPhone sends 100/180 after this event; answering before them would put a 180 after our 200.
    const ringing = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(fallback);
        this.sipClient?.off('outboundMessage', seen);
        resolve();
      };
      const seen = (m: { subject: string; headers: Record<string, string> }) => {
        if (m.headers['Call-Id'] === session.callId && /^SIP\/2\.0 180 /.test(m.subject)) done();
      };
      // A 180 lost on a dead socket must not block answer() for ever.
      const fallback = setTimeout(done, 1000);
      this.sipClient!.on('outboundMessage', seen);
      leg.whenEnded().then(done, done);
    });

    const handler = this.callHandler;
    if (!handler || (!this.opts.autoAnswer && this.opts.autoAnswer !== undefined && !alertAutoAnswer)) {
      if (!handler) void ringing.then(() => this.decline(session, leg, 'unavailable')).catch(() => undefined);
      return;
    }
    const incoming: IncomingCall = {
      info,
      answer: () => this.answer(session, leg, ringing),
      reject: async (reason) => {
        if (leg.wasAnswered) throw new VoicebotError('VB_ERR_CALL_STATE', { callId: info.id, action: 'reject', state: leg.state });
        await ringing;
        await this.decline(session, leg, reason ?? 'decline');
      },
    };
    handler.onIncomingCall(incoming);
  }

  private async answer(session: InboundCallSession, leg: RcCallLeg, ringing: Promise<void>): Promise<CallLeg> {
    leg.beginAnswer();
    await ringing;
    if (leg.state !== LegState.Answering) {
      throw new VoicebotError('VB_ERR_CALL_STATE', { callId: leg.info.id, action: 'answer', state: leg.state });
    }
    try {
      // The one and only answer: SIP 200 OK with our SDP. Never REST .../answer as well (it races and 404s).
      await session.answer();
    } catch (e) {
      leg.finish('error', false);
      throw new VoicebotError('VB_ERR_CALL_STATE', { callId: leg.info.id, action: `answer (${e instanceof Error ? e.message : e})`, state: leg.state }, { cause: e });
    }
    const media = this.sessions.get(session.callId);
    if (!media || leg.state !== LegState.Answering) {
      throw new VoicebotError('VB_ERR_CALL_STATE', { callId: leg.info.id, action: 'answer', state: leg.state });
    }
    leg.activate(media.audio, this.controlFor(session, leg));
    // Return once media flows: the engine speaks right away, and frames written
    // before ICE/DTLS complete would be lost (a clipped greeting).
    const connected = await waitConnected(media.audio, this.opts.mediaTimeoutMs ?? 5000);
    if (!connected) this.log.warn({ callId: leg.info.id }, 'ringcentral media not connected yet; early audio may be lost');
    this.log.info({ callId: leg.info.id, codec: media.audio.codec, ...leg.info.meta }, 'ringcentral call answered');
    return leg;
  }

  /**
   * The WebPhone places the call (INVITE, digest retry, ringing, final answer);
   * the answered call becomes the same RcCallLeg as an inbound one, with the
   * REST ids from p-rc-api-ids on the platform's answer.
   */
  protected override async _dial(opts: DialOptions): Promise<CallLeg> {
    const wp = this.webPhone;
    const sip = this.sipClient;
    if (!wp || !sip || this.stopped) throw new VoicebotError('VB_ERR_OUTBOUND_FAILED', { to: opts.to, detail: 'the RingCentral line is not started' });
    const to = dialableNumber(opts.to);
    if (!to) throw new VoicebotError('VB_ERR_OUTBOUND_NUMBER', { to: opts.to });
    const wantedId = opts.callerId ?? this.opts.callerId;
    const callerId = wantedId === undefined ? undefined : dialableNumber(wantedId);
    if (wantedId !== undefined && !callerId) throw new VoicebotError('VB_ERR_OUTBOUND_NUMBER', { to: wantedId });
    if (opts.signal?.aborted) throw new VoicebotError('VB_ERR_CANCELLED', { what: `call to ${to}` });
    const ringTimeoutMs = opts.ringTimeoutMs ?? this.opts.ringTimeoutMs ?? 30_000;

    let session: OutboundCallSession | undefined;
    const grab = (s: OutboundCallSession) => (session = s);
    // call() emits outboundCall synchronously, before its first await: this is our session.
    wp.once('outboundCall', grab);
    const placing = wp.call(to, callerId);
    wp.off('outboundCall', grab);
    const s = session!;
    const info: CallInfo = { id: `rc-out-${++callSeq}-${s.callId.slice(0, 12)}`, from: callerId ?? this.lineNumber, to, meta: { sipCallId: s.callId, ...opts.meta }, direction: 'outbound' };

    let finalLine = '';
    const ids: Record<string, string> = {};
    const watch = (m: InboundMessage) => {
      if (m.getHeader('Call-Id') !== s.callId || !m.subject.startsWith('SIP/2.0 ') || !/ INVITE$/.test(m.getHeader('CSeq') ?? '')) return;
      Object.assign(ids, parseApiIds(m.getHeader('p-rc-api-ids')));
      if (!/^SIP\/2\.0 1\d\d /.test(m.subject)) finalLine = m.subject;
    };
    sip.on('inboundMessage', watch);
    let why: 'timeout' | 'abort' | 'stop' | undefined;
    let giveUp!: () => void;
    const gaveUp = new Promise<void>((r) => (giveUp = r));
    // CANCEL needs the INVITE's dialog, which exists once the far end rings.
    const cancel = (reason: 'timeout' | 'abort' | 'stop') => {
      why ??= reason;
      if (reason === 'stop') return giveUp();
      if (s.state === 'ringing') void s.cancel().catch(() => undefined);
      else if (s.state === 'init') s.once('ringing', () => void s.cancel().catch(() => undefined));
      // A proxy that never answers the CANCEL must not keep the dial pending.
      setTimeout(giveUp, 3000).unref();
    };
    const timer = setTimeout(() => cancel('timeout'), ringTimeoutMs);
    const onAbort = () => cancel('abort');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const stopGiveUp = () => cancel('stop');
    this.dialing.add(stopGiveUp);
    opts.onRinging?.(info);
    let thrown: unknown;
    try {
      await Promise.race([placing, gaveUp]);
    } catch (e) {
      thrown = e;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      this.dialing.delete(stopGiveUp);
      sip.off('inboundMessage', watch);
    }

    if (s.state !== 'answered' || why) {
      if (s.state === 'answered') await s.hangup().catch(() => undefined);
      this.disposeSession(s);
      if (why === 'abort' || why === 'stop') throw new VoicebotError('VB_ERR_CANCELLED', { what: `call to ${to}` });
      if (!finalLine && !why) {
        const local = sip.takeFailure(s.callId);
        const detail = local ?? (thrown instanceof Error ? thrown.message : s.state === 'init' ? 'the proxy refused the INVITE' : 'no final answer');
        throw new VoicebotError('VB_ERR_OUTBOUND_FAILED', { to, detail }, { cause: thrown });
      }
      throw dialFailure(to, finalLine, ringTimeoutMs, why === 'timeout');
    }

    Object.assign(info.meta, ids);
    const leg = new RcCallLeg(info);
    this.legs.add(leg);
    if (ids.telephonySessionId) this.legsBySession.set(ids.telephonySessionId, leg);
    s.on('disposed', () => this.onSessionGone(s, leg));
    const media = this.sessions.get(s.callId);
    leg.beginAnswer('dial');
    if (!media) {
      leg.finish('error', false);
      throw new VoicebotError('VB_ERR_OUTBOUND_FAILED', { to, detail: 'no media session for the answered call' });
    }
    leg.activate(media.audio, this.controlFor(s, leg));
    const connected = await waitConnected(media.audio, this.opts.mediaTimeoutMs ?? 5000);
    if (!connected) this.log.warn({ callId: info.id }, 'ringcentral media not connected yet; early audio may be lost');
    this.log.info({ callId: info.id, to, codec: media.audio.codec, ...info.meta }, 'ringcentral outbound call answered');
    return leg;
  }

  /** SIP and REST control of one answered call, the same for both directions. */
  private controlFor(session: CallSession, leg: RcCallLeg): LegControl {
    const meta = leg.info.meta;
    return {
      bye: async () => {
        await session.hangup();
        const failed = this.sipClient?.takeFailure(session.callId);
        if (failed) throw new Error(`BYE not confirmed: ${failed}`);
      },
      dropSession: async () => {
        if (!meta.telephonySessionId) throw new Error('no telephony session id');
        await this.sdk!.platform().delete(`/restapi/v1.0/account/~/telephony/sessions/${meta.telephonySessionId}`);
      },
      transfer: async (to) => {
        const sid = meta.telephonySessionId;
        const pid = meta.partyId;
        if (!sid || !pid) throw new Error('the SIP dialog carried no p-rc-api-ids; call control is unavailable');
        const body = /^\d{1,6}$/.test(to) ? { extensionNumber: to } : { phoneNumber: to };
        try {
          await this.sdk!.platform().post(`/restapi/v1.0/account/~/telephony/sessions/${sid}/parties/${pid}/transfer`, body);
        } catch (e) {
          throw new Error(await describeRcError(e));
        }
      },
      bridge: async (other) => {
        const sid = meta.telephonySessionId;
        const pid = meta.partyId;
        if (!sid || !pid) throw new Error('the SIP dialog carried no p-rc-api-ids; call control is unavailable');
        try {
          await this.sdk!.platform().post(`/restapi/v1.0/account/~/telephony/sessions/${sid}/parties/${pid}/bridge`, other);
        } catch (e) {
          throw new Error(await describeRcError(e));
        }
      },
      dispose: () => this.disposeSession(session),
    };
  }

  /**
   * Warm transfer: REST call control bridges the caller's party with the
   * agent call's party; RingCentral then drops the bot from both with BYEs.
   */
  protected override async _bridge(a: CallInfo, b: CallInfo): Promise<void> {
    const legA = [...this.legs].find((l) => l.info.id === a.id);
    const legB = [...this.legs].find((l) => l.info.id === b.id);
    if (!legA || !legB) throw new VoicebotError('VB_ERR_CALL_NOT_FOUND', { callId: legA ? b.id : a.id });
    const { telephonySessionId, partyId } = legB.info.meta;
    if (!telephonySessionId || !partyId) throw new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: a.id, to: b.to, detail: 'the agent call has no REST ids' });
    await legA.bridge({ telephonySessionId, partyId });
    // The agent's leg goes with it: its BYE ends it `transferred`, not as a hangup.
    legB.markTransferred();
  }

  private async decline(session: InboundCallSession, leg: RcCallLeg, reason: 'busy' | 'decline' | 'unavailable'): Promise<void> {
    if (leg.state !== LegState.Ringing) return;
    if (this.opts.unroutedCalls === 'ignore') {
      // Leave it ringing: another device, a queue or voicemail takes it.
      leg.finish('rejected', false);
      this.forget(session, leg);
      return;
    }
    const code = reason === 'busy' ? 486 : reason === 'unavailable' ? 480 : 603;
    try {
      await this.webPhone!.sipClient.reply(new ResponseMessage(session.sipMessage, { responseCode: code }));
    } finally {
      leg.finish('rejected', false);
      this.disposeSession(session);
    }
  }

  private onSessionGone(session: CallSession, leg: RcCallLeg): void {
    this.forget(session, leg);
    if (leg.state !== LegState.Ended && leg.state !== LegState.Ending) leg.finish('caller-hangup');
  }

  private disposeSession(session: CallSession): void {
    const wp = this.webPhone;
    if (wp) {
      const i = wp.callSessions.indexOf(session);
      if (i >= 0) wp.callSessions.splice(i, 1);
    }
    if (session.state !== 'disposed') session.dispose();
    else this.sessions.get(session.callId)?.dispose();
    this.sessions.delete(session.callId);
  }

  private forget(session: CallSession, leg: RcCallLeg): void {
    this.legs.delete(leg);
    const sid = leg.info.meta.telephonySessionId;
    if (sid && this.legsBySession.get(sid) === leg) this.legsBySession.delete(sid);
    if (!this.sessions.has(session.callId)) return;
    this.sessions.get(session.callId)?.dispose();
    this.sessions.delete(session.callId);
  }

  protected override async _stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const giveUp of [...this.dialing]) giveUp();
    for (const leg of [...this.legs]) {
      if (leg.state === LegState.Active) await leg.hangup('shutdown').catch(() => undefined);
      else if (leg.state !== LegState.Ended) leg.finish('shutdown', false);
    }
    this.legs.clear();
    clearTimeout(this.renewTimer);
    if (this.subscriptionId && this.sdk) {
      await this.sdk.platform().delete(`/restapi/v1.0/subscription/${this.subscriptionId}`).catch(() => undefined);
    }
    await this.webhook?.close();
    if (this.webPhone) {
      this.webPhone.callSessions.splice(0);
      this.webPhone.removeAllListeners();
      await this.sipClient?.dispose().catch(() => undefined);
    }
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
    if (this.sdk) {
      await this.sdk.platform().logout().catch(() => undefined);
    }
  }
}

/** Resolves true once the peer connection is up, false on failure, close or timeout. */
function waitConnected(audio: RtpAudio, timeoutMs: number): Promise<boolean> {
  if (audio.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), timeoutMs);
    const sub = audio.pc.connectionStateChange.subscribe((st) => {
      if (st === 'connected') finish(true);
      else if (st === 'failed' || st === 'closed') finish(false);
    });
    function finish(ok: boolean) {
      clearTimeout(timer);
      sub.unSubscribe();
      resolve(ok);
    }
  });
}

function safeNumber(peer: string | undefined): string {
  return peer?.match(/<sip:([^@>]+)@/)?.[1] ?? peer ?? '';
}

/** RingCentral REST errors carry the useful text in the JSON body; keep it to one line. */
async function describeRcError(e: unknown): Promise<string> {
  const resp = (e as { response?: { status?: number; clone?: () => { json(): Promise<unknown> } } }).response;
  if (resp?.clone) {
    try {
      const body = (await resp.clone().json()) as { error?: string; error_description?: string; message?: string };
      const what = body.error_description ?? body.message ?? body.error;
      if (what) return `HTTP ${resp.status}: ${body.error ? body.error + ', ' : ''}${what}`;
    } catch {
      /* fall through */
    }
  }
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}
