import { BeepDetector, type Beep } from './beep.js';

/**
 * Answering-machine detection over the callee's audio after an outbound call
 * is answered. Pure and clock-driven: frames carry their own time (ms since
 * the answer) and `tick(now)` advances time when no frame arrives, so the same
 * input always gives the same decision at the same time.
 *
 * People answer with a short greeting ("Hello?", "Hi, this is Ann") and then
 * wait; a machine plays a long, continuous greeting and then a beep. So:
 * - speech, then `afterGreetingSilenceMs` of silence, with the greeting
 *   shorter than `maxHumanGreetingMs` → human;
 * - speech that runs past `maxHumanGreetingMs` without such a pause → machine;
 * - a transcript with a machine phrase ("leave a message", "not available") →
 *   machine at once; nothing decided by `timeoutMs` → unknown.
 * After "machine" it listens for the beep (BeepDetector) so the message starts
 * after it; without a beep it goes on after `silenceAfterGreetingMs` of
 * silence or at `beepTimeoutMs`.
 */
export enum AmdState {
  /** Waiting for the greeting to tell. */
  Listening = 'listening',
  /** Machine decided; waiting for the beep. */
  AwaitingBeep = 'awaiting-beep',
  Done = 'done',
}

const ALLOWED: Record<AmdState, readonly AmdState[]> = {
  [AmdState.Listening]: [AmdState.AwaitingBeep, AmdState.Done],
  [AmdState.AwaitingBeep]: [AmdState.Done],
  [AmdState.Done]: [],
};

export type AmdDecision = 'human' | 'machine' | 'unknown';

export interface AmdResult {
  outcome: AmdDecision;
  /** ms after the answer when human/machine/unknown was decided. */
  decidedAtMs: number;
  /** ms after the answer when the flow may go on (after the beep for a machine). */
  readyAtMs: number;
  /** Why, in a few words (for logs and the API). */
  reason: string;
  beep?: Beep;
  /** Speech heard before the decision, ms. */
  greetingMs: number;
}

export interface AmdOptions {
  sampleRate: number;
  /** Decide by then, else unknown (default 5000). */
  timeoutMs?: number;
  /** After a machine: wait this long for the beep (default 20000). */
  beepTimeoutMs?: number;
  /** Longest greeting a person says before pausing (default 1800). */
  maxHumanGreetingMs?: number;
  /** Pause after a greeting that means "your turn" (default 700). */
  afterGreetingSilenceMs?: number;
  /** Machine without a beep: go on after this much silence following its greeting (default 2500). */
  silenceAfterGreetingMs?: number;
  /** Speech level over the noise floor, dB (default 9). */
  speechOverNoiseDb?: number;
}

