/**
 * Wire protocol of the WebSocket audio-stream, version 1. The prose version
 * (what each side must do) is plugins/websocket/README.md; this file is the
 * one place the message shapes are checked.
 */
import { FRAME_MS, isSupportedRate } from '../../core/plugin-api.js';
import type { HangupReason } from '../../core/plugin-api.js';
import type { CallEvent } from '../../core/plugin-api.js';
import type { FlowState } from '../../core/plugin-api.js';

export const PROTOCOL_VERSION = 1;
/** Bot audio between two `mark`s the worker sends (frames of FRAME_MS). */
export const MARK_EVERY_FRAMES = 10;

export type Codec = 'l16' | 'pcmu' | 'pcma';
export const CODECS: readonly Codec[] = ['l16', 'pcmu', 'pcma'];

export interface MediaFormat {
  codec: Codec;
  sampleRate: number;
}

/** WebSocket close codes (4000–4999 are application codes). */
export const CLOSE = {
  normal: 1000,
  protocol: 4400,
  resume: 4404,
  backpressure: 4408,
  /** No `start` within startTimeoutMs of connecting (4408 is taken by backpressure). */
  startTimeout: 4410,
  format: 4415,
  unavailable: 4503,
} as const;

export const HANGUP_REASONS: readonly HangupReason[] = ['caller-hangup', 'bot-hangup', 'transferred', 'max-duration', 'error', 'rejected', 'shutdown'];

export interface WireError {
  code: string;
  message: string;
}

// ── edge → worker ─────────────────────────────────────────────────────────
export interface StartMsg {
  type: 'start';
  version: number;
  callId: string;
  from: string;
  to: string;
  /** Flow the edge routed the call to (a hint; the worker routes by `to` when it has no such flow). */
  flow?: string;
  meta?: Record<string, string>;
  /** Formats the edge can send and receive, best first. */
  offer: MediaFormat[];
  /** `session` from an earlier `started`: re-attach a dropped stream to its call. */
  resume?: string;
  /** Fleet re-dispatch: the flow state of a call whose worker was lost (from its last `state`). */
  carry?: FlowState;
}
export interface CallerDtmfMsg {
  type: 'dtmf';
  digit: string;
}
export interface ResultMsg {
  type: 'result';
  id: number;
  ok: boolean;
  error?: WireError;
}

// ── worker → edge ─────────────────────────────────────────────────────────
export interface StartedMsg {
  type: 'started';
  version: number;
  callId: string;
  session: string;
  /** The accepted format: both directions use it. */
  format: MediaFormat;
  frameMs: number;
  resumed: boolean;
}
export interface ClearMsg {
  type: 'clear';
}
export interface SendDtmfMsg {
  type: 'dtmf';
  id: number;
  digits: string;
}
export interface TransferMsg {
  type: 'transfer';
  id: number;
  to: string;
  timeoutMs?: number;
}
/** A call event of the worker's engine, for the edge's logs and softphone (split mode). */
export interface EventMsg {
  type: 'event';
  event: CallEvent;
}
/** The flow state at the start of each step: what another worker needs to continue the call. */
export interface StateMsg {
  type: 'state';
  state: FlowState;
}
export interface HangupMsg {
  type: 'hangup';
  reason: HangupReason;
}

// ── both ways ─────────────────────────────────────────────────────────────
export interface MarkMsg {
  type: 'mark';
  name: string;
  /** Worker: bot audio sent before this mark, in ms. Echoed back unchanged. */
  ms?: number;
}
export interface StopMsg {
  type: 'stop';
  reason: HangupReason;
}
export interface ErrorMsg {
  type: 'error';
  code: string;
  message: string;
}

export type EdgeToWorker = StartMsg | CallerDtmfMsg | MarkMsg | ResultMsg | StopMsg | ErrorMsg;
export type WorkerToEdge = StartedMsg | MarkMsg | ClearMsg | SendDtmfMsg | TransferMsg | HangupMsg | StopMsg | ErrorMsg | EventMsg | StateMsg;

