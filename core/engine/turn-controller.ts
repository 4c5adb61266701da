import type { Clock, TimerHandle } from '../time/clock.js';
import { DEFAULT_INTERRUPTION, InterruptionPolicy, InterruptionState, WordCounter, type InterruptionOverride, type InterruptionSettings } from './interruption.js';
import type { ListenOptions, ListenResult } from './session-api.js';

/** Results waiting for a listen(); older ones are dropped. */
const MAX_QUEUED_RESULTS = 4;
const MAX_DTMF_BUFFER = 32;
/**
 * A pause between voiced frames longer than this starts a new run: a beep
 * every 500 ms never adds up to an onset, while the short gaps inside
 * speech do not break it.
 */
export const RUN_GAP_MS = 200;

/** What the bot's side tells the turn controller (it never reads outbound state itself). */
export interface BotTurnState {
  /** A bot utterance is under way (synthesizing or playing) and not stopped. */
  speaking: boolean;
  /** The caller may cut it off. */
  bargeIn: boolean;
  /** The step's own interruption rule (`bargeIn: { backchannels: true }`). */
  interruption?: InterruptionOverride;
}

/** Onset: the caller has spoken over a bot turn that allows it for long enough (one voiced run, ms). */
export function shouldBargeIn(bot: BotTurnState, runMs: number, minSpeechMs: number): boolean {
  return bot.speaking && bot.bargeIn && runMs >= minSpeechMs;
}

/** One caller utterance from VAD onset to its final transcript. */
export interface Utterance {
  seq: number;
  startedDuringBot: boolean;
  cutIn: boolean;
  speechEndAt: number;
  endpointAt: number;
  discard: boolean;
  /** Took part in an interruption of bot playback number `gen`. */
  joined: boolean;
  gen: number;
  /** Words counted so far (interims), backchannels excluded. */
  words: number;
  voicedMs: number;
  runStartAt: number;
  lastVoicedAt: number;
  /** The bot still held the floor when the utterance ended. */
  botAtEnd: boolean;
}

export interface TurnControllerHost {
  /** The call's clock (callClock: a throwing timer callback ends the call). */
  clock: Clock;
  /** Voiced run (ms) over the bot that is an onset (settings.bargeIn.minSpeechMs). */
  minSpeechMs: number;
  /** ms without a new key before collected digits are delivered. */
  interDigitMs: number;
  /** settings.turn.interruption (default DEFAULT_INTERRUPTION). */
  interruption?: InterruptionSettings;
  /** Stop the bot and cancel its turn (the caller cut in). */
  bargeIn(): void;
  /** An onset: pause (or duck) the bot where it is. */
  pauseBot?(mode: InterruptionSettings['mode']): void;
  /** A false interruption: the bot goes on where it paused. */
  resumeBot?(pausedMs: number): void;
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
  private readonly policy: InterruptionPolicy;
  private readonly counter: WordCounter;
  /** Bot playbacks so far: an utterance's part in an interruption is tied to one. */
  private gen = 0;
  /** The utterance that cut the bot off ended without a word, and no listen took that news yet. */
  private cutEmpty = false;

  constructor(private readonly host: TurnControllerHost) {
    const s = host.interruption ?? DEFAULT_INTERRUPTION;
    this.counter = new WordCounter(s.backchannels);
    this.policy = new InterruptionPolicy(s, {
      clock: host.clock,
      pause: (mode) => host.pauseBot?.(mode),
      resume: (ms) => host.resumeBot?.(ms),
      stop: () => this.stopBot(),
    });
  }

  /** The bot's side changed (a playback began, stopped, or finished). */
  setBot(state: BotTurnState): void {
    this.bot = state;
    if (!state.speaking) {
      // That playback's interruption is over, whatever state it was in.
      this.policy.reset();
      this.gen++;
    }
  }

  /** Where the current interruption is (tests, logs). */
  get interruption(): InterruptionState {
    return this.policy.current;
  }

  get listening(): boolean {
    return this.pending !== undefined;
  }

  get hints(): readonly string[] | undefined {
    return this.pending?.opts.hints;
  }

  // ── caller speech ──────────────────────────────────────────────────────

