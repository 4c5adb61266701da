import type { AudioFrame } from '../audio/frame.js';
import type { SttPlugin, SttStream, Transcript } from '../plugins/stt.js';
import type { Clock, TimerHandle } from '../time/clock.js';

/*
 * Interim transcripts — who gets them:
 *   RecognizerSink.interim(seq, { text, final }) is the running utterance's
 *   words so far: the provider's finals of this utterance joined, then its
 *   current interim. `final: true` when the provider finalized all of them
 *   (the caller may still go on: the turn ends at the endpoint). Called per
 *   transcript event, never per frame; batch providers give none.
 *   call-parts.ts forwards each one to the Endpointer (word-aware endpoint),
 *   the Preemptor (reply before the endpoint), and the call's event bus as
 *   `caller.interim { text, final }` (CallEvent) — subscribe there (e.g. the
 *   barge-in policy counting words: `countWords(text)`), don't poll.
 */

/** Words in an interim or final text (the barge-in policy's "minimum words"). */
export function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 32 || c === 9 || c === 10 || c === 13;
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}

/** What a recognizer reports, per utterance `seq` (numbered by begin()). */
export interface RecognizerSink {
  /** The running utterance's words so far (see the comment at the top), from streaming providers. */
  interim(seq: number, t: Transcript): void;
  /** The utterance's final text ('' when nothing was recognized): exactly once per ended utterance, in utterance order. */
  final(seq: number, text: string): void;
  /** The provider failed; the recognizer keeps working for the next utterance. */
  error(e: unknown): void;
}

export interface EndOptions {
  /** The engine will not use this utterance (speech over the bot): don't wait for, or ask for, its text. */
  discard: boolean;
  hints?: readonly string[];
}

/**
 * The engine's one STT shape: utterances begin (with pre-roll), get audio,
 * end (the engine's endpointing decided), and each ends in one final,
 * interim hypotheses along the way. Streaming providers map onto it
 * directly; a batch provider goes through BatchRecognizer (VAD-segmented
 * utterances recognized whole, like livekit agents' StreamAdapter).
 */
export interface Recognizer {
  begin(preroll: Int16Array): number;
  push(frame: AudioFrame): void;
  end(seq: number, opts: EndOptions): void;
  close(): void;
}

export interface RecognizerOptions {
  stt: SttPlugin;
  sampleRate: number;
  language: string;
  callId: string;
  clock: Clock;
  sink: RecognizerSink;
  /** Aborted when the call ends: cancels batch requests in flight. */
  signal: AbortSignal;
  /** ms to wait for a streaming final after end() (default 3000). */
  finalTimeoutMs?: number;
}

export function createRecognizer(o: RecognizerOptions): Recognizer {
  return o.stt.capabilities.streaming ? new StreamingRecognizer(o) : new BatchRecognizer(o);
}

/**
 * A streaming provider: one stream for the call, opened at the first
 * utterance. Its finals are not tagged with an utterance, so they belong to
 * the utterance that is waiting for one, else to the running one.
 */
export class StreamingRecognizer implements Recognizer {
  private stream: SttStream | undefined;
  private seq = 0;
  private finals: string[] = [];
  private interimPending = false;
  private interimText = '';
  private awaiting: { seq: number; timer: TimerHandle } | undefined;
  private closed = false;

  constructor(private readonly o: RecognizerOptions) {}

  begin(preroll: Int16Array): number {
    const seq = ++this.seq;
    const w = this.awaiting;
    // The previous utterance has nothing more coming (noise): settle it so it cannot take this one's text.
    if (w && !this.interimPending) this.settle();
    // Still waiting for the previous utterance's final: its text must stay with it.
    if (!this.awaiting) this.finals = [];
    this.interimText = '';
    this.open();
    if (preroll.length > 0) this.stream?.push({ samples: preroll, sampleRate: this.o.sampleRate, timestampMs: 0 });
    return seq;
  }

  push(frame: AudioFrame): void {
    this.stream?.push(frame);
  }

  end(seq: number, opts: EndOptions): void {
    const stream = this.stream;
    if (!stream) {
      this.o.sink.final(seq, '');
      return;
    }
    if (this.awaiting) this.settle();
    stream.endUtterance();
    if (this.interimPending || (this.finals.length === 0 && !opts.discard)) {
      this.awaiting = { seq, timer: this.o.clock.setTimeout(this.onTimeout, this.o.finalTimeoutMs ?? 3000) };
    } else this.o.sink.final(seq, this.take());
  }