/** A parse outcome: a message, an unknown type (ignorable), or garbage (fatal). */
export type Parsed<T> = { ok: true; msg: T } | { ok: false; fatal: boolean; detail: string };

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown, max = 256): x is string => typeof x === 'string' && x.length <= max;
const DIGIT = /^[0-9*#A-D]$/;

function parseJson(text: string): Parsed<Record<string, unknown> & { type: string }> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, fatal: true, detail: 'a text message is not valid JSON' };
  }
  if (!isObj(v) || typeof v.type !== 'string') return { ok: false, fatal: true, detail: 'a text message must be a JSON object with a string "type"' };
  return { ok: true, msg: v as Record<string, unknown> & { type: string } };
}

const bad = (detail: string): { ok: false; fatal: false; detail: string } => ({ ok: false, fatal: false, detail });

export function isFormat(x: unknown): x is MediaFormat {
  return isObj(x) && CODECS.includes(x.codec as Codec) && typeof x.sampleRate === 'number' && isSupportedRate(x.sampleRate) && (x.codec === 'l16' || x.sampleRate === 8000);
}

/** Checks a text message the worker received. Unknown types are not fatal (newer peers may add some). */
export function parseEdgeMessage(text: string): Parsed<EdgeToWorker> {
  const p = parseJson(text);
  if (!p.ok) return p;
  const m = p.msg;
  switch (m.type) {
    case 'start': {
      if (m.version !== PROTOCOL_VERSION) return { ok: false, fatal: true, detail: `start.version is ${String(m.version)}; this worker speaks version ${PROTOCOL_VERSION}` };
      if (!isStr(m.callId) || !m.callId) return { ok: false, fatal: true, detail: 'start.callId must be a non-empty string' };
      if (!isStr(m.from) || !isStr(m.to)) return { ok: false, fatal: true, detail: 'start.from and start.to must be strings' };
      if (m.flow !== undefined && !isStr(m.flow)) return { ok: false, fatal: true, detail: 'start.flow must be a string' };
      if (m.resume !== undefined && !isStr(m.resume)) return { ok: false, fatal: true, detail: 'start.resume must be a session string' };
      if (m.meta !== undefined && (!isObj(m.meta) || !Object.values(m.meta).every((v) => isStr(v, 4096))))
        return { ok: false, fatal: true, detail: 'start.meta must map names to strings' };
      if (m.carry !== undefined && !isFlowState(m.carry)) return { ok: false, fatal: true, detail: 'start.carry must be {"step","vars":{…},"history":[…]}' };
      if (!Array.isArray(m.offer) || m.offer.length === 0 || m.offer.length > 16)
        return { ok: false, fatal: true, detail: 'start.offer must list 1–16 formats like {"codec":"l16","sampleRate":16000}' };
      return { ok: true, msg: { ...(m as unknown as StartMsg), offer: (m.offer as unknown[]).filter(isFormat) } };
    }
    case 'dtmf':
      return isStr(m.digit) && DIGIT.test(m.digit) ? { ok: true, msg: { type: 'dtmf', digit: m.digit } } : bad('dtmf.digit must be one of 0-9 * # A-D');
    case 'mark':
      return isStr(m.name) ? { ok: true, msg: { type: 'mark', name: m.name, ms: typeof m.ms === 'number' ? m.ms : undefined } } : bad('mark.name must be a string');
    case 'result':
      if (typeof m.id !== 'number' || typeof m.ok !== 'boolean') return bad('result needs a numeric id and a boolean ok');
      return { ok: true, msg: { type: 'result', id: m.id, ok: m.ok, error: wireError(m.error) } };
    case 'stop':
      return { ok: true, msg: { type: 'stop', reason: reasonOf(m.reason) } };
    case 'error':
      return { ok: true, msg: { type: 'error', code: String(m.code ?? 'unknown'), message: String(m.message ?? '') } };
    default:
      return bad(`unknown message type "${m.type.slice(0, 40)}"`);
  }
}

