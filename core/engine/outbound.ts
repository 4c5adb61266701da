import type { AudioFrame } from '../audio/frame.js';
import { OutboundPacer, type PacerClock } from '../audio/pacer.js';
import { Resampler } from '../audio/resampler.js';
import type { MediaPort } from '../plugins/media-port.js';
import type { InterruptionSettings } from './interruption.js';
import { Playback, type Segment } from './playback.js';
import type { BargeInOption } from './session-api.js';
import type { BotTurnState } from './turn-controller.js';

export interface OutboundOptions {
  media: MediaPort;
  frameMs: number;
  clock: PacerClock;
  /** Barge-in default for a playback that does not say (settings.bargeIn.enabled). */
  bargeInDefault: boolean;
  /** Each frame as it goes to the wire, with its media time (clock ms): recorder, turn metrics. */
  onWire(frame: AudioFrame, atMs: number): void;
  /** The bot's turn state changed (the turn controller's input). */
  onState(state: BotTurnState): void;
  /** Writing to the leg threw: end the call. */
  fail(e: unknown): void;
}

/** Level of the bot's voice while ducked under the caller's (≈ −12 dB). */
export const DUCK_GAIN = 0.25;

/**
 * The bot's voice: one playback at a time on the paced outbound stream.
 * Knows what went out and so what the caller heard (`heardMs`, the pacer's
 * played position; a transport that acknowledges playout — websocket
 * marks, softphone acks — can report its own via `setHeard`).
 */
export class Outbound {
  private readonly o: OutboundOptions;
  private readonly pacer: OutboundPacer;
  private ttsRs: Resampler | undefined;
  private enqueuedMs = 0;
  private current: Playback | undefined;
  private heardOverride: (() => number) | undefined;

  constructor(opts: OutboundOptions) {
    this.o = opts;
    this.pacer = new OutboundPacer({ sampleRate: opts.media.outputRate, frameMs: opts.frameMs, clock: opts.clock, sink: this.onFrame, onDrained: this.onDrained });
  }

  get outputRate(): number {
    return this.o.media.outputRate;
  }

  get playback(): Playback | undefined {
    return this.current;
  }

  /** Outbound timeline ms the caller has heard up to. */
  get heardMs(): number {
    return this.heardOverride ? Math.min(this.heardOverride(), this.pacer.playedMs) : this.pacer.playedMs;
  }

  /** A transport that knows what was played out (acks) reports it here; undefined: the pacer's count. */
  setHeard(fn: (() => number) | undefined): void {
    this.heardOverride = fn;
  }

  start(): void {
    this.pacer.start();
  }

  /** A new bot utterance; the one still playing (if any) is stopped. */
  begin(bargeIn: BargeInOption | undefined, ...signals: (AbortSignal | undefined)[]): Playback {
    const prev = this.current;
    if (prev && !prev.stopped) this.stop(prev);
    const pb = new Playback(bargeIn ?? this.o.bargeInDefault, ...signals);
    pb.signal.addEventListener('abort', () => this.stop(pb), { once: true });
    this.current = pb;
    this.publish();
    return pb;
  }

  /** Queue audio of `seg` (any rate: resampled to the leg's). */
  append(pb: Playback, seg: Segment, samples: Int16Array, sampleRate: number): void {
    if (pb.stopped) return;
    const outRate = this.o.media.outputRate;
    let out = samples;
    if (sampleRate !== outRate) {
      if (!this.ttsRs || this.ttsRs.fromRate !== sampleRate) this.ttsRs = new Resampler(sampleRate, outRate);
      out = this.ttsRs.process(samples);
    }
    if (seg.startMs < 0) {
      seg.startMs = Math.max(this.enqueuedMs, this.pacer.playedMs);
      this.enqueuedMs = seg.startMs;
    }
    const ms = (out.length * 1000) / outRate;
    seg.durationMs += ms;
    this.enqueuedMs += ms;
    this.pacer.enqueue(out);
  }

  /** Resolves when everything queued played out, or the playback stopped. */
  waitPlayed(pb: Playback): Promise<void> {
    if (pb.stopped || !this.pacer.active) return Promise.resolve();
    return new Promise((resolve) => {
      pb.drained = resolve;
    });
  }

  /**
   * The caller may be taking the floor: stop sending (pause) or lower the
   * level (duck) from the next frame. Nothing queued is dropped and the
   * transport is not cleared (what it holds plays out), so resume() goes on
   * with the very next sample: nothing lost, nothing repeated.
   */
  hold(pb: Playback, mode: InterruptionSettings['mode']): void {
    if (pb.stopped || this.current !== pb || pb.held) return;
    pb.held = mode;
    if (mode === 'pause') this.pacer.pause();
    else this.pacer.gain = DUCK_GAIN;
  }

  /** A false interruption: on where it paused, at full level. */
  resume(pb: Playback): void {
    if (pb.held && this.current === pb) this.release(pb);
  }

  /** Silence the bot now: within the current frame, whatever was queued. */
  stop(pb: Playback): void {
    if (pb.stopped) return;
    pb.stopped = true;
    if (this.current === pb) {
      pb.heardUntilMs = this.heardMs;
      this.pacer.clear();
      this.release(pb);
      this.o.media.clear();
      this.enqueuedMs = this.pacer.playedMs;
      this.publish();
    }
    const d = pb.drained;
    pb.drained = undefined;
    d?.();
  }

  /**
   * Drop what is queued but not yet played, keeping the playback: hold
   * audio filling a tool's wait ends here so the reply after it is not late.
   */
  cut(pb: Playback): void {
    if (pb.stopped || this.current !== pb) return;
    this.pacer.clear();
    this.o.media.clear();
    this.enqueuedMs = this.pacer.playedMs;
    const d = pb.drained;
    pb.drained = undefined;
    d?.();
  }

  /** The playback is over (played out or stopped): it no longer holds the floor. */
  finish(pb: Playback): void {
    if (!pb.stopped) pb.heardUntilMs = Infinity;
    if (this.current === pb) this.release(pb);
    pb.link.dispose();
    if (this.current === pb) {
      this.current = undefined;
      this.publish();
    }
  }

  /** The call ended. */
  close(): void {
    if (this.current) this.stop(this.current);
    this.pacer.stop();
  }

  /** The next playback starts unpaused at full level. */
  private release(pb: Playback): void {
    pb.held = undefined;
    this.pacer.gain = 1;
    this.pacer.resume();
  }

  private publish(): void {
    const pb = this.current;
    const state: BotTurnState = { speaking: pb !== undefined && !pb.stopped, bargeIn: pb?.bargeIn ?? false };
    if (pb?.interruption) state.interruption = pb.interruption;
    this.o.onState(state);
  }

  private readonly onFrame = (frame: AudioFrame, atMs: number): void => {
    // This runs inside the shared PacerClock tick: a throw here would stop every call's audio.
    try {
      this.o.onWire(frame, atMs);
      this.o.media.write(frame);
    } catch (e) {
      this.o.fail(e);
    }
  };

  private readonly onDrained = (): void => {
    const pb = this.current;
    if (pb?.drained) {
      const d = pb.drained;
      pb.drained = undefined;
      d();
    }
  };
}
