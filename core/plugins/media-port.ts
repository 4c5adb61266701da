import type { AudioFrame } from '../audio/frame.js';

/**
 * The bidirectional audio of one call, as the engine sees it: PCM16 frames at
 * declared rates. Telephony legs and audio streams both expose one.
 *
 * Plain callbacks, not streams or promises: this runs 50 times a second per
 * direction per call.
 */
export interface MediaPort {
  /** Rate (Hz) of the caller frames this port delivers. */
  readonly inputRate: number;
  /** Rate (Hz) this port expects for write(). The core resamples to it. */
  readonly outputRate: number;
  /** Duration of each frame in ms (20 unless the leg says otherwise). */
  readonly frameMs: number;
  /**
   * Register the one receiver of caller audio. The frame and its buffer are
   * valid only during the call; copy what you keep. Passing undefined detaches.
   */
  setReceiver(onFrame: ((frame: AudioFrame) => void) | undefined): void;
  /** Send one bot frame (already paced in real time by the engine). */
  write(frame: AudioFrame): void;
  /** Drop any bot audio queued inside the port (barge-in). */
  clear(): void;
}
