import { describe, expect, it } from 'vitest';
import type { Playback, Segment } from '../../core/engine/playback.js';
import { outboundRig as rig } from './harness.js';

const seg = (): Segment => ({ text: 'one two three four', round: 0, startMs: -1, durationMs: 0, words: [], complete: true });

describe('Outbound', () => {
  it('plays queued audio at the frame pace; waitPlayed resolves when it played out', async () => {
    const r = rig();
    const pb = r.out.begin(undefined);
    expect(r.states.at(-1)).toEqual({ speaking: true, bargeIn: true });
    const s = seg();
    pb.segments.push(s);
    // 16 kHz in, resampled to the leg's 8 kHz: 200 ms.
    r.out.append(pb, s, new Int16Array(3200), 16000);
    expect(s.durationMs).toBe(200);
    const t0 = r.time.now();
    await r.out.waitPlayed(pb);
    expect(r.time.now() - t0).toBe(180); // the first frame goes out at once, the 10th 180 ms later
    expect(r.wire.length).toBe(10);
    r.out.finish(pb);
    expect(r.states.at(-1)).toEqual({ speaking: false, bargeIn: false });
    expect(pb.playedText()).toBe('one two three four');
  });

  it('stop() silences within the frame and keeps the heard position; a transport ack can lower it', async () => {
    const r = rig();
    const pb: Playback = r.out.begin(true);
    const s = seg();
    pb.segments.push(s);
    r.out.append(pb, s, new Int16Array(8000), 8000); // 1 s
    await r.time.sleep(490);
    r.out.setHeard(() => 300); // e.g. websocket marks acknowledged 300 ms so far
    r.out.stop(pb);
    expect(pb.heardUntilMs).toBe(300);
    expect(r.clears()).toBe(1);
    const sent = r.wire.length;
    await r.time.sleep(200);
    expect(r.wire.length).toBe(sent);
    // 300 of 1000 ms heard: the first of four words.
    expect(pb.playedText()).toBe('one');
  });
});
