import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameSender, type SendSocket } from '../../plugins/websocket/media.js';

/** A socket whose writes complete only when the test says so. */
class FakeSocket implements SendSocket {
  bufferedAmount = 0;
  readonly wire: number[] = [];
  private readonly pending: { len: number; cb: (err?: Error) => void }[] = [];
  send(data: Buffer, _o: { binary: boolean }, cb: (err?: Error) => void): void {
    this.wire.push(data.readInt16LE(0));
    this.bufferedAmount += data.length;
    this.pending.push({ len: data.length, cb });
  }
  /** The kernel takes `n` writes. */
  drain(n = Infinity): void {
    while (n-- > 0 && this.pending.length) {
      const p = this.pending.shift()!;
      this.bufferedAmount -= p.len;
      p.cb();
    }
  }
}

const frame = (v: number): Int16Array => new Int16Array(320).fill(v);

describe('FrameSender (bounded, drop-oldest)', () => {
  it('sends at once while the socket has room, then queues and drops the oldest queued frame', () => {
    // 200 ms budget at 16 kHz l16: 3200 bytes (5 frames) in the socket + 5 frames queued.
    const drops: number[] = [];
    const s = new FrameSender({ codec: 'l16', sampleRate: 16000 }, 200, (n) => drops.push(n));
    const sock = new FakeSocket();
    s.setSocket(sock);
    for (let i = 1; i <= 13; i++) s.write(frame(i));
    expect(sock.wire).toEqual([1, 2, 3, 4, 5]);
    expect(s.queued).toBe(5);
    expect(s.dropped).toBe(3); // 6, 7, 8 were the oldest waiting
    expect(drops).toEqual([1, 2, 3]);
    sock.drain();
    expect(sock.wire).toEqual([1, 2, 3, 4, 5, 9, 10, 11, 12, 13]);
    expect(sock.bufferedAmount).toBeLessThanOrEqual(s.highWater);
    sock.drain();
    expect(s.queued).toBe(0);
  });

  it('re-chunks any frame length into 20 ms wire frames and reuses buffers only after their write completed', () => {
    const s = new FrameSender({ codec: 'l16', sampleRate: 8000 }, 1000);
    const seen: Buffer[] = [];
    const sock: SendSocket & { cbs: (() => void)[] } = {
      bufferedAmount: 0,
      cbs: [],
      send(data, _o, cb) {
        seen.push(data);
        this.cbs.push(cb);
      },
    };
    s.setSocket(sock);
    s.write(new Int16Array(100).fill(1));
    expect(seen).toHaveLength(0);
    s.write(new Int16Array(300).fill(2)); // 400 samples = 2.5 frames of 160
    expect(seen.map((b) => b.length)).toEqual([320, 320]);
    expect(seen[0].readInt16LE(0)).toBe(1);
    expect(seen[0].readInt16LE(2 * 100)).toBe(2);
    // No completion yet: the next frame must use a fresh buffer.
    s.write(new Int16Array(80).fill(3));
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
    sock.cbs.shift()!();
    s.write(new Int16Array(160).fill(4));
    expect(seen[3]).toBe(seen[0]); // released after its write completed, then reused
    expect(seen[1].readInt16LE(0)).toBe(2);
  });

  it('clear() drops queued audio; G.711 round-trips through the decoder', () => {
    const s = new FrameSender({ codec: 'pcmu', sampleRate: 8000 }, 100);
    const sock = new FakeSocket();
    s.setSocket(sock);
    for (let i = 0; i < 6; i++) s.write(new Int16Array(160).fill(1000 * (i + 1)));
    expect(s.queued).toBeGreaterThan(0);
    s.clear();
    expect(s.queued).toBe(0);
    const d = new FrameDecoder({ codec: 'pcmu', sampleRate: 8000 });
    const got: Buffer[] = [];
    const s2 = new FrameSender({ codec: 'pcmu', sampleRate: 8000 }, 100);
    s2.setSocket({ bufferedAmount: 0, send: (b, _o, cb) => (got.push(Buffer.from(b)), cb()) });
    s2.write(new Int16Array(160).fill(1000));
    const f = d.decode(got[0])!;
    expect(Math.abs(f.samples[0] - 1000)).toBeLessThan(40);
    expect(d.decode(Buffer.alloc(3))).toBeUndefined();
  });
});
