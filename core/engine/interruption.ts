import { normalizeInterruption } from '../config/normalize.js';
import type { InterruptionSettings } from '../config/types.js';
import type { Clock, TimerHandle } from '../time/clock.js';

export type { InterruptionSettings };

/** The defaults, from the one place config defaults are filled in. */
export const DEFAULT_INTERRUPTION: InterruptionSettings = normalizeInterruption({});

/** A say/listen/llm step's own rule (`bargeIn: { backchannels: true }`), over the settings'. */
export interface InterruptionOverride {
  /** Backchannels count as words: "okay" stops this prompt. */
  backchannels?: boolean;
  minWords?: number;
}

/** What the speech recognizer can tell while the caller speaks. */
export type WordSource = 'interim' | 'final' | 'none';

/**
 * One interruption of one bot playback:
 *   Idle → Paused (an onset: the bot pauses or ducks) → Confirmed (words: the bot stops) | Resumed (none came)
 *   Resumed → Confirmed (words of a later utterance, or the late words of a batch transcript)
 *   Idle → Confirmed (minWords 0: the onset alone; a DTMF key)
 *   any → Idle (the playback ended).
 */
export enum InterruptionState {
  Idle = 'idle',
  Paused = 'paused',
  Resumed = 'resumed',
  Confirmed = 'confirmed',
}

const ALLOWED: Record<InterruptionState, readonly InterruptionState[]> = {
  [InterruptionState.Idle]: [InterruptionState.Paused, InterruptionState.Confirmed],
  [InterruptionState.Paused]: [InterruptionState.Confirmed, InterruptionState.Resumed, InterruptionState.Idle],
  [InterruptionState.Resumed]: [InterruptionState.Confirmed, InterruptionState.Idle],
  [InterruptionState.Confirmed]: [InterruptionState.Idle],
};

/** The one transition guard: an illegal move is a bug in the engine, not a caller's doing. */
export function interruptionTransition(from: InterruptionState, to: InterruptionState): InterruptionState {
  if (!ALLOWED[from].includes(to)) throw new Error(`interruption: illegal transition ${from} → ${to}`);
  return to;
}

/** Some STT spellings of the same backchannel, keyed by their normalized form. */
const ALIASES: Record<string, string> = { ok: 'okay', mmhmm: 'mhm', mhmm: 'mhm', mmhm: 'mhm' };

