/**
 * Interruptions that forgive, through the real engine (mock telephony over
 * G.711, energy VAD, mock STT/TTS speaking mock speech) on the virtual
 * clock. What the caller heard is decoded from the audio it received, so
 * "nothing lost or repeated" means the decoder got the bot's sentence whole.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { InterruptionSettings } from '../../core/config/types.js';
import { InterruptionState, WordCounter, interruptionTransition, DEFAULT_INTERRUPTION } from '../../core/engine/interruption.js';
import type { AudioFrame } from '../../core/audio/frame.js';
import { PacerClock } from '../../core/audio/pacer.js';
import { Outbound } from '../../core/engine/outbound.js';
import type { Segment } from '../../core/engine/playback.js';
import type { MediaPort } from '../../core/plugins/media-port.js';
import type { Clock } from '../../core/time/clock.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { DEFAULT_SETTINGS } from '../../core/config/normalize.js';
import { Rig, ofType, settings } from './harness.js';

const SENTENCE = 'Thanks for calling the Acme help line, we are glad you are here.';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

function makeRig(over: { interruption?: Partial<InterruptionSettings>; minSpeechMs?: number; stt?: (clock: Clock) => MockStt } = {}): Promise<Rig> {
  const s = { ...settings({ minSpeechMs: over.minSpeechMs ?? DEFAULT_SETTINGS('.').bargeIn.minSpeechMs }), interruption: { ...DEFAULT_INTERRUPTION, ...over.interruption } };
  return new Rig({
    settings: s,
    plugins: (_i, clock) => ({ stt: over.stt?.(clock) ?? new MockStt({}, { clock }), llm: new MockLlm({}, { clock }), tts: new MockTts({}, { clock }) }),
  }).init();
}

/** White noise at `dbfs` RMS for `ms` (seeded, so every run is the same). */
function whiteNoise(ms: number, rate: number, dbfs: number): Int16Array {
  const a = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3);
  const out = new Int16Array(Math.round((rate * ms) / 1000));
  let seed = 12345;
  for (let i = 0; i < out.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    out[i] = Math.round(((seed / 0x7fffffff) * 2 - 1) * a);
  }
  return out;
}

/** A 1 kHz beep of `beepMs` every `everyMs` (a fake microphone's test tone), for `ms`. */
function beeps(ms: number, rate: number, beepMs: number, everyMs: number): Int16Array {
  const out = new Int16Array(Math.round((rate * ms) / 1000));
  const on = Math.round((rate * beepMs) / 1000);
  const period = Math.round((rate * everyMs) / 1000);
  for (let i = 0; i < out.length; i++) if (i % period < on) out[i] = Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * 1000 * i) / rate));
  return out;
}

describe('interruption policy parts', () => {
  it('counts words without backchannels, and not an interim word that may still become one', () => {
    const c = new WordCounter(DEFAULT_INTERRUPTION.backchannels);
    expect(c.count('Mhm.', false)).toBe(0);
    expect(c.count('uh huh, okay OK right', false)).toBe(0);
    expect(c.count('yeah stop', false)).toBe(1);
    expect(c.count('m', true)).toBe(0); // could be "mhm"
    expect(c.count('s', true)).toBe(1); // no backchannel starts with it
    expect(c.count('ye', true)).toBe(0);
    expect(c.count('yes', true)).toBe(1);
    expect(c.count('okay', false, true)).toBe(1); // the step lets backchannels count
  });

  it('has one transition guard', () => {
    expect(interruptionTransition(InterruptionState.Idle, InterruptionState.Paused)).toBe(InterruptionState.Paused);
    expect(() => interruptionTransition(InterruptionState.Idle, InterruptionState.Resumed)).toThrow(/illegal/);
    expect(() => interruptionTransition(InterruptionState.Confirmed, InterruptionState.Paused)).toThrow(/illegal/);
    expect(() => interruptionTransition(InterruptionState.Resumed, InterruptionState.Paused)).toThrow(/illegal/);
  });
});

