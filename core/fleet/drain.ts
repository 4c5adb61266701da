/**
 * Drain on SIGTERM: stop taking calls at once (readiness false, deregistered
 * or marked draining), let live calls finish for up to `timeoutMs`, then end
 * the rest politely. `force` (a second SIGTERM) cuts the wait short.
 */
import type { VoicebotApp } from '../app/app.js';
import type { Logger } from '../logging.js';
import type { Clock } from '../time/clock.js';

export type DrainOutcome = 'idle' | 'timeout' | 'forced';

/** After the polite line, how long hangups may take before stop() cuts them. */
export const GOODBYE_MS = 15_000;

export async function drain(
  app: VoicebotApp,
  opts: { timeoutMs: number; message: string; clock: Clock; log: Logger; force: AbortSignal; onDrainStart?: () => void },
): Promise<DrainOutcome> {
  const { clock, log, force } = opts;
  app.beginDrain();
  opts.onDrainStart?.();
  const live = app.activeCalls;
  log.info({ calls: live, timeoutMs: opts.timeoutMs }, `draining: ${live} live call(s) may finish within ${opts.timeoutMs} ms`);
  const stopWaiting = new AbortController();
  const wait = (ms: number): Promise<'timeout' | 'forced'> =>
    Promise.race([
      clock.sleep(ms, stopWaiting.signal).then(() => 'timeout' as const),
      new Promise<'forced'>((r) => (force.aborted ? r('forced') : force.addEventListener('abort', () => r('forced'), { once: true }))),
    ]);
  try {
    const first = await Promise.race([app.whenIdle().then(() => 'idle' as const), wait(opts.timeoutMs)]);
    if (first !== 'timeout') return first;
    const left = app.activeCalls;
    // An edge has no voice of its own: stop() hangs its calls up (their workers see `stop: shutdown`).
    if (app.role === 'edge') {
      log.warn({ calls: left }, `drain timeout: hanging up ${left} call(s)`);
      return 'timeout';
    }
    log.warn({ calls: left }, `drain timeout: ending ${left} call(s) politely`);
    void app.endLiveCalls(opts.message);
    const second = await Promise.race([app.whenIdle().then(() => 'idle' as const), wait(GOODBYE_MS)]);
    return second === 'forced' ? 'forced' : 'timeout';
  } finally {
    stopWaiting.abort();
  }
}