  speechStart(seq: number): void {
    const u: Utterance = {
      seq,
      startedDuringBot: this.bot.speaking,
      cutIn: false,
      speechEndAt: 0,
      endpointAt: 0,
      discard: false,
      joined: false,
      gen: this.gen,
      words: 0,
      voicedMs: 0,
      runStartAt: 0,
      lastVoicedAt: -Infinity,
      botAtEnd: false,
    };
    this.utter = u;
    this.cutEmpty = false;
    this.utterances.set(seq, u);
    // The caller is speaking: the no-input clock stops.
    const pl = this.pending;
    if (pl?.timer) {
      this.host.clock.clearTimeout(pl.timer);
      pl.timer = undefined;
    }
  }

  /** A voiced frame of the running utterance (`voicedMs`: its voiced total so far). */
  voiced(voicedMs: number): void {
    const u = this.utter;
    if (!u) return;
    const now = this.host.clock.now();
    const frame = voicedMs - u.voicedMs;
    u.voicedMs = voicedMs;
    if (now - u.lastVoicedAt > RUN_GAP_MS) u.runStartAt = now - frame;
    u.lastVoicedAt = now;
    if (u.joined || !shouldBargeIn(this.bot, now - u.runStartAt, this.host.minSpeechMs)) return;
    u.gen = this.gen;
    // Joined before the policy acts: a confirmation at once marks it as the one that cut in.
    u.joined = true;
    u.joined = this.policy.onset(u.words, this.bot.interruption);
  }

  /** An interim hypothesis of utterance `seq`: its words may stop the bot it paused. */
  interim(seq: number, text: string): void {
    const u = this.utterances.get(seq);
    if (!u || this.closed) return;
    u.words = this.counter.count(text, true, this.bot.interruption?.backchannels);
    if (u.joined && u.gen === this.gen) this.policy.words(u.words, this.bot.interruption);
  }

  /** The policy confirmed: every utterance that took part cut in. */
  private stopBot(): void {
    for (const u of this.utterances.values()) if (u.joined && u.gen === this.gen) u.cutIn = true;
    this.host.bargeIn();
  }

  /** The utterance ended; returns whether its text is to be ignored (speech over the bot that did not cut in). */
  endpoint(speechEndAt: number, endpointAt: number): boolean {
    const u = this.utter;
    this.utter = undefined;
    if (!u) return true;
    u.speechEndAt = speechEndAt;
    u.endpointAt = endpointAt;
    u.botAtEnd = this.bot.speaking;
    // An utterance in an interruption keeps its text: its transcript decides.
    u.discard = u.startedDuringBot && !u.cutIn && this.bot.speaking && !u.joined;
    return u.discard;
  }

  final(seq: number, raw: string): void {
    const u = this.utterances.get(seq);
    this.utterances.delete(seq);
    if (this.closed || !u) return;
    const text = raw.trim();
    if (u.joined && !u.cutIn) {
      const bo = this.bot.interruption;
      const words = this.counter.count(text, false, bo?.backchannels);
      const enough = words >= this.policy.minWords(bo);
      const current = u.gen === this.gen;
      if (current && enough && this.policy.engaged) {
        u.cutIn = true;
        this.policy.words(words, bo);
      } else {
        if (current) this.policy.settled();
        // A backchannel (or noise) while the bot kept the floor: not a turn, even if the bot has finished since.
        if (!enough && (u.botAtEnd || this.bot.speaking)) {
          this.restartNoInput();
          return;
        }
      }
    }
    if (u.cutIn && !text) {
      this.cutWithoutWords();
      return;
    }
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
    if (this.bot.speaking && this.bot.bargeIn && this.policy.current !== InterruptionState.Confirmed) this.policy.key();
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
    const cutEmpty = this.cutEmpty;
    this.cutEmpty = false;
    if (opts.cutOff && cutEmpty) return Promise.resolve({ type: 'timeout', cutOff: true });
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

  /** The bot was cut off and the caller said nothing after all: a listen that asked hears of it now. */
  private cutWithoutWords(): void {
    const pl = this.pending;
    if (pl?.opts.cutOff) this.settle(pl, { type: 'timeout', cutOff: true });
    else if (!pl) this.cutEmpty = true;
    else this.restartNoInput();
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
