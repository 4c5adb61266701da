import type { Clock, TimerHandle } from '../time/clock.js';
import type { ListenOptions, ListenResult } from './session-api.js';

/** Results waiting for a listen(); older ones are dropped. */
const MAX_QUEUED_RESULTS = 4;
const MAX_DTMF_BUFFER = 32;

/** What the bot's side tells the turn controller (it never reads outbound state itself). */
export interface BotTurnState {
  /** A bot utterance is under way (synthesizing or playing) and not stopped. */
  speaking: boolean;
  /** The caller may cut it off. */
  bargeIn: boolean;
}

/** Barge-in policy: the caller has spoken over a bot turn that allows it for long enough. */
export function shouldBargeIn(bot: BotTurnState, voicedMs: number, minSpeechMs: number): boolean {
  return bot.speaking && bot.bargeIn && voicedMs >= minSpeechMs;
}

/** One caller utterance from VAD onset to its final transcript. */
export interface Utterance {
  seq: number;
  startedDuringBot: boolean;
  cutIn: boolean;
  speechEndAt: number;
  endpointAt: number;
  discard: boolean;
}

export interface TurnControllerHost {
  /** The call's clock (callClock: a throwing timer callback ends the call). */
  clock: Clock;
  minSpeechMs: number;
  /** ms without a new key before collected digits are delivered. */
  interDigitMs: number;
  /** Stop the bot and cancel its turn (the caller cut in). */
  bargeIn(): void;
  /** A turn's final, non-empty text (the host emits caller.said, opens turn metrics). */
  callerSaid(text: string, u: Utterance): void;
  /** Hotkeys of the flow (one handler per call): true consumes the digit. */
  hotkey?(digit: string): boolean;
}

interface PendingListen {
  opts: ListenOptions;
  resolve: (r: ListenResult) => void;
  reject: (e: unknown) => void;
  timer: TimerHandle | undefined;
  digitTimer: TimerHandle | undefined;
  digits: string;
  offAbort: () => void;
}

/**
 * Who has the floor: the listen() queue, the no-input and inter-digit
 * timers, the DTMF collector, and the barge-in decision. Fed by caller
 * input (speech start/voiced/endpoint, finals, digits) and by the bot's
 * side (BotTurnState); acts through its host.
 */
export class TurnController {
  private bot: BotTurnState = { speaking: false, bargeIn: false };
  private utter: Utterance | undefined;
  private readonly utterances = new Map<number, Utterance>();
  private pending: PendingListen | undefined;
  private readonly results: ListenResult[] = [];
  private dtmfBuffer = '';
  private pendingSpeechError: unknown;
  private closed = false;

  constructor(private readonly host: TurnControllerHost) {}

  /** The bot's side changed (a playback began, stopped, or finished). */
  setBot(state: BotTurnState): void {
    this.bot = state;
  }

  get listening(): boolean {
    return this.pending !== undefined;
  }

  get hints(): readonly string[] | undefined {
    return this.pending?.opts.hints;
  }

  // ── caller speech ──────────────────────────────────────────────────────

  speechStart(seq: number): void {
    const u: Utterance = { seq, startedDuringBot: this.bot.speaking, cutIn: false, speechEndAt: 0, endpointAt: 0, discard: false };
    this.utter = u;
    this.utterances.set(seq, u);
    // The caller is speaking: the no-input clock stops.
    const pl = this.pending;
    if (pl?.timer) {
      this.host.clock.clearTimeout(pl.timer);
      pl.timer = undefined;
    }
  }

  voiced(voicedMs: number): void {
    if (!shouldBargeIn(this.bot, voicedMs, this.host.minSpeechMs)) return;
    if (this.utter) this.utter.cutIn = true;
    this.host.bargeIn();
  }

  /** The utterance ended; returns whether its text is to be ignored (speech over the bot that did not cut in). */
  endpoint(speechEndAt: number, endpointAt: number): boolean {
    const u = this.utter;
    this.utter = undefined;
    if (!u) return true;
    u.speechEndAt = speechEndAt;
    u.endpointAt = endpointAt;
    u.discard = u.startedDuringBot && !u.cutIn && this.bot.speaking;
    return u.discard;
  }

  final(seq: number, raw: string): void {
    const u = this.utterances.get(seq);
    this.utterances.delete(seq);
    if (this.closed || !u) return;
    const text = raw.trim();
    if (!text || u.discard) {
      this.restartNoInput();
      return;
    }
    this.host.callerSaid(text, u);
    this.deliver({ type: 'speech', text });
  }

  /** STT failed: a listen for speech rejects with it, else the next one does. */
  speechError(err: unknown): void {
    const pl = this.pending;
    if (pl && pl.opts.input.includes('speech')) this.settle(pl, undefined, err);
    else this.pendingSpeechError = err;
  }

