import type { AudioBuffer, AudioFrame } from '../audio/frame.js';
import { FRAME_MS, samplesPerFrame } from '../audio/frame.js';
import type { Tickable } from '../audio/pacer.js';
import type { CallEvent } from '../engine/events.js';
import type { CallerSide, HangupReason, PlaceCallOptions, TelephonyPlugin } from '../plugins/telephony.js';
import { realClock, type Clock, type TimerHandle } from '../time/clock.js';

/** One thing the caller does when the bot listens. */
export type CallerTurn =
  | { say: string }
  | { dtmf: string }
  /** Stay quiet for one listening turn (the bot's noInput path). */
  | { silence: true }
  | { hangup: true };

/** Turns text into caller audio at the leg's rate (mock speech codec, or the configured TTS). */
export type CallerVoice = (text: string, sampleRate: number) => Promise<AudioBuffer>;

/** A call event plus the index of the caller turn it followed (-1: before the first turn; not `turn`, which turn.metrics uses). */
export type ObservedEvent = CallEvent & { callerTurn: number };

export interface ScriptedCallerOptions {
  telephony: TelephonyPlugin;
  /** Where events of every call arrive (VoicebotApp.onEvent). */
  onAppEvent: (listener: (ev: CallEvent) => void) => () => void;
  /** Paces caller audio like a phone: one frame per tick (VoicebotApp.clock). */
  clock: { add(t: Tickable): void; remove(t: Tickable): void };
  /** Time source of the idle timeout (default realClock; VoicebotApp.time in simulations). */
  time?: Clock;
  voice: CallerVoice;
  call?: PlaceCallOptions;
  /** Called for each event of this call, in order, as it happens. */
  onEvent?: (ev: ObservedEvent) => void;
  /** Every frame of bot audio that reaches the caller's ear. */
  onAudio?: (frame: AudioFrame) => void;
  /** Called when a turn is delivered (its index in delivery order). */
  onTurn?: (turn: CallerTurn, index: number) => void;
  /**
   * Hang up when nothing happened on the call for this long — a flow that
   * neither listens nor ends would otherwise keep a scripted run forever.
   */
  idleTimeoutMs?: number;
}

export interface ScriptedCallResult {
  callId: string;
  reason: HangupReason;
  events: ObservedEvent[];
  turnsDelivered: number;
}

const LEAD_IN_MS = 100;

/**
 * The far end of one simulated call, shared by `simulate`, `console` and
 * `test`. It behaves like a polite phone caller: it streams audio (silence
 * when not talking) at the real 20 ms pace, and speaks a queued turn only
 * when the bot is listening — the runner's `bot.listening` event, emitted
 * after the bot's audio played out. When the queue is empty and `finish()`
 * was called, the next time the bot listens (it has answered the last turn)
 * the caller hangs up.
 */
export class ScriptedCaller {
  readonly events: ObservedEvent[] = [];
  private readonly queue: CallerTurn[] = [];
  private side: CallerSide | undefined;
  private callId: string | undefined;
  private pending: CallEvent[] = [];
  private listening = false;
  private finishing = false;
  private delivering = false;
  private turnIndex = -1;
  private ended = false;
  private speech: Int16Array | undefined;
  private speechPos = 0;
  private speechDone: (() => void) | undefined;
  private frameNo = 0;
  private idleTimer: TimerHandle | undefined;
  private off: (() => void) | undefined;
  private pacer: Tickable | undefined;
  private frame: AudioFrame | undefined;

  constructor(private readonly opts: ScriptedCallerOptions) {}

  /** Place the call. Resolves with the result when the call has ended. */
  async run(): Promise<ScriptedCallResult> {
    // Subscribe before placing: the app may emit call.started while placeCall() runs.
    this.off = this.opts.onAppEvent((ev) => this.onAppEvent(ev));
    try {
      const side = this.opts.telephony.placeCall(this.opts.call ?? {});
      this.side = side;
      this.callId = side.callId;
      for (const ev of this.pending.splice(0)) this.onAppEvent(ev);
      this.bumpIdle();
      if (this.opts.onAudio) side.setReceiver(this.opts.onAudio);
      // A call no route accepts ends without ever being answered.
      const answered = await Promise.race([side.answered.then(() => true), side.ended.then(() => false)]);
      if (answered) this.startPacing(side);
      const reason = await side.ended;
      return { callId: side.callId, reason, events: this.events, turnsDelivered: this.turnIndex + 1 };
    } finally {
      this.stopAudio();
    }
  }

  /**
   * Stop observing the call. Separate from the end of run(): a hangup
   * handler still emits events after the call ended, and the owner decides
   * how long to wait for them (until VoicebotApp.stop()).
   */
  dispose(): void {
    this.stopAudio();
    this.off?.();
    this.off = undefined;
  }