describe('pause and resume on the outbound stream', () => {
  it('resumes at the very sample it paused at: the wire carries the queued audio once, in order, with no frame sent while paused', async () => {
    const time = new VirtualClock();
    const pacer = new PacerClock(20, time);
    const wire: number[] = [];
    const media: MediaPort = { inputRate: 8000, outputRate: 8000, frameMs: 20, setReceiver: () => {}, write: (f: AudioFrame) => void wire.push(...f.samples), clear: () => {} };
    const out = new Outbound({ media, frameMs: 20, clock: pacer, bargeInDefault: true, onWire: () => {}, onState: () => {}, fail: (e) => { throw e; } });
    out.start();
    const pb = out.begin(true);
    const seg: Segment = { text: 'one two three', round: 0, startMs: -1, durationMs: 0, words: [], complete: true };
    pb.segments.push(seg);
    const audio = new Int16Array(8000).map((_, i) => (i % 32000) + 1); // 1 s, every sample distinct
    out.append(pb, seg, audio, 8000);
    await time.sleep(210);
    out.hold(pb, 'pause');
    const atPause = wire.length;
    await time.sleep(500);
    expect(wire.length).toBe(atPause);
    expect(out.heardMs).toBe((atPause / 8000) * 1000);
    out.resume(pb);
    await out.waitPlayed(pb);
    expect(wire).toEqual([...audio]);
    out.finish(pb);
    expect(pb.playedText()).toBe('one two three');
    time.dispose();
  });
});

