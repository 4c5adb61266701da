import type { AudioFrame } from '../audio/frame.js';
import type { MediaPort } from '../plugins/media-port.js';
import type { CallLeg, HangupReason } from '../plugins/telephony.js';

export interface ControlledLeg {
  /** Give this to the engine. */
  leg: CallLeg;
  /**
   * Hang up from outside the flow (DELETE /v1/calls/{id}): the far end is
   * dropped and the engine hears of it as it would of a far-end hangup, so
   * the session ends at once instead of waiting in a listen step.
   */
  hangupFromOutside(reason?: HangupReason): Promise<void>;
}

/**
 * The same leg, wrapped for the outbound service: optionally every caller
 * frame also goes to `tap` (answering-machine detection) before the engine's
 * receiver, from the moment of wrapping whether or not the engine listens
 * yet. Plain callbacks: this is the per-frame path.
 */
export function controlLeg(leg: CallLeg, tap?: (frame: AudioFrame) => void): ControlledLeg {
  const inner = leg.media;
  let media: MediaPort = inner;
  if (tap) {
    let engine: ((f: AudioFrame) => void) | undefined;
    inner.setReceiver((f) => {
      tap(f);
      engine?.(f);
    });
    media = {
      get inputRate() {
        return inner.inputRate;
      },
      get outputRate() {
        return inner.outputRate;
      },
      get frameMs() {
        return inner.frameMs;
      },
      setReceiver: (cb) => {
        engine = cb;
      },
      write: (f) => inner.write(f),
      clear: () => inner.clear(),
    };
  }
  let endedCb: ((r: HangupReason) => void) | undefined;
  let ended = false;
  const onEnded = (r: HangupReason) => {
    if (ended) return;
    ended = true;
    endedCb?.(r);
  };
  leg.onEnded(onEnded);
  const wrapped: CallLeg = {
    info: leg.info,
    media,
    onDtmf: (cb) => leg.onDtmf(cb),
    onEnded: (cb) => {
      endedCb = cb;
    },
    sendDtmf: (d) => leg.sendDtmf(d),
    transfer: (to, o) => leg.transfer(to, o),
    hangup: (r) => {
      // The engine's own hangup: the contract says onEnded does not fire for it.
      ended = true;
      return leg.hangup(r);
    },
  };
  return {
    leg: wrapped,
    hangupFromOutside: async (reason = 'bot-hangup') => {
      if (ended) return;
      await leg.hangup(reason);
      onEnded(reason);
    },
  };
}