/** Checks a text message the edge received. */
export function parseWorkerMessage(text: string): Parsed<WorkerToEdge> {
  const p = parseJson(text);
  if (!p.ok) return p;
  const m = p.msg;
  switch (m.type) {
    case 'started':
      if (!isStr(m.session) || !isFormat(m.format)) return { ok: false, fatal: true, detail: 'started needs a session string and a format the edge offered' };
      // Rebuilt field by field: nothing unchecked from the wire reaches the edge.
      return {
        ok: true,
        msg: {
          type: 'started',
          version: PROTOCOL_VERSION,
          callId: isStr(m.callId) ? m.callId : '',
          session: m.session,
          format: { codec: m.format.codec, sampleRate: m.format.sampleRate },
          frameMs: FRAME_MS,
          resumed: m.resumed === true,
        },
      };
    case 'mark':
      return isStr(m.name) ? { ok: true, msg: { type: 'mark', name: m.name, ms: typeof m.ms === 'number' ? m.ms : undefined } } : bad('mark.name must be a string');
    case 'clear':
      return { ok: true, msg: { type: 'clear' } };
    case 'dtmf':
      return typeof m.id === 'number' && isStr(m.digits) && /^[0-9*#A-Dw,]+$/.test(m.digits)
        ? { ok: true, msg: { type: 'dtmf', id: m.id, digits: m.digits } }
        : bad('dtmf needs a numeric id and digits');
    case 'transfer':
      return typeof m.id === 'number' && isStr(m.to) && m.to.length > 0
        ? { ok: true, msg: { type: 'transfer', id: m.id, to: m.to, timeoutMs: typeof m.timeoutMs === 'number' ? m.timeoutMs : undefined } }
        : bad('transfer needs a numeric id and a non-empty to');
    case 'hangup':
      return { ok: true, msg: { type: 'hangup', reason: reasonOf(m.reason) } };
    case 'event':
      return isObj(m.event) && isStr(m.event.type) && isStr(m.event.callId) ? { ok: true, msg: { type: 'event', event: m.event as unknown as CallEvent } } : bad('event needs an event object with type and callId');
    case 'state':
      return isFlowState(m.state) ? { ok: true, msg: { type: 'state', state: m.state } } : bad('state needs {"step","vars":{…},"history":[…]}');
    case 'stop':
      return { ok: true, msg: { type: 'stop', reason: reasonOf(m.reason) } };
    case 'error':
      return { ok: true, msg: { type: 'error', code: String(m.code ?? 'unknown'), message: String(m.message ?? '') } };
    default:
      return bad(`unknown message type "${m.type.slice(0, 40)}"`);
  }
}

function isFlowState(x: unknown): x is FlowState {
  return (
    isObj(x) &&
    isStr(x.step) &&
    isObj(x.vars) &&
    Array.isArray(x.history) &&
    x.history.every((h) => isObj(h) && ['system', 'user', 'assistant', 'tool'].includes(h.role as string) && typeof h.content === 'string')
  );
}

function reasonOf(x: unknown): HangupReason {
  return HANGUP_REASONS.includes(x as HangupReason) ? (x as HangupReason) : 'error';
}

function wireError(x: unknown): WireError | undefined {
  if (!isObj(x)) return undefined;
  return { code: String(x.code ?? 'unknown'), message: String(x.message ?? '') };
}

/** Bytes of one FRAME_MS frame in `format`. */
export function frameBytes(format: MediaFormat): number {
  const samples = (format.sampleRate * FRAME_MS) / 1000;
  return format.codec === 'l16' ? samples * 2 : samples;
}

/** What the edge offers for a leg: each configured codec the leg's rate allows, in the configured order. */
export function offerFor(codecs: readonly Codec[], legRate: number): MediaFormat[] {
  const out: MediaFormat[] = [];
  for (const c of codecs) {
    if (c === 'l16' && isSupportedRate(legRate)) out.push({ codec: 'l16', sampleRate: legRate });
    else if (c !== 'l16') out.push({ codec: c, sampleRate: 8000 });
  }
  return out;
}

/** The worker's answer: the edge's most preferred offer whose codec the worker accepts. */
export function negotiate(offer: readonly MediaFormat[], accepted: readonly Codec[]): MediaFormat | undefined {
  return offer.find((f) => accepted.includes(f.codec));
}

export const describeFormat = (f: MediaFormat): string => `${f.codec}/${f.sampleRate}`;