  /** Add turns; one is delivered each time the bot listens. */
  push(...turns: CallerTurn[]): void {
    this.queue.push(...turns);
    if (this.listening) void this.deliver();
  }

  /** After the queued turns and the bot's answer to the last one, hang up. */
  finish(): void {
    this.finishing = true;
    if (this.listening) void this.deliver();
  }

  /**
   * Speak now, whether or not the bot is listening: barge in on a prompt.
   * Not a turn (scenario windows do not move); resolves when the words are
   * out. Ignored while the caller is already talking. Like a person who
   * just spoke, the caller then waits for the bot's next `bot.listening`
   * before its next queued turn: a listen that started while it was
   * talking receives these words.
   */
  async interrupt(text: string): Promise<void> {
    // Already talking (a turn or another interruption): one voice at a time.
    if (this.ended || !this.side || this.delivering) return;
    this.delivering = true;
    try {
      await this.speak(text);
    } finally {
      this.delivering = false;
      this.listening = false;
    }
  }

  /** Hang up now. */
  hangup(): void {
    if (!this.ended) this.side?.hangup();
  }

  private onAppEvent(ev: CallEvent): void {
    if (this.callId === undefined) {
      this.pending.push(ev);
      return;
    }
    if (ev.callId !== this.callId) return;
    const obs = { ...ev, callerTurn: this.turnIndex } as ObservedEvent;
    this.events.push(obs);
    this.opts.onEvent?.(obs);
    this.bumpIdle();
    if (ev.type === 'bot.listening') {
      this.listening = true;
      void this.deliver();
    } else if (ev.type === 'call.ended') {
      this.ended = true;
      this.listening = false;
    }
  }

  private async deliver(): Promise<void> {
    if (this.delivering || this.ended || !this.side) return;
    const turn = this.queue.shift();
    if (!turn) {
      if (this.finishing) {
        this.listening = false;
        this.side.hangup();
      }
      return;
    }
    this.listening = false;
    this.delivering = true;
    this.turnIndex++;
    try {
      this.opts.onTurn?.(turn, this.turnIndex);
      if ('say' in turn) await this.speak(turn.say);
      else if ('dtmf' in turn) this.side.pressDtmf(turn.dtmf);
      else if ('hangup' in turn) this.side.hangup();
      // silence: nothing — the bot's listen times out and it listens again.
    } finally {
      this.delivering = false;
    }
    // The bot may already be listening again (a dtmf turn answered at once).
    if (this.listening) void this.deliver();
  }

  private async speak(text: string): Promise<void> {
    const side = this.side!;
    const audio = await this.opts.voice(text, side.sampleRate);
    if (this.ended) return;
    // A little silence first, as a person takes a breath: VAD needs onset context.
    const lead = new Int16Array(samplesPerFrame(side.sampleRate, LEAD_IN_MS));
    const all = new Int16Array(lead.length + audio.samples.length);
    all.set(audio.samples, lead.length);
    await new Promise<void>((resolve) => {
      this.speech = all;
      this.speechPos = 0;
      this.speechDone = resolve;
    });
  }

  /** One frame per clock tick from answer to hangup: speech when talking, silence otherwise. */
  private startPacing(side: CallerSide): void {
    const n = samplesPerFrame(side.sampleRate);
    this.frame = { samples: new Int16Array(n), sampleRate: side.sampleRate, timestampMs: 0 };
    this.pacer = {
      tick: () => {
        if (this.ended) return;
        const f = this.frame!;
        f.samples.fill(0);
        if (this.speech) {
          const end = Math.min(this.speechPos + n, this.speech.length);
          f.samples.set(this.speech.subarray(this.speechPos, end));
          this.speechPos = end;
          if (end >= this.speech.length) {
            this.speech = undefined;
            const done = this.speechDone;
            this.speechDone = undefined;
            done?.();
          }
        }
        f.timestampMs = this.frameNo++ * FRAME_MS;
        try {
          side.write(f);
        } catch {
          // The leg closed between ticks; the ended promise settles the run.
        }
      },
    };
    this.opts.clock.add(this.pacer);
  }

  private bumpIdle(): void {
    const ms = this.opts.idleTimeoutMs;
    // After the call: events of a hangup handler must not re-arm it (it would hold the clock's next jump).
    if (!ms || this.ended) return;
    const time = this.opts.time ?? realClock;
    time.clearTimeout(this.idleTimer);
    this.idleTimer = time.setTimeout(() => this.hangup(), ms);
  }

  private stopAudio(): void {
    this.ended = true;
    (this.opts.time ?? realClock).clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.pacer) this.opts.clock.remove(this.pacer);
    this.pacer = undefined;
    this.speechDone?.();
  }
}
