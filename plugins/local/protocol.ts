/**
 * The softphone wire protocol (one WebSocket per call, path /ws).
 * Binary messages are audio: PCM16 little-endian mono at the rate the client
 * named in `hello`, in any length (the server re-frames to 20 ms). Text
 * messages are JSON, one of the types below. plugins/local/README.md
 * documents it for people writing their own client.
 */
import { SAMPLE_RATES, isSupportedRate, type SampleRate } from '../../core/plugin-api.js';
import type { CallEvent } from '../../core/plugin-api.js';
import type { HangupReason } from '../../core/plugin-api.js';

export const PROTOCOL_VERSION = 1;
export const WS_PATH = '/ws';

/** Page/client → bot. */
export type ClientMessage =
  /** First message: the client's audio rate (8000, 16000, 24000 or 48000) and optional numbers. */
  | { type: 'hello'; version: number; sampleRate: number; from?: string; to?: string; standby?: boolean }
  /** After an `incoming` on a standby socket: pick up (the socket becomes the call's) ... */
  | { type: 'accept'; callId: string }
  /** ... or refuse it (the bot's dial() fails with VB_ERR_OUTBOUND_DECLINED). */
  | { type: 'decline'; callId: string }
  /** Caller pressed keys (0-9, *, #, A-D). */
  | { type: 'dtmf'; digits: string }
  /** Typed text "spoken" by the caller: the bot encodes it as mock speech and plays it into the caller audio. */
  | { type: 'say'; text: string }
  /** Caller hung up (closing the socket does the same). */
  | { type: 'hangup' }
  /** Acknowledges a `dtmf` the bot sent. */
  | { type: 'ack'; id: number };

/** Bot → page/client. */
export type ServerMessage =
  | { type: 'ringing'; callId: string; sampleRate: number; frameMs: number; from: string; to: string }
  | { type: 'answered'; callId: string }
  /** Answer to a standby hello: this page now takes the calls the bot places. */
  | { type: 'standby'; sampleRate: number }
  /** On a standby socket: the bot is calling this page; reply `accept` or `decline` with the callId. */
  | { type: 'incoming'; callId: string; from: string; to: string; sampleRate: number; frameMs: number }
  /** The bot stopped calling before the page answered (ring timeout, cancelled): back to standby. */
  | { type: 'missed'; callId: string; reason: string }
  | { type: 'rejected'; reason: string }
  /** Drop bot audio queued for playing (the caller barged in). */
  | { type: 'clear' }
  /** The bot sent DTMF; reply with `ack`. */
  | { type: 'dtmf'; digits: string; id: number }
  /** Simulated transfer: the call leaves the bot toward `to` (then `ended` with reason transferred). */
  | { type: 'transfer'; to: string }
  /** Typed text accepted: `ms` of caller audio will carry it. */
  | { type: 'saying'; text: string; ms: number }
  /** A call event for the live view (transcript, flow step, turn latency). */
  | { type: 'event'; event: CallEvent }
  | { type: 'ended'; reason: HangupReason }
  | { type: 'error'; code: string; message: string };

export const DTMF_DIGITS = /^[0-9*#A-D]+$/;

/** Limits on what one softphone socket may send (plugin options of the same names; README "Limits"). */
export interface ClientLimits {
  /** Longest `say.text`, in characters. */
  maxSayLength: number;
  /** Typed texts waiting to be played (the one playing included); more are refused. */
  maxQueuedSays: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = { maxSayLength: 500, maxQueuedSays: 8 };
/** Largest text message, in bytes (a hello or say is far smaller). */
export const MAX_TEXT_BYTES = 8 * 1024;
/** Largest message of any kind (binary audio chunks included); ws closes the socket with 1009 beyond it. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Most digits in one `dtmf` message. */
export const MAX_DTMF_DIGITS = 32;
/** `hello.from` / `hello.to` longer than this are cut. */
const MAX_NUMBER_CHARS = 64;

/** A checked client message, or why it is not one (every failure is a protocol error). */
export type ParsedClient = { ok: true; msg: ClientMessage } | { ok: false; detail: string };

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const optStr = (x: unknown): x is string | undefined => x === undefined || typeof x === 'string';
const fail = (detail: string): ParsedClient => ({ ok: false, detail });

/**
 * The one gate for text the page (or anyone who can reach the socket) sends:
 * returns a message whose every field has the type `ClientMessage` promises,
 * or a reason. Nothing else in the line reads raw client JSON.
 */
export function parseClientMessage(data: Buffer | string, limits: Pick<ClientLimits, 'maxSayLength'> = DEFAULT_CLIENT_LIMITS): ParsedClient {
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (bytes > MAX_TEXT_BYTES) return fail(`a text message has ${bytes} bytes; the limit is ${MAX_TEXT_BYTES}`);
  let v: unknown;
  try {
    v = JSON.parse(data.toString());
  } catch {
    return fail('a text message is not JSON');
  }
  if (!isObj(v) || typeof v.type !== 'string') return fail('a text message must be a JSON object with a string "type"');
  switch (v.type) {
    case 'hello': {
      if (v.version !== PROTOCOL_VERSION) return fail(`protocol version ${JSON.stringify(v.version)}; this voicebot speaks ${PROTOCOL_VERSION}`);
      if (typeof v.sampleRate !== 'number' || !isSupportedRate(v.sampleRate)) return fail(`sample rate ${JSON.stringify(v.sampleRate)} Hz; use one of ${SAMPLE_RATES.join(', ')}`);
      if (!optStr(v.from) || !optStr(v.to)) return fail('hello.from and hello.to must be strings when present');
      if (v.standby !== undefined && typeof v.standby !== 'boolean') return fail('hello.standby must be true or false when present');
      const msg: ClientMessage = { type: 'hello', version: PROTOCOL_VERSION, sampleRate: v.sampleRate as SampleRate };
      if (v.standby) msg.standby = true;
      if (v.from) msg.from = v.from.slice(0, MAX_NUMBER_CHARS);
      if (v.to) msg.to = v.to.slice(0, MAX_NUMBER_CHARS);
      return { ok: true, msg };
    }
    case 'dtmf':
      if (typeof v.digits !== 'string' || v.digits.length > MAX_DTMF_DIGITS || !DTMF_DIGITS.test(v.digits))
        return fail(`dtmf.digits must be 1–${MAX_DTMF_DIGITS} of 0-9 * # A-D, got ${JSON.stringify(v.digits)?.slice(0, 40)}`);
      return { ok: true, msg: { type: 'dtmf', digits: v.digits } };
    case 'say':
      if (typeof v.text !== 'string' || v.text.length > limits.maxSayLength) return fail(`say.text must be a string of at most ${limits.maxSayLength} characters`);
      return { ok: true, msg: { type: 'say', text: v.text } };
    case 'hangup':
      return { ok: true, msg: { type: 'hangup' } };
    case 'accept':
    case 'decline':
      if (typeof v.callId !== 'string' || !v.callId || v.callId.length > MAX_NUMBER_CHARS) return fail(`${v.type}.callId must be the id of the incoming call`);
      return { ok: true, msg: { type: v.type, callId: v.callId } };
    case 'ack':
      if (typeof v.id !== 'number' || !Number.isSafeInteger(v.id)) return fail('ack.id must be the integer id of the dtmf it acknowledges');
      return { ok: true, msg: { type: 'ack', id: v.id } };
    default:
      return fail(`unknown message type ${JSON.stringify(v.type.slice(0, 40))}`);
  }
}
