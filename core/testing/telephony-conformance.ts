import { afterEach, beforeEach, describe, expect } from 'vitest';
import type { AudioFrame } from '../audio/frame.js';
import type { CallerSide, CallLeg, IncomingCall, TelephonyPlugin } from '../plugins/telephony.js';
import { encodeMockSpeech, decodeMockSpeech } from '../audio/mock-speech.js';
import { caseFor, expectCodedError, type Skips } from './common.js';

export interface TelephonyFixture {
  plugin: TelephonyPlugin;
  /** Places an inbound call at the far end (defaults to plugin.placeCall). */
  placeCall?: () => Promise<CallerSide> | CallerSide;
  cleanup?: () => Promise<void>;
}

async function until<T>(f: () => T | undefined, ms = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Writes audio to a frame sink in 20 ms frames, as fast as the sink takes them. */
function sendFrames(audio: Int16Array, rate: number, write: (f: AudioFrame) => void): void {
  const n = rate / 50;
  for (let i = 0; i + n <= audio.length; i += n) write({ samples: audio.subarray(i, i + n), sampleRate: rate, timestampMs: (i / rate) * 1000 });
}

export function describeTelephonyConformance(name: string, factory: () => Promise<TelephonyFixture>, skips?: Skips): void {
  describe(`telephony conformance: ${name}`, () => {
    let fx: TelephonyFixture;
    let offered: IncomingCall[];
    const test = caseFor(skips);

    beforeEach(async () => {
      fx = await factory();
      offered = [];
      await fx.plugin.listen({ onIncomingCall: (c) => offered.push(c) });
    });
    afterEach(async () => {
      await fx.plugin.stop();
      await fx.cleanup?.();
    });

    const place = async (): Promise<{ caller: CallerSide; call: IncomingCall }> => {
      const caller = await (fx.placeCall ? fx.placeCall() : fx.plugin.placeCall());
      const call = await until(() => offered[0]);
      return { caller, call };
    };

    test('offers an inbound call with its numbers and answers it exactly once', async () => {
      const { caller, call } = await place();
      expect(call.info.id).toBeTruthy();
      expect(typeof call.info.from).toBe('string');
      expect(typeof call.info.to).toBe('string');
      const leg = await call.answer();
      await caller.answered;
      const second = await call.answer().catch((e) => e);
      expectCodedError(second, 'VB_ERR_CALL_ALREADY_ANSWERED');
      await leg.hangup();
    });

    test('carries audio both ways as PCM16 at the declared rates', async () => {
      const { caller, call } = await place();
      const leg: CallLeg = await call.answer();
      await caller.answered;
      const toBot: Int16Array[] = [];
      leg.media.setReceiver((f) => {
        expect(f.sampleRate).toBe(leg.media.inputRate);
        toBot.push(f.samples.slice());
      });
      const toCaller: Int16Array[] = [];
      caller.setReceiver((f) => toCaller.push(f.samples.slice()));
      const rIn = caller.sampleRate;
      const said = new Int16Array(encodeMockSpeech('from caller', rIn).length + rIn / 2);
      said.set(encodeMockSpeech('from caller', rIn), rIn / 10);
      sendFrames(said, rIn, (f) => caller.write(f));
      const rOut = leg.media.outputRate;
      const reply = new Int16Array(encodeMockSpeech('from bot', rOut).length + rOut / 2);
      reply.set(encodeMockSpeech('from bot', rOut), rOut / 10);
      sendFrames(reply, rOut, (f) => leg.media.write(f));
      const join = (xs: Int16Array[]): Int16Array => Int16Array.from(xs.flatMap((x) => [...x]));
      await until(() => (decodeMockSpeech(join(toBot), leg.media.inputRate) === 'from caller' ? true : undefined));
      await until(() => (decodeMockSpeech(join(toCaller), caller.sampleRate) === 'from bot' ? true : undefined));
      await leg.hangup();
    });

    test('delivers caller DTMF and records DTMF the bot sends', async () => {
      const { caller, call } = await place();
      const leg = await call.answer();
      await caller.answered;
      const digits: string[] = [];
      leg.onDtmf((d) => digits.push(d));
      caller.pressDtmf('12#');
      await until(() => (digits.length === 3 ? true : undefined));
      expect(digits.join('')).toBe('12#');
      if (fx.plugin.capabilities.sendDtmf) {
        await leg.sendDtmf('9');
        expect(caller.sentDtmf.join('')).toContain('9');
      }
      await leg.hangup();
    });

    test('transfer ends the leg and reaches the far end', async () => {
      if (!fx.plugin.capabilities.transfer) return;
      const { caller, call } = await place();
      const leg = await call.answer();
      await caller.answered;
      await leg.transfer('+15550100');
      expect(await caller.ended).toBe('transferred');
      expect(caller.transfers).toContain('+15550100');
    });

    test('caller hangup fires onEnded once; methods then reject with VB_ERR_CALL_STATE', async () => {
      const { caller, call } = await place();
      const leg = await call.answer();
      await caller.answered;
      const ended: string[] = [];
      leg.onEnded((r) => ended.push(r));
      caller.hangup();
      await until(() => (ended.length ? true : undefined));
      expect(ended).toEqual(['caller-hangup']);
      expectCodedError(await leg.sendDtmf('1').catch((e) => e), 'VB_ERR_CALL_STATE');
      await leg.hangup(); // idempotent, no throw
    });

    test('stop() ends live calls and tells the engine with onEnded("shutdown")', async () => {
      const { caller, call } = await place();
      const leg = await call.answer();
      await caller.answered;
      const ended: string[] = [];
      leg.onEnded((r) => ended.push(r));
      await fx.plugin.stop();
      // The engine did not ask for this ending: without the notification its session would live on.
      expect(ended).toEqual(['shutdown']);
      expectCodedError(await leg.sendDtmf('1').catch((e) => e), 'VB_ERR_CALL_STATE');
    });

    test('bot hangup ends the call at the far end', async () => {
      const { caller, call } = await place();
      const leg = await call.answer();
      await caller.answered;
      await leg.hangup();
      expect(await caller.ended).toBe('bot-hangup');
    });
  });
}
