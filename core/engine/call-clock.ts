import { sleepOn, type Clock, type TimerHandle } from '../time/clock.js';

/**
 * One call's view of the process clock: a timer callback that throws ends
 * that call (through `fail`, with a coded error) instead of escaping to the
 * event loop, where it would take every other call down with the process.
 */
export function callClock(time: Clock, fail: (e: unknown) => void): Clock {
  const clock: Clock = {
    now: () => time.now(),
    wallNow: () => time.wallNow(),
    setTimeout: (fn, ms): TimerHandle =>
      time.setTimeout(() => {
        try {
          fn();
        } catch (e) {
          fail(e);
        }
      }, ms),
    clearTimeout: (h) => time.clearTimeout(h),
    sleep: (ms, signal) => sleepOn(clock, ms, signal),
    virtual: time.virtual,
    ...(time.hold ? { hold: () => time.hold!() } : {}),
  };
  return clock;
}