  close(): void {
    this.closed = true;
    if (this.awaiting) this.o.clock.clearTimeout(this.awaiting.timer);
    this.awaiting = undefined;
    const s = this.stream;
    this.stream = undefined;
    s?.close();
  }

  private open(): void {
    if (this.stream || this.closed) return;
    try {
      this.stream = this.o.stt.stream({
        sampleRate: this.o.sampleRate,
        language: this.o.language,
        callId: this.o.callId,
        onTranscript: this.onTranscript,
        onError: this.onError,
      });
    } catch (e) {
      this.o.sink.error(e);
    }
  }

  private take(): string {
    const text = this.finals.join(' ').trim();
    this.finals = [];
    return text;
  }

  private settle(): void {
    const w = this.awaiting;
    if (!w) return;
    this.o.clock.clearTimeout(w.timer);
    this.awaiting = undefined;
    this.o.sink.final(w.seq, this.take());
  }

  private readonly onTranscript = (t: Transcript): void => {
    if (this.closed) return;
    if (!t.final) {
      this.interimPending = true;
      this.interimText = t.text.trim();
      this.o.sink.interim(this.awaiting?.seq ?? this.seq, { ...t, text: this.heard(this.interimText) });
      return;
    }
    this.interimPending = false;
    this.interimText = '';
    if (t.text.trim()) this.finals.push(t.text.trim());
    if (this.awaiting) this.settle();
    else this.o.sink.interim(this.seq, { text: this.heard(''), final: true, ...(t.confidence !== undefined ? { confidence: t.confidence } : {}) });
  };

  /** This utterance's finals so far, then `interim`. */
  private heard(interim: string): string {
    if (this.finals.length === 0) return interim;
    const done = this.finals.join(' ');
    return interim ? `${done} ${interim}` : done;
  }

  private readonly onTimeout = (): void => {
    this.interimPending = false;
    const w = this.awaiting;
    if (!w) return;
    this.awaiting = undefined;
    this.o.sink.final(w.seq, this.take());
  };

  private readonly onError = (e: unknown): void => {
    const s = this.stream;
    this.stream = undefined;
    try {
      s?.close();
    } catch {
      // The stream is being dropped anyway.
    }
    const w = this.awaiting;
    this.awaiting = undefined;
    if (w) this.o.clock.clearTimeout(w.timer);
    this.interimPending = false;
    this.finals = [];
    if (!this.closed) this.o.sink.error(e);
  };
}

/**
 * A batch provider behind the streaming shape: the utterance's audio is
 * buffered from pre-roll to endpoint and recognized whole. Requests run
 * concurrently (a decoder pool may finish them in any order) but their
 * finals are delivered strictly in utterance order.
 */
export class BatchRecognizer implements Recognizer {
  private seq = 0;
  private buf = new Int16Array(0);
  private len = 0;
  /** Ended utterances whose final is not delivered yet, oldest first. */
  private readonly queue: { seq: number; done: boolean; text: string }[] = [];
  private closed = false;

  constructor(private readonly o: RecognizerOptions) {}

  begin(preroll: Int16Array): number {
    this.len = 0;
    this.append(preroll);
    return ++this.seq;
  }

  push(frame: AudioFrame): void {
    this.append(frame.samples);
  }

  end(seq: number, opts: EndOptions): void {
    const audio = this.buf.slice(0, this.len);
    this.len = 0;
    const slot = { seq, done: false, text: '' };
    this.queue.push(slot);
    if (opts.discard) {
      slot.done = true;
      this.drain();
      return;
    }
    void this.o.stt
      .recognize({ audio, sampleRate: this.o.sampleRate, language: this.o.language, signal: this.o.signal, callId: this.o.callId, hints: opts.hints })
      .then(
        (t) => {
          slot.text = t.text;
        },
        (e: unknown) => {
          if (!this.closed) this.o.sink.error(e);
        },
      )
      .finally(() => {
        slot.done = true;
        this.drain();
      });
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private drain(): void {
    while (!this.closed && this.queue.length && this.queue[0].done) {
      const s = this.queue.shift()!;
      this.o.sink.final(s.seq, s.text);
    }
  }

  private append(s: Int16Array): void {
    const need = this.len + s.length;
    if (need > this.buf.length) {
      let cap = Math.max(this.buf.length, 1024);
      while (cap < need) cap *= 2;
      const n = new Int16Array(cap);
      n.set(this.buf.subarray(0, this.len));
      this.buf = n;
    }
    this.buf.set(s, this.len);
    this.len = need;
  }
}