  // ── DTMF ───────────────────────────────────────────────────────────────

  digit(d: string): void {
    if (this.closed) return;
    if (this.host.hotkey?.(d)) return;
    if (this.bot.speaking && this.bot.bargeIn) this.host.bargeIn();
    const pl = this.pending;
    if (pl && pl.opts.input.includes('dtmf')) this.listenDigit(pl, d);
    else if (this.dtmfBuffer.length < MAX_DTMF_BUFFER) this.dtmfBuffer += d;
  }

  // ── listen() ───────────────────────────────────────────────────────────

  /** Wait for the caller. Validation (call state, slots) is the caller's. */
  listen(opts: ListenOptions, endSignal: AbortSignal, onAbortReason: () => unknown): Promise<ListenResult> {
    const wantsSpeech = opts.input.includes('speech');
    if (wantsSpeech && this.pendingSpeechError !== undefined) {
      const err = this.pendingSpeechError;
      this.pendingSpeechError = undefined;
      return Promise.reject(err);
    }
    // Something the caller said or pressed before we asked (barge-in, type-ahead).
    while (this.results.length) {
      const r = this.results.shift()!;
      if ((r.type === 'speech' && wantsSpeech) || (r.type === 'dtmf' && opts.input.includes('dtmf'))) return Promise.resolve(r);
    }
    return new Promise<ListenResult>((resolve, reject) => {
      const pl: PendingListen = { opts, resolve, reject, timer: undefined, digitTimer: undefined, digits: '', offAbort: () => {} };
      this.pending = pl;
      const onAbort = (): void => this.settle(pl, undefined, opts.signal?.aborted ? opts.signal.reason : onAbortReason());
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      endSignal.addEventListener('abort', onAbort, { once: true });
      pl.offAbort = () => {
        opts.signal?.removeEventListener('abort', onAbort);
        endSignal.removeEventListener('abort', onAbort);
      };
      if (opts.input.includes('dtmf') && this.dtmfBuffer) {
        const typed = this.dtmfBuffer;
        this.dtmfBuffer = '';
        for (const d of typed) {
          if (this.pending !== pl) return;
          this.listenDigit(pl, d);
        }
        if (this.pending !== pl) return;
      }
      if (!this.utter && !pl.digits) pl.timer = this.timer(() => this.settle(pl, { type: 'timeout' }), opts.timeoutMs);
    });
  }

  /** The call ended: reject a waiting listen with `err`, drop timers and queues. */
  close(err: unknown): void {
    this.closed = true;
    if (this.pending) this.settle(this.pending, undefined, err);
    this.results.length = 0;
    this.utterances.clear();
  }

  private restartNoInput(): void {
    const pl = this.pending;
    if (!pl || pl.timer || pl.digits || this.utter) return;
    pl.timer = this.timer(() => this.settle(pl, { type: 'timeout' }), pl.opts.timeoutMs);
  }

  private settle(pl: PendingListen, result: ListenResult | undefined, error?: unknown): void {
    if (this.pending !== pl) return;
    this.pending = undefined;
    const c = this.host.clock;
    c.clearTimeout(pl.timer);
    c.clearTimeout(pl.digitTimer);
    pl.offAbort();
    if (result) pl.resolve(result);
    else pl.reject(error);
  }

  private deliver(r: ListenResult): void {
    const pl = this.pending;
    if (pl && ((r.type === 'speech' && pl.opts.input.includes('speech')) || (r.type === 'dtmf' && pl.opts.input.includes('dtmf')))) {
      this.settle(pl, r);
      return;
    }
    this.results.push(r);
    if (this.results.length > MAX_QUEUED_RESULTS) this.results.shift();
  }

  private listenDigit(pl: PendingListen, d: string): void {
    const c = this.host.clock;
    c.clearTimeout(pl.timer);
    pl.timer = undefined;
    c.clearTimeout(pl.digitTimer);
    pl.digitTimer = undefined;
    const { finishOnKey, numDigits } = pl.opts;
    if (finishOnKey && d === finishOnKey) {
      this.settle(pl, { type: 'dtmf', digits: pl.digits });
      return;
    }
    pl.digits += d;
    if (numDigits !== undefined && pl.digits.length >= numDigits) {
      this.settle(pl, { type: 'dtmf', digits: pl.digits });
      return;
    }
    pl.digitTimer = this.timer(() => this.settle(pl, { type: 'dtmf', digits: pl.digits }), this.host.interDigitMs);
  }

  private timer(fn: () => void, ms: number): TimerHandle {
    return this.host.clock.setTimeout(fn, ms);
  }
}
