import { describe, expect, it } from 'vitest';
import { sleep } from '../../core/plugin-api.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';

describe('sleep(ms, signal, clock): the one sleep of core and plugins', () => {
  it('waits on the clock it is given', async () => {
    const c = new VirtualClock({ auto: false });
    let done = false;
    void sleep(250, undefined, c).then(() => (done = true));
    await c.advance(249);
    expect(done).toBe(false);
    await c.advance(1);
    expect(done).toBe(true);
  });

  it('resolves (never rejects) when the signal aborts, and leaves no timer behind', async () => {
    const c = new VirtualClock({ auto: false });
    const ac = new AbortController();
    const s = sleep(10_000, ac.signal, c);
    ac.abort();
    await expect(s).resolves.toBeUndefined();
    expect(c.pending).toBe(0);
    expect(c.now()).toBe(0);
  });

  // A 60 s sleep that did not see the abort would time the test out.
  it('an already aborted signal resolves at once on the real clock', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(sleep(60_000, ac.signal)).resolves.toBeUndefined();
  }, 5000);
});
