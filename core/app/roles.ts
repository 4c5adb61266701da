import type { AudioStreamPlugin } from '../plugins/audio-stream.js';
import type { CallLeg, HangupReason } from '../plugins/telephony.js';
import type { VoicebotError } from '../errors/index.js';
import type { CallEvent } from '../engine/events.js';
import type { FlowState } from '../flow/runner.js';

/**
 * How `voicebot run` splits a bot across processes:
 * - `all` (default): telephony and engine in this process (a remote audio
 *   stream then runs both of its ends here, over loopback);
 * - `edge`: telephony only; every answered call is streamed to a worker;
 * - `worker`: engine only; calls arrive as streams from edges.
 */
export type RunRole = 'edge' | 'worker' | 'all';
export const RUN_ROLES: readonly RunRole[] = ['all', 'edge', 'worker'];

/**
 * Called by a remote stream for each call an edge streams in (worker side).
 * `carried`: the flow state of a call re-dispatched after its worker was lost.
 */
export type StreamHandler = (leg: CallLeg, flow: string | undefined, carried?: FlowState) => void;

/** A worker an edge can stream a call to (from the fleet registry). */
export interface WorkerTarget {
  id: string;
  url: string;
}

/** Chooses workers for an edge's calls (core/fleet/dispatcher.ts). */
export interface WorkerPicker {
  /** A worker for a call, none of `exclude` (ids); undefined when no worker can take it now. */
  pick(exclude: ReadonlySet<string>): WorkerTarget | undefined;
  /** Placing a call on `target` failed (refused or unreachable): avoid it briefly, count a retry. */
  failed(target: WorkerTarget, code: string): void;
  /** A call was placed on `target` (its load counts here until the registry shows it). */
  placed(target: WorkerTarget): void;
  /** Time the edge may spend placing one call, retries included (ms). */
  readonly budgetMs: number;
}

/** What the edge side of a streamed call reports to the app. */
export type StreamEvent =
  | { type: 'stream.started'; callId: string; from: string; to: string; flow: string; url: string; format: string }
  | { type: 'stream.reconnecting'; callId: string; detail: string }
  | { type: 'stream.resumed'; callId: string }
  /** `fallback`: no worker took the call and the edge played settings.fleet.noWorker (how that went). */
  | { type: 'stream.ended'; callId: string; reason: HangupReason; code?: string; message?: string; fallback?: 'played' | 'caller-hangup' | 'failed' }
  /** The call lost its worker and goes on on another one. */
  | { type: 'stream.redispatched'; callId: string; url: string; step: string; code: string; message: string }
  /** A call event the worker streamed back (split mode): the edge shows it as if the call ran here. */
  | { type: 'worker.event'; callId: string; event: CallEvent };

export interface ForwardOptions {
  flow?: string;
  onEvent?: (ev: StreamEvent) => void;
  pick?: WorkerPicker;
  /** On VB_ERR_FLEET_NO_WORKER before the stream started, leave the caller's leg up (the app plays settings.fleet.noWorker). */
  keepLegOnNoWorker?: boolean;
}

export interface ForwardResult {
  reason: HangupReason;
  /** Why the stream ended the call, when it did (coded: VB_ERR_WS_*). */
  error?: VoicebotError;
}

/**
 * An audio stream with capabilities.remote also implements this: the app
 * tells it which halves run here and hands it calls to stream out.
 */
export interface RemoteAudioStream {
  /** Called once before start(). `onStream` takes legs streamed in (worker/all); undefined on an edge. */
  setRole(role: RunRole, onStream: StreamHandler | undefined): void;
  /** Edge: stream an answered leg to the worker; resolves (never rejects) when the call is over on this side. */
  forward(leg: CallLeg, opts: ForwardOptions): Promise<ForwardResult>;
  /** Worker: refuse new streams (drain); resumes of live calls still attach. Optional. */
  setDraining?(draining: boolean): void;
  /** Where edges reach this process's worker end, once started (worker/all). */
  readonly listenUrl: string | undefined;
  /** Where this edge streams calls to. */
  readonly workerUrl: string | undefined;
}

export function asRemoteStream(p: AudioStreamPlugin): (AudioStreamPlugin & RemoteAudioStream) | undefined {
  if (!p.capabilities.remote) return undefined;
  const r = p as AudioStreamPlugin & Partial<RemoteAudioStream>;
  return typeof r.setRole === 'function' && typeof r.forward === 'function' ? (r as AudioStreamPlugin & RemoteAudioStream) : undefined;
}