/** "Uh-huh." → "uhhuh": case, punctuation and hyphens are STT noise here. */
function norm(word: string): string {
  const w = word.toLowerCase().replace(/[^\p{L}\p{N}']/gu, '');
  return ALIASES[w] ?? w;
}

/** Longest backchannel in words: "uh huh" is two tokens of one backchannel. */
const MAX_PHRASE_TOKENS = 3;

/**
 * Backchannels, normalized once (a phrase is matched on its tokens joined,
 * so "uh huh" and "uh-huh" are the same).
 */
export class WordCounter {
  private readonly set: Set<string>;
  private readonly list: string[];

  constructor(backchannels: readonly string[]) {
    this.list = backchannels.map((b) => b.split(/\s+/).map(norm).join('')).filter(Boolean);
    this.set = new Set(this.list);
  }

  /**
   * Words of `text` that are not backchannels. An interim's last word that
   * could still grow into a backchannel ("m" of "mhm") is not counted yet;
   * with `backchannelsCount` every word counts.
   */
  count(text: string, interim: boolean, backchannelsCount = false): number {
    const tokens = text.split(/\s+/).map(norm).filter(Boolean);
    if (backchannelsCount) return tokens.length;
    let n = 0;
    for (let i = 0; i < tokens.length; ) {
      let skip = 0;
      let joined = '';
      for (let k = 1; k <= MAX_PHRASE_TOKENS && i + k <= tokens.length; k++) {
        joined += tokens[i + k - 1];
        if (this.set.has(joined)) skip = k;
      }
      if (skip) {
        i += skip;
        continue;
      }
      if (interim && this.couldBecome(tokens.slice(i).join(''))) break;
      n++;
      i++;
    }
    return n;
  }

  private couldBecome(tail: string): boolean {
    return this.list.some((b) => b.length > tail.length && b.startsWith(tail));
  }
}

export interface InterruptionHost {
  clock: Clock;
  /** Pause (or duck) the bot where it is. */
  pause(mode: InterruptionSettings['mode']): void;
  /** Go on where it paused, at full level. */
  resume(pausedMs: number): void;
  /** Stop the bot for good and cancel its turn. */
  stop(): void;
}

/**
 * Decides whether speech over the bot takes the floor: an onset pauses (or
 * ducks) the bot, words stop it, no words within the window resume it. One
 * instance per call; it follows the current bot playback (reset() when one
 * ends). Utterances are tracked by the turn controller; this sees onsets,
 * word counts and "this utterance is over without words".
 */
export class InterruptionPolicy {
  private state = InterruptionState.Idle;
  private timer: TimerHandle | undefined;
  private pausedAt = 0;
  /** Utterances that took part in this interruption and are still running or awaiting their final. */
  private open = 0;

  constructor(
    private readonly s: InterruptionSettings,
    private readonly host: InterruptionHost,
  ) {}

  get current(): InterruptionState {
    return this.state;
  }

  /** Paused or resumed: an utterance's words can still stop the bot. */
  get engaged(): boolean {
    return this.state === InterruptionState.Paused || this.state === InterruptionState.Resumed;
  }

  minWords(o: InterruptionOverride | undefined): number {
    return o?.minWords ?? this.s.minWords;
  }

  /** A caller utterance reached onset over an interruptible bot; `words` it already has. Returns true when it joined the interruption. */
  onset(words: number, o: InterruptionOverride | undefined): boolean {
    if (this.state === InterruptionState.Confirmed) return false;
    const min = this.minWords(o);
    if (min === 0 || words >= min) {
      this.confirm();
      return true;
    }
    // Paused: it joins the pause. Resumed: this line has shown it makes noise, so
    // the bot talks on through later onsets of this playback and only words stop it.
    if (this.state !== InterruptionState.Idle) {
      this.open++;
      return true;
    }
    this.open = 1;
    this.go(InterruptionState.Paused);
    this.pausedAt = this.host.clock.now();
    this.host.pause(this.s.mode);
    this.timer = this.host.clock.setTimeout(this.onWindow, this.s.falseInterruptionMs);
    return true;
  }

  /** New words from an utterance that joined: enough of them stop the bot. */
  words(words: number, o: InterruptionOverride | undefined): void {
    if (this.engaged && words >= this.minWords(o)) this.confirm();
  }

  /** An utterance that joined ended without enough words (its final was empty or backchannels). */
  settled(): void {
    if (this.open > 0) this.open--;
    if (this.state === InterruptionState.Paused && this.open === 0) this.resume();
  }

  /** A key press over the bot: it stops. */
  key(): void {
    this.confirm();
  }

  /** The playback ended (played out, stopped, replaced). */
  reset(): void {
    this.clearTimer();
    this.open = 0;
    if (this.state !== InterruptionState.Idle) this.go(InterruptionState.Idle);
  }

  private confirm(): void {
    this.clearTimer();
    this.go(InterruptionState.Confirmed);
    this.host.stop();
  }

  private resume(): void {
    this.clearTimer();
    this.go(InterruptionState.Resumed);
    this.host.resume(this.host.clock.now() - this.pausedAt);
  }

  private readonly onWindow = (): void => {
    this.timer = undefined;
    if (this.state === InterruptionState.Paused) this.resume();
  };

  private clearTimer(): void {
    if (this.timer) this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private go(to: InterruptionState): void {
    this.state = interruptionTransition(this.state, to);
  }
}
