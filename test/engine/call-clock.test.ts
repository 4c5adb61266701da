import { describe, expect, it } from 'vitest';
import { callClock } from '../../core/engine/call-clock.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';

describe('callClock', () => {
  it("a throwing timer callback goes to the call's fail handler; the process clock and other calls keep running", async () => {
    const time = new VirtualClock({ auto: false, onError: (e) => escaped.push(e) });
    const escaped: unknown[] = [];
    const failed: string[] = [];
    const a = callClock(time, (e) => failed.push(`a: ${(e as Error).message}`));
    const b = callClock(time, (e) => failed.push(`b: ${(e as Error).message}`));
    let bFired = false;
    a.setTimeout(() => {
      throw new Error('bug in a timer');
    }, 10);
    b.setTimeout(() => (bFired = true), 20);
    await time.advance(20);
    expect(failed).toEqual(['a: bug in a timer']);
    expect(escaped).toEqual([]);
    expect(bFired).toBe(true);
    // The call's clock is the process clock otherwise: same time, sleeps, holds.
    expect(a.now()).toBe(time.now());
    expect(a.virtual).toBe(true);
    const release = a.hold!();
    expect(time.held).toBe(true);
    release();
    expect(time.held).toBe(false);
  });
});
