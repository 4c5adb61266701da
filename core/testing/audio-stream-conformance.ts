import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { AudioStreamPlugin } from '../plugins/audio-stream.js';
import type { CallLeg, IncomingCall, TelephonyPlugin } from '../plugins/telephony.js';
import { caseFor, type Skips } from './common.js';

export interface AudioStreamFixture {
  plugin: AudioStreamPlugin;
  /**
   * Where the calls come from: a telephony plugin that can place simulated
   * inbound calls at 16 kHz L16 (capabilities.placeCalls), e.g. voicebot's
   * `mock` provider with `{ codec: 'l16' }`.
   */
  telephony: TelephonyPlugin;
  cleanup?: () => Promise<void>;
}

export function describeAudioStreamConformance(name: string, factory: () => Promise<AudioStreamFixture>, skips?: Skips): void {
  describe(`audioStream conformance: ${name}`, () => {
    let fx: AudioStreamFixture;
    let tel: TelephonyPlugin;
    const offered: IncomingCall[] = [];
    beforeAll(async () => {
      fx = await factory();
      tel = fx.telephony;
      await fx.plugin.start();
      await tel.listen({ onIncomingCall: (c) => offered.push(c) });
    });
    afterAll(async () => {
      await tel.stop();
      await fx.plugin.stop();
      await fx.cleanup?.();
    });
    const test = caseFor(skips);

    test('attach delivers frames both ways with the call info intact', async () => {
      const caller = tel.placeCall({ sampleRate: 16000 });
      const leg: CallLeg = await fx.plugin.attach(await offered.shift()!.answer());
      expect(leg.info.id).toBe(caller.callId);
      const up: number[] = [];
      const down: number[] = [];
      leg.media.setReceiver((f) => up.push(f.samples[0]));
      caller.setReceiver((f) => down.push(f.samples[0]));
      for (let i = 1; i <= 5; i++) caller.write({ samples: new Int16Array(320).fill(i * 100), sampleRate: 16000, timestampMs: i * 20 });
      for (let i = 1; i <= 5; i++) leg.media.write({ samples: new Int16Array(leg.media.outputRate / 50).fill(-i * 100), sampleRate: leg.media.outputRate, timestampMs: i * 20 });
      for (let t = 0; t < 200 && (up.length < 5 || down.length < 5); t++) await new Promise((r) => setTimeout(r, 5));
      expect(up).toEqual([100, 200, 300, 400, 500]);
      expect(down).toEqual([-100, -200, -300, -400, -500]);
      await leg.hangup();
      expect(await caller.ended).toBe('bot-hangup');
    });
  });
}
