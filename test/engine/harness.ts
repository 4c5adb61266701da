import { DEFAULT_SETTINGS } from '../../core/config/normalize.js';
import type { AudioFrame } from '../../core/audio/frame.js';
import { PacerClock } from '../../core/audio/pacer.js';
import { Outbound } from '../../core/engine/outbound.js';
import type { BotTurnState } from '../../core/engine/turn-controller.js';
import type { MediaPort } from '../../core/plugins/media-port.js';
import type { Settings } from '../../core/config/types.js';
import type { CallEvent } from '../../core/engine/events.js';
import { createCallSession, type CallEngine, type CallSessionOptions } from '../../core/engine/call-engine.js';
import { silentLogger } from '../../core/logging.js';
import type { Clock } from '../../core/time/clock.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import type { LlmPlugin } from '../../core/plugins/llm.js';
import type { SttPlugin } from '../../core/plugins/stt.js';
import type { CallerSide } from '../../core/plugins/telephony.js';
import type { TtsPlugin } from '../../core/plugins/tts.js';
import { EnergyVad } from '../../plugins/energy/vad.js';
import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { TestCaller } from './caller.js';

export function settings(over: Partial<Settings> & { endOfSpeech?: number; maxCall?: number; minSpeechMs?: number; bargeIn?: Settings['bargeIn'] } = {}): Settings {
  return {
    language: 'en-US',
    bargeIn: over.bargeIn ?? { enabled: true, minSpeechMs: over.minSpeechMs ?? 300 },
    timeouts: { noInput: 5000, endOfSpeech: over.endOfSpeech ?? 400, maxCall: over.maxCall ?? 60_000 },
    recording: over.recording ?? { enabled: false, dir: '' },
    sampleRate: over.sampleRate ?? 16000,
    server: { host: '127.0.0.1', port: 0 },
    fleet: DEFAULT_SETTINGS('.').fleet,
  };
}

export interface Plugins {
  stt?: SttPlugin;
  llm?: LlmPlugin;
  tts?: TtsPlugin;
}

export interface TestCall {
  side: CallerSide;
  caller: TestCaller;
  session: CallEngine;
  events: CallEvent[];
}

/**
 * Mock telephony whose inbound calls each get a call engine with the given
 * plugins, all on one clock: virtual by default (the test caller, the pacer,
 * the engine's timers and the mock plugins' delays jump together, so a test
 * is as fast and as deterministic under CPU load as when idle).
 */
export class Rig {
  readonly telephony: MockTelephony;
  readonly time: Clock;
  readonly clock: PacerClock;
  readonly sessions: CallEngine[] = [];
  private readonly waiting = new Map<string, (s: CallEngine, events: CallEvent[]) => void>();

  constructor(
    readonly opts: {
      rate?: number;
      codec?: 'pcmu' | 'pcma' | 'l16';
      settings?: Settings;
      /** Plugins of call `callIndex`; build mocks with `clock` so their delays run on the rig's time. */
      plugins?: (callIndex: number, clock: Clock) => Plugins;
      session?: Partial<CallSessionOptions>;
      /** Default: a VirtualClock. */
      time?: Clock;
    } = {},
  ) {
    this.time = opts.time ?? new VirtualClock();
    this.clock = new PacerClock(20, this.time);
    this.telephony = new MockTelephony({ codec: opts.codec ?? 'pcmu', sampleRate: opts.rate ?? 8000 }, { clock: this.time });
  }

  async init(): Promise<this> {
    await this.telephony.listen({
      onIncomingCall: (call) => {
        void call.answer().then((leg) => {
          const idx = this.sessions.length;
          const t = this.time;
          const p = this.opts.plugins?.(idx, t) ?? { stt: new MockStt({}, { clock: t }), llm: new MockLlm({}, { clock: t }), tts: new MockTts({}, { clock: t }) };
          const session = createCallSession({
            leg,
            plugins: { vad: new EnergyVad(), ...p },
            settings: this.opts.settings ?? settings(),
            logger: silentLogger(),
            clock: this.clock,
            flowName: 'test',
            ...this.opts.session,
          });
          const events: CallEvent[] = [];
          session.on((e) => events.push(e));
          this.sessions.push(session);
          session.start();
          this.waiting.get(leg.info.id)?.(session, events);
        });
      },
    });
    return this;
  }

  async call(): Promise<TestCall> {
    const side = this.telephony.placeCall({ sampleRate: this.opts.rate ?? 8000 });
    const { session, events } = await new Promise<{ session: CallEngine; events: CallEvent[] }>((resolve) =>
      this.waiting.set(side.callId, (session, events) => resolve({ session, events })),
    );
    this.waiting.delete(side.callId);
    const caller = new TestCaller(side, this.clock).start();
    return { side, caller, session, events };
  }

  async stop(): Promise<void> {
    await this.telephony.stop();
    if (this.time instanceof VirtualClock) this.time.dispose();
  }
}

export function ofType<T extends CallEvent['type']>(events: CallEvent[], type: T): Extract<CallEvent, { type: T }>[] {
  return events.filter((e): e is Extract<CallEvent, { type: T }> => e.type === type);
}

/**
 * `base`, except that every `everyN`-th timer fires `lateMs` late: a loaded
 * event loop, reproduced exactly (on a virtual base, deterministically).
 */
export function jitteryClock(base: Clock, everyN: number, lateMs: number): Clock {
  let n = 0;
  return {
    now: () => base.now(),
    wallNow: () => base.wallNow(),
    setTimeout: (fn, ms) => base.setTimeout(fn, ++n % everyN === 0 ? ms + lateMs : ms),
    clearTimeout: (h) => base.clearTimeout(h),
    sleep: (ms, signal) => base.sleep(ms, signal),
    hold: base.hold ? () => base.hold!() : undefined,
    virtual: base.virtual,
  };
}

/** An Outbound on a fake 8 kHz media port and a virtual clock: what went to the wire, what it published. */
export function outboundRig() {
  const time = new VirtualClock();
  const pacer = new PacerClock(20, time);
  const wire: number[] = [];
  let clears = 0;
  const media: MediaPort = {
    inputRate: 8000,
    outputRate: 8000,
    frameMs: 20,
    setReceiver: () => {},
    write: (f: AudioFrame) => void wire.push(f.samples.length),
    clear: () => void clears++,
  };
  const states: BotTurnState[] = [];
  const out = new Outbound({ media, frameMs: 20, clock: pacer, bargeInDefault: true, onWire: () => {}, onState: (s) => states.push(s), fail: (e) => { throw e; } });
  out.start();
  return { time, out, wire, states, clears: () => clears };
}
