import { describe, expect, it } from 'vitest';
import { PacerClock } from '../../core/audio/pacer.js';
import { createCallSession } from '../../core/engine/call-engine.js';
import { silentLogger } from '../../core/logging.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import type { VadDetector } from '../../core/plugins/vad.js';
import { EnergyVad } from '../../plugins/energy/vad.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { TestCaller } from './caller.js';
import { ofType, settings } from './harness.js';

class ExplodingVad extends EnergyVad {
  protected override _createDetector(): VadDetector {
    return {
      speaking: false,
      probability: 0,
      process: () => {
        throw new Error('vad blew up');
      },
      reset: () => {},
    };
  }
}

describe('call control and isolation', () => {
  it('a plugin throwing on the audio path ends only its own call', async () => {
    const time = new VirtualClock();
    const telephony = new MockTelephony({ codec: 'pcmu' }, { clock: time });
    const clock = new PacerClock(20, time);
    const sessions: ReturnType<typeof createCallSession>[] = [];
    await telephony.listen({
      onIncomingCall: (call) =>
        void call.answer().then((leg) => {
          const s = createCallSession({
            leg,
            plugins: { vad: sessions.length === 0 ? new ExplodingVad() : new EnergyVad(), stt: new MockStt({}, { clock: time }), llm: new MockLlm({}, { clock: time }), tts: new MockTts({}, { clock: time }) },
            settings: settings(),
            logger: silentLogger(),
            clock,
          });
          sessions.push(s);
          s.start();
        }),
    });
    const bad = telephony.placeCall();
    const good = telephony.placeCall();
    await Promise.all([bad.answered, good.answered]);
    await new Promise((r) => setImmediate(r));
    const badEvents: string[] = [];
    sessions[0].on((e) => badEvents.push(e.type === 'call.error' ? `${e.type}:${e.code}` : e.type));
    const badCaller = new TestCaller(bad, clock).start();
    const goodCaller = new TestCaller(good, clock).start();
    expect(await bad.ended).toBe('error');
    expect(badEvents).toContain('call.error:VB_ERR_PROVIDER');
    const l = sessions[1].listen({ input: ['speech'], timeoutMs: 5000 });
    await goodCaller.say('still here');
    expect(await l).toEqual({ type: 'speech', text: 'still here' });
    await sessions[1].hangup();
    badCaller.stop();
    goodCaller.stop();
    await telephony.stop();
    time.dispose();
  });

  it('transfers: a failed transfer keeps the call, a good one ends it', async () => {
    const time = new VirtualClock();
    const telephony = new MockTelephony({ codec: 'pcmu', failTransfersTo: ['+1999'], transferLatencyMs: 800 }, { clock: time });
    const clock = new PacerClock(20, time);
    let session: ReturnType<typeof createCallSession> | undefined;
    const events: { type: string }[] = [];
    await telephony.listen({
      onIncomingCall: (call) =>
        void call.answer().then((leg) => {
          session = createCallSession({ leg, plugins: { vad: new EnergyVad(), tts: new MockTts({}, { clock: time }) }, settings: settings(), logger: silentLogger(), clock });
          session.on((e) => events.push(e));
          session.start();
        }),
    });
    const side = telephony.placeCall();
    await side.answered;
    await new Promise((r) => setImmediate(r));
    await expect(session!.transfer('+1999')).rejects.toMatchObject({ code: 'VB_ERR_TRANSFER_FAILED' });
    expect(session!.ended).toBe(false);
    await session!.transfer('+1555');
    expect(await side.ended).toBe('transferred');
    expect(side.transfers).toEqual(['+1555']);
    expect(session!.ended).toBe(true);
    expect(ofType(events as never, 'call.transferred')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'call.ended', reason: 'transferred' });
    // Two transfers, each with the line's modelled latency, in virtual time.
    expect(time.now()).toBeGreaterThanOrEqual(1600);
    await telephony.stop();
    time.dispose();
  });
});
