import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { holdWhile, realClock } from '../../core/time/clock.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';

describe('VirtualClock', () => {
  it('fires timers in due order, same-instant ones in the order they were set', async () => {
    const c = new VirtualClock({ auto: false });
    const got: string[] = [];
    c.setTimeout(() => got.push(`b@${c.now()}`), 20);
    c.setTimeout(() => got.push(`a@${c.now()}`), 10);
    c.setTimeout(() => got.push(`c@${c.now()}`), 20);
    const cleared = c.setTimeout(() => got.push('never'), 15);
    c.clearTimeout(cleared);
    await c.advance(19);
    expect(got).toEqual(['a@10']);
    expect(c.now()).toBe(19);
    await c.advance(1);
    expect(got).toEqual(['a@10', 'b@20', 'c@20']);
    expect(c.pending).toBe(0);
  });

  it('lets promise chains settle between timers (a sleep loop advances as it would in real time)', async () => {
    const c = new VirtualClock({ auto: false });
    const stamps: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 5; i++) {
        await c.sleep(100);
        await Promise.resolve();
        stamps.push(c.now());
      }
    })();
    await c.advance(1000);
    await loop;
    expect(stamps).toEqual([100, 200, 300, 400, 500]);
  });

  it('jumps by itself when the process is idle: an hour of timers takes milliseconds', async () => {
    const c = new VirtualClock();
    const t0 = performance.now();
    let n = 0;
    await new Promise<void>((resolve) => {
      const step = (): void => {
        if (++n === 180) resolve();
        else c.setTimeout(step, 20_000);
      };
      c.setTimeout(step, 20_000);
    });
    expect(c.now()).toBe(3_600_000);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('does not move while held: real work in a worker thread takes zero virtual time', async () => {
    const c = new VirtualClock();
    // A competing timer that would fire while the worker runs if the clock ran ahead.
    let fired = false;
    c.setTimeout(() => (fired = true), 1);
    const work = holdWhile(
      c,
      new Promise<number>((resolve, reject) => {
        const w = new Worker('const { parentPort } = require("node:worker_threads"); setTimeout(() => parentPort.postMessage(42), 50);', { eval: true });
        w.once('message', (m: number) => {
          void w.terminate();
          resolve(m);
        });
        w.once('error', reject);
      }),
    );
    expect(c.held).toBe(true);
    const answer = await work;
    expect(answer).toBe(42);
    expect(fired).toBe(false);
    expect(c.now()).toBe(0);
    await c.sleep(5);
    expect(fired).toBe(true);
    expect(c.now()).toBe(5);
  });

  it('sleep resolves early on abort and clears its timer', async () => {
    const c = new VirtualClock({ auto: false });
    const ac = new AbortController();
    const s = c.sleep(1000, ac.signal);
    ac.abort();
    await s;
    expect(c.pending).toBe(0);
    expect(c.now()).toBe(0);
  });

  it('a throwing timer callback goes to onError and the clock keeps running', async () => {
    const errors: unknown[] = [];
    const c = new VirtualClock({ onError: (e) => errors.push(e) });
    c.setTimeout(() => {
      throw new Error('boom');
    }, 10);
    await c.sleep(20);
    expect((errors[0] as Error).message).toBe('boom');
    expect(c.now()).toBe(20);
  });

  it('wallNow follows virtual time from its start', async () => {
    const c = new VirtualClock({ wallStartMs: 1_000_000, auto: false });
    await c.advance(250);
    expect(c.wallNow()).toBe(1_000_250);
    expect(realClock.virtual).toBe(false);
    expect(c.virtual).toBe(true);
  });
});