/** Phrases only a recorded greeting says. */
export const MACHINE_PHRASES: readonly RegExp[] = [
  /\bleave (a|your|me a)? ?(message|name|number)/i,
  /\b(is )?not available\b/i,
  /\bunavailable\b/i,
  /\b(after|at) the (tone|beep)\b/i,
  /\bvoice ?mail\b/i,
  /\bmailbox\b/i,
  /\b(can'?t|cannot|unable to) (take|come to|answer) (your|the) (call|phone)\b/i,
  /\bget back to you\b/i,
  /\brecord your message\b/i,
];

export class AnsweringMachineDetector {
  private state = AmdState.Listening;
  private readonly o: Required<AmdOptions>;
  private readonly beep: BeepDetector;
  private noiseFloor = 0;
  private speechStartMs: number | undefined;
  private lastSpeechMs: number | undefined;
  private speechMs = 0;
  private decided: Omit<AmdResult, 'readyAtMs'> | undefined;
  private result: AmdResult | undefined;
  private onResult: ((r: AmdResult) => void) | undefined;
  private onDecision: ((r: Omit<AmdResult, 'readyAtMs'>) => void) | undefined;

  constructor(opts: AmdOptions) {
    this.o = {
      sampleRate: opts.sampleRate,
      timeoutMs: opts.timeoutMs ?? 5000,
      beepTimeoutMs: opts.beepTimeoutMs ?? 20_000,
      maxHumanGreetingMs: opts.maxHumanGreetingMs ?? 1800,
      afterGreetingSilenceMs: opts.afterGreetingSilenceMs ?? 700,
      silenceAfterGreetingMs: opts.silenceAfterGreetingMs ?? 2500,
      speechOverNoiseDb: opts.speechOverNoiseDb ?? 9,
    };
    this.beep = new BeepDetector({ sampleRate: opts.sampleRate });
  }

  get currentState(): AmdState {
    return this.state;
  }

  /** The final result once Done. */
  get done(): AmdResult | undefined {
    return this.result;
  }

  /** Called once when human/machine/unknown is known (before the beep). */
  onDecided(cb: (r: Omit<AmdResult, 'readyAtMs'>) => void): void {
    this.onDecision = cb;
    if (this.decided) cb(this.decided);
  }

  /** Called once when the flow may go on. */
  onDone(cb: (r: AmdResult) => void): void {
    this.onResult = cb;
    if (this.result) cb(this.result);
  }

  private transition(to: AmdState): void {
    if (!ALLOWED[this.state].includes(to)) throw new Error(`AMD: ${this.state} → ${to} is not a valid move`);
    this.state = to;
  }

  /** One frame of callee audio; `atMs` is the frame's start, ms since the answer. */
  pushFrame(samples: Int16Array, atMs: number): void {
    if (this.state === AmdState.Done) return;
    const frameMs = (samples.length * 1000) / this.o.sampleRate;
    const end = atMs + frameMs;
    if (this.state === AmdState.AwaitingBeep) {
      const b = this.beep.push(samples, frameMs);
      if (b) return this.finish(end, 'beep', b);
    }
    let energy = 0;
    for (let i = 0; i < samples.length; i++) energy += samples[i]! * samples[i]!;
    const rms = Math.sqrt(energy / Math.max(1, samples.length));
    const speech = this.isSpeech(rms);
    if (speech) {
      this.speechStartMs ??= atMs;
      this.lastSpeechMs = end;
      this.speechMs += frameMs;
    }
    this.tick(end);
  }

  /**
   * Track the line's noise floor: it falls fast, follows quiet frames, and
   * hardly moves during speech, so a greeting that starts at once (no quiet
   * first frame) is still speech, and line noise never is.
   */
  private isSpeech(rms: number): boolean {
    const floor = this.noiseFloor || 100;
    const over = 20 * Math.log10(Math.max(rms, 1) / floor);
    const speech = over >= this.o.speechOverNoiseDb && rms > 100;
    if (rms < floor) this.noiseFloor = Math.max(30, 0.7 * floor + 0.3 * rms);
    else if (!speech) this.noiseFloor = 0.9 * floor + 0.1 * rms;
    else this.noiseFloor = floor * 1.001;
    return speech;
  }

  /** A transcript of the greeting (STT, when the call has one). */
  addTranscript(text: string, atMs: number): void {
    if (this.state !== AmdState.Listening) return;
    if (MACHINE_PHRASES.some((re) => re.test(text))) this.decide('machine', atMs, `greeting says "${text.trim().slice(0, 60)}"`);
  }

  /** Advance time to `nowMs` (ms since the answer) without audio. */
  tick(nowMs: number): void {
    if (this.state === AmdState.Listening) {
      const start = this.speechStartMs;
      const last = this.lastSpeechMs;
      if (start !== undefined && last !== undefined) {
        const span = last - start;
        const silence = nowMs - last;
        if (span >= this.o.maxHumanGreetingMs) return this.decide('machine', nowMs, `greeting longer than ${this.o.maxHumanGreetingMs} ms`);
        // Pauses between words are shorter than this; the one after a greeting is longer.
        if (silence >= this.o.afterGreetingSilenceMs) return this.decide('human', nowMs, `short greeting (${Math.round(span)} ms) then silence`);
      }
      if (nowMs >= this.o.timeoutMs) this.decide('unknown', nowMs, start === undefined ? 'no greeting heard' : 'greeting not decided in time');
      return;
    }
    if (this.state === AmdState.AwaitingBeep) {
      const d = this.decided!;
      const last = this.lastSpeechMs ?? d.decidedAtMs;
      if (nowMs - last >= this.o.silenceAfterGreetingMs && nowMs - d.decidedAtMs >= this.o.afterGreetingSilenceMs) {
        return this.finish(nowMs, 'no beep; silence after the greeting');
      }
      if (nowMs - d.decidedAtMs >= this.o.beepTimeoutMs) this.finish(nowMs, 'no beep before beepTimeout');
    }
  }

  private decide(outcome: AmdDecision, atMs: number, reason: string): void {
    const greetingMs = this.speechMs;
    this.decided = { outcome, decidedAtMs: atMs, reason, greetingMs };
    if (outcome === 'machine') {
      this.transition(AmdState.AwaitingBeep);
      this.onDecision?.(this.decided);
      return;
    }
    this.onDecision?.(this.decided);
    this.transition(AmdState.Done);
    this.result = { ...this.decided, readyAtMs: atMs };
    this.onResult?.(this.result);
  }

  private finish(atMs: number, why: string, beep?: Beep): void {
    const d = this.decided!;
    this.transition(AmdState.Done);
    this.result = { ...d, readyAtMs: atMs, reason: `${d.reason}; ${why}`, ...(beep ? { beep } : {}) };
    this.onResult?.(this.result);
  }
}
