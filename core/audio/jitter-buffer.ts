/**
 * Inbound packet reorder buffer for RTP-like streams (16-bit wrapping
 * sequence numbers). Packets in order pass straight through, so the usual
 * case adds no delay and no allocation; a packet that arrives ahead of a gap
 * is held until the missing one arrives or `depth` packets are waiting, then
 * the gap is declared lost (the owner conceals it) and the held packets play.
 * Late and duplicate packets are dropped: the engine already heard that
 * moment. Packet-driven, no timers, so it cannot outlive its call.
 */
export interface JitterStats {
  /** Packets delivered out of arrival order (held, then released in order). */
  reordered: number;
  /** Sequence numbers given up on. */
  lost: number;
  /** Arrived after their slot was played or skipped. */
  late: number;
  duplicate: number;
  /** Large jumps treated as a new stream (SSRC change, sender restart). */
  resets: number;
}

export interface JitterBufferOptions<T> {
  /** Most packets held while waiting for a missing one (2 = at most 40 ms at 20 ms packets). */
  depth: number;
  onPacket: (packet: T) => void;
  /** `count` consecutive packets are missing before the next one. */
  onLoss: (count: number) => void;
}

const RESET_GAP = 500;

/** Signed distance b − a on the 16-bit sequence circle. */
function seqDiff(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

export class JitterBuffer<T> {
  readonly stats: JitterStats = { reordered: 0, lost: 0, late: 0, duplicate: 0, resets: 0 };
  private expected = -1;
  /** Held packets by sequence number; empty in the common case. */
  private readonly held = new Map<number, T>();

  constructor(private readonly opts: JitterBufferOptions<T>) {
    if (!(opts.depth >= 1)) throw new RangeError('jitter buffer depth must be at least 1');
  }

  push(seq: number, packet: T): void {
    seq &= 0xffff;
    if (this.expected < 0) {
      this.deliver(seq, packet);
      return;
    }
    const d = seqDiff(this.expected, seq);
    if (d === 0) {
      this.deliver(seq, packet);
      this.drain();
      return;
    }
    if (d < 0) {
      if (d < -RESET_GAP) {
        this.reset(seq, packet);
        return;
      }
      this.stats.late++;
      return;
    }
    if (d > RESET_GAP) {
      this.reset(seq, packet);
      return;
    }
    if (this.held.has(seq)) {
      this.stats.duplicate++;
      return;
    }
    this.held.set(seq, packet);
    if (this.held.size > this.opts.depth) this.skipGap();
  }

  /** Play everything held (end of call): gaps become losses. */
  flush(): void {
    while (this.held.size > 0) this.skipGap();
  }

  private deliver(seq: number, packet: T): void {
    this.expected = (seq + 1) & 0xffff;
    this.opts.onPacket(packet);
  }

  private drain(): void {
    if (this.held.size === 0) return;
    for (let p = this.held.get(this.expected); p !== undefined; p = this.held.get(this.expected)) {
      this.held.delete(this.expected);
      this.stats.reordered++;
      this.deliver(this.expected, p);
    }
  }

  /** Give up on the gap before the oldest held packet. */
  private skipGap(): void {
    let next = -1;
    let best = Infinity;
    for (const s of this.held.keys()) {
      const d = seqDiff(this.expected, s);
      if (d < best) {
        best = d;
        next = s;
      }
    }
    if (next < 0) return;
    this.stats.lost += best;
    this.opts.onLoss(best);
    this.expected = next;
    this.drain();
  }

  private reset(seq: number, packet: T): void {
    this.stats.resets++;
    this.flush();
    this.deliver(seq, packet);
  }
}
