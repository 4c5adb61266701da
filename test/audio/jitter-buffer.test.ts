import { describe, expect, it } from 'vitest';
import { JitterBuffer } from '../../core/audio/jitter-buffer.js';

function rig(depth = 2) {
  const out: (number | string)[] = [];
  const jb = new JitterBuffer<number>({ depth, onPacket: (p) => out.push(p), onLoss: (n) => out.push(`lost${n}`) });
  return { jb, out, push: (...seqs: number[]) => seqs.forEach((s) => jb.push(s, s)) };
}

describe('JitterBuffer', () => {
  it('passes packets in order straight through', () => {
    const { out, push, jb } = rig();
    push(10, 11, 12);
    expect(out).toEqual([10, 11, 12]);
    expect(jb.stats).toMatchObject({ reordered: 0, lost: 0, late: 0 });
  });

  it('puts a swapped pair back in order without declaring a loss', () => {
    const { out, push, jb } = rig();
    push(1, 3, 2, 4);
    expect(out).toEqual([1, 2, 3, 4]);
    expect(jb.stats.lost).toBe(0);
    expect(jb.stats.reordered).toBe(1);
  });

  it('declares a gap lost once depth packets wait behind it, then plays them', () => {
    const { out, push, jb } = rig(2);
    push(1, 3, 4);
    expect(out).toEqual([1]);
    push(5);
    expect(out).toEqual([1, 'lost1', 3, 4, 5]);
    expect(jb.stats.lost).toBe(1);
    // The missing packet arriving afterwards is late: its moment was concealed.
    push(2);
    expect(out).toEqual([1, 'lost1', 3, 4, 5]);
    expect(jb.stats.late).toBe(1);
  });

  it('drops duplicates, held or already played', () => {
    const { out, push, jb } = rig(3);
    push(1, 1, 3, 3, 2);
    expect(out).toEqual([1, 2, 3]);
    expect(jb.stats.late + jb.stats.duplicate).toBe(2);
  });

  it('handles the 16-bit wrap', () => {
    const { out, push } = rig();
    push(65534, 0, 65535, 1);
    expect(out).toEqual([65534, 65535, 0, 1]);
  });

  it('treats a large jump as a new stream instead of hundreds of losses', () => {
    const { out, push, jb } = rig();
    push(100, 101, 30000, 30001);
    expect(out).toEqual([100, 101, 30000, 30001]);
    expect(jb.stats.resets).toBe(1);
    expect(jb.stats.lost).toBe(0);
  });

  it('flush plays what is held and reports the gaps', () => {
    const { out, push, jb } = rig(4);
    push(1, 4, 3);
    jb.flush();
    expect(out).toEqual([1, 'lost1', 3, 4]);
  });
});
