import { PluginBase } from './base.js';
import type { CallLeg } from './telephony.js';

export interface AudioStreamCapabilities {
  /** Crosses a process/network boundary (needs --role edge/worker). */
  remote: boolean;
}

/**
 * Carries a call's audio between the telephony leg and the engine.
 * In-process it hands the leg through unchanged; a remote stream sends it over
 * a network and, on the worker side, surfaces legs that edges stream in.
 */
export abstract class AudioStreamPlugin extends PluginBase {
  readonly slot = 'audioStream' as const;
  abstract readonly capabilities: AudioStreamCapabilities;

  /** Edge side: carry `leg` to the engine; resolves with the leg the engine should drive. */
  attach(leg: CallLeg): Promise<CallLeg> {
    return this._attach(leg);
  }

  protected abstract _attach(leg: CallLeg): Promise<CallLeg>;
}
