/**
 * The softphone wire protocol (one WebSocket per call, path /ws).
 * Binary messages are audio: PCM16 little-endian mono at the rate the client
 * named in `hello`, in any length (the server re-frames to 20 ms). Text
 * messages are JSON, one of the types below. plugins/local/README.md
 * documents it for people writing their own client.
 */
import type { CallEvent } from '../../core/plugin-api.js';
import type { HangupReason } from '../../core/plugin-api.js';

export const PROTOCOL_VERSION = 1;
export const WS_PATH = '/ws';

/** Page/client → bot. */
export type ClientMessage =
  /** First message: the client's audio rate (8000, 16000, 24000 or 48000) and optional numbers. */
  | { type: 'hello'; version: number; sampleRate: number; from?: string; to?: string }
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