describe('interruptions that forgive (real engine, virtual clock)', () => {
  it('"mhm" during the bot\'s sentence does not stop it: the bot pauses until the backchannel\'s final and goes on, nothing lost or repeated', async () => {
    rig = await makeRig();
    const { caller, session, events } = await rig.call();
    const saying = session.say(SENTENCE);
    await caller.afterLoudFrames(40);
    await caller.say('mhm');
    const r = await saying;
    expect(r).toEqual({ interrupted: false, playedText: SENTENCE });
    await caller.waitHeard((h) => h.length >= 1);
    expect(caller.heard).toEqual([SENTENCE]);
    const paused = ofType(events, 'bot.paused');
    const resumed = ofType(events, 'bot.resumed');
    expect(paused).toHaveLength(1);
    expect(resumed).toHaveLength(1);
    // Paused from the onset to the backchannel's final at the utterance's endpoint
    // (its end + VAD hangover + endOfSpeech 400 ms): before the 1 s window ran out.
    expect(resumed[0].pausedMs).toBeGreaterThan(0);
    expect(resumed[0].pausedMs).toBeLessThan(DEFAULT_INTERRUPTION.falseInterruptionMs);
    expect(ofType(events, 'bot.interrupted')).toEqual([]);
    // The backchannel is not a turn either.
    expect(await session.listen({ input: ['speech'], timeoutMs: 600 })).toEqual({ type: 'timeout' });
    caller.stop();
  });

  it('in duck mode "mhm" never silences the bot: it plays on at a quarter of its level while the caller speaks', async () => {
    rig = await makeRig({ interruption: { mode: 'duck' } });
    const { caller, session, events } = await rig.call();
    const saying = session.say(SENTENCE);
    await caller.afterLoudFrames(40);
    const before = caller.framesIn;
    await caller.say('mhm');
    expect(await saying).toEqual({ interrupted: false, playedText: SENTENCE });
    await caller.waitHeard((h) => h.length >= 1);
    expect(caller.heard).toEqual([SENTENCE]);
    expect(ofType(events, 'bot.paused').map((e) => e.mode)).toEqual(['duck']);
    // Frames kept coming while the caller spoke; the loudest of them were ducked.
    const during = caller.peaksIn.slice(before, before + 20);
    expect(during.length).toBe(20);
    const full = Math.max(...caller.peaksIn.slice(0, before));
    expect(Math.min(...during.filter((p) => p > 0).slice(-5))).toBeLessThan(full * 0.3);
    caller.stop();
  });

  it('a cough followed by silence pauses the bot, which resumes after falseInterruption where it paused', async () => {
    rig = await makeRig();
    const { caller, session, events } = await rig.call();
    const saying = session.say(SENTENCE);
    await caller.afterLoudFrames(40);
    await caller.noise(400);
    const r = await saying;
    expect(r).toEqual({ interrupted: false, playedText: SENTENCE });
    await caller.waitHeard((h) => h.length >= 1);
    expect(caller.heard).toEqual([SENTENCE]);
    const [p] = ofType(events, 'bot.paused');
    const [res] = ofType(events, 'bot.resumed');
    expect(p).toBeDefined();
    expect(res.pausedMs).toBe(1000);
    expect(res.t - p.t).toBe(1000);
    caller.stop();
  });

  it('real speech stops the bot within 300 ms of its onset and is the next turn', async () => {
    rig = await makeRig();
    const { caller, session, events } = await rig.call();
    const saying = session.say(SENTENCE);
    await caller.afterLoudFrames(40);
    const from = caller.loudOutAt.length;
    const speaking = caller.say('stop please');
    const r = await saying;
    expect(r.interrupted).toBe(true);
    await rig.time.sleep(500);
    const firstVoiced = caller.loudOutAt[from];
    const stoppedAfter = caller.lastLoudInAt - firstVoiced;
    expect(stoppedAfter).toBeLessThanOrEqual(300);
    expect(ofType(events, 'bot.interrupted')).toHaveLength(1);
    expect(ofType(events, 'bot.interrupted')[0].heard).toBe(r.playedText);
    expect(await session.listen({ input: ['speech'], timeoutMs: 5000 })).toEqual({ type: 'speech', text: 'stop please' });
    await speaking;
    caller.stop();
  });

  it('4 s of white noise at −25 dBFS from the start does not cut the greeting: it is heard in full, ≥ 3 s of it within 7 s', async () => {
    rig = await makeRig();
    const { caller, session, events } = await rig.call();
    const t0 = rig.time.now();
    void caller.play(whiteNoise(4000, caller.rate, -25));
    const r = await session.say(SENTENCE);
    expect(r).toEqual({ interrupted: false, playedText: SENTENCE });
    await caller.waitHeard((h) => h.length >= 1);
    expect(caller.heard).toEqual([SENTENCE]);
    // Frames are 20 ms: the bot audio the caller got in the first 7 s.
    expect(ofType(events, 'bot.resumed').length).toBeGreaterThanOrEqual(1);
    expect(ofType(events, 'bot.interrupted')).toEqual([]);
    expect(caller.lastLoudInAt - t0).toBeGreaterThan(3000);
    caller.stop();
  });

  it('noise that comes and goes pauses the bot once per prompt: after a false interruption only words stop it', async () => {
    rig = await makeRig();
    const { caller, session, events } = await rig.call();
    const saying = session.say(SENTENCE);
    await caller.afterLoudFrames(20);
    const burst = whiteNoise(700, caller.rate, -25);
    const gap = new Int16Array(Math.round(caller.rate * 1.2));
    for (let i = 0; i < 3; i++) {
      void caller.play(burst);
      void caller.play(gap);
    }
    expect(await saying).toEqual({ interrupted: false, playedText: SENTENCE });
    await caller.waitHeard((h) => h.length >= 1);
    expect(caller.heard).toEqual([SENTENCE]);
    expect(ofType(events, 'bot.paused')).toHaveLength(1);
    caller.stop();
  });

  it('60 ms beeps every 500 ms never add up to an onset: the bot does not even pause', async () => {
    rig = await makeRig();
    const { caller, session, events } = await rig.call();
    void caller.play(beeps(4000, caller.rate, 60, 500));
    const r = await session.say(SENTENCE);
    expect(r).toEqual({ interrupted: false, playedText: SENTENCE });
    await caller.waitHeard((h) => h.length >= 1);
    expect(caller.heard).toEqual([SENTENCE]);
    expect(ofType(events, 'bot.paused')).toEqual([]);
    caller.stop();
  });

  it('a step that lets backchannels count is stopped by "okay"; without it "okay" does not stop the bot', async () => {
    rig = await makeRig();
    const { caller, session, events } = await rig.call();
    let saying = session.say(SENTENCE);
    await caller.afterLoudFrames(40);
    await caller.say('okay');
    expect(await saying).toEqual({ interrupted: false, playedText: SENTENCE });

    saying = session.say(SENTENCE, { bargeIn: { backchannels: true } });
    await caller.afterLoudFrames(40);
    await caller.say('okay');
    const r = await saying;
    expect(r.interrupted).toBe(true);
    expect(ofType(events, 'bot.interrupted')).toHaveLength(1);
    expect(await session.listen({ input: ['speech'], timeoutMs: 5000 })).toEqual({ type: 'speech', text: 'okay' });
    caller.stop();
  });

  it('with a batch STT the transcript decides when it arrives: noise resumes the bot, words stop it', async () => {
    class BatchStt extends MockStt {
      override readonly capabilities = { streaming: false, interimResults: false, sampleRates: [8000, 16000] };
    }
    rig = await makeRig({ interruption: { falseInterruptionMs: 3000 }, stt: (clock) => new BatchStt({ latencyMs: 200 }, { clock }, 'batch') });
    const { caller, session, events } = await rig.call();
    let saying = session.say(SENTENCE);
    await caller.afterLoudFrames(40);
    await caller.noise(400);
    expect(await saying).toEqual({ interrupted: false, playedText: SENTENCE });
    const [res] = ofType(events, 'bot.resumed');
    // 400 ms endOfSpeech + 200 ms STT after the noise, not the 3 s window.
    expect(res.pausedMs).toBeLessThan(1000);

    saying = session.say(SENTENCE);
    await caller.afterLoudFrames(40);
    void caller.say('stop please');
    expect((await saying).interrupted).toBe(true);
    expect(await session.listen({ input: ['speech'], timeoutMs: 5000 })).toEqual({ type: 'speech', text: 'stop please' });
    caller.stop();
  });
});
