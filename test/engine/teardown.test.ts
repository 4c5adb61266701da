import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { routedCallCount } from '../../core/engine/metric-router.js';
import type { VirtualClock } from '../../core/time/virtual-clock.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { Rig, ofType, settings } from './harness.js';

/** global.gc when node runs with --expose-gc, else enabled at run time; undefined if neither works. */
function getGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

function timeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('teardown', () => {
  it('ends calls on maxCall with reason max-duration', async () => {
    const rig = await new Rig({ settings: settings({ maxCall: 300 }) }).init();
    const { side, session, events, caller } = await rig.call();
    const l = session.listen({ input: ['speech'], timeoutMs: 10_000 });
    await expect(l).rejects.toMatchObject({ code: 'VB_ERR_CALL_STATE' });
    expect(await side.ended).toBe('max-duration');
    expect(session.endSignal.aborted).toBe(true);
    expect(ofType(events, 'call.ended')[0].reason).toBe('max-duration');
    caller.stop();
    await rig.stop();
  });

  it('200 calls opened and closed leave no timer, pacer registration, listener or heap behind', async () => {
    const gc = getGc();
    const tts = new MockTts();
    const stt = new MockStt();
    const llm = new MockLlm();
    const rig = await new Rig({ plugins: () => ({ tts, stt, llm }) }).init();
    // Warm up (module-level caches, resampler designs) before the baseline.
    {
      const c = await rig.call();
      await c.session.say('Hi');
      await c.session.hangup();
      c.caller.stop();
    }
    rig.sessions.length = 0;
    gc?.();
    const baseTimeouts = timeouts();
    const baseHeap = process.memoryUsage().heapUsed;

    const N = 200;
    const BATCH = 50;
    let ended = 0;
    for (let b = 0; b < N / BATCH; b++) {
      const calls = await Promise.all(Array.from({ length: BATCH }, () => rig.call()));
      await Promise.all(
        calls.map(async (c, i) => {
          const mode = i % 4;
          if (mode === 0) {
            // Caller hangs up while the bot waits for speech.
            const l = c.session.listen({ input: ['speech', 'dtmf'], timeoutMs: 10_000 });
            c.side.hangup();
            await expect(l).rejects.toMatchObject({ code: 'VB_ERR_CALL_STATE' });
          } else if (mode === 1) {
            // Caller hangs up while the bot is talking.
            const s = c.session.say('Please hold the line.');
            await c.caller.firstLoudFrame();
            c.side.hangup();
            expect((await s).interrupted).toBe(true);
          } else if (mode === 2) {
            // Bot hangs up after a reply, with a streaming STT open.
            const l = c.session.listen({ input: ['speech'], timeoutMs: 10_000 });
            await c.caller.say('ok');
            await l;
            await c.session.hangup('Bye');
          } else {
            // Hung up mid-respond.
            const r = c.session.respond({ messages: [{ role: 'user', content: 'hello' }] });
            await c.caller.firstLoudFrame();
            await c.session.hangup();
            expect((await r).interrupted).toBe(true);
          }
          await c.side.ended;
          c.caller.stop();
          ended++;
        }),
      );
    }
    expect(ended).toBe(N);
    await rig.time.sleep(50);

    expect(rig.sessions).toHaveLength(N);
    for (const s of rig.sessions) {
      expect(s.ended).toBe(true);
      expect(s.endSignal.aborted).toBe(true);
      expect(s.listenerCount).toBe(0);
    }
    expect(rig.clock.size).toBe(0);
    expect(rig.clock.running).toBe(false);
    expect(routedCallCount()).toBe(0);
    expect(rig.telephony.calls.size).toBe(0);
    expect(timeouts()).toBeLessThanOrEqual(baseTimeouts);
    // The calls' timers live on the rig's virtual clock: none may be left there either.
    expect((rig.time as VirtualClock).pending).toBe(0);

    rig.sessions.length = 0;
    if (!gc) {
      console.warn('heap check skipped: no gc available (run node with --expose-gc)');
    } else {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
      }
      const grown = process.memoryUsage().heapUsed - baseHeap;
      expect(grown).toBeLessThan(8 * 1024 * 1024);
    }
    await rig.stop();
  });
});
