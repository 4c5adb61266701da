import type { ChatMessage, ChatRequest, LlmEvent, LlmPlugin } from '../plugins/llm.js';
import type { PreemptRequest } from './session-api.js';

/**
 * The preemptive reply (settings.turn.preemptive): an llm step's request is
 * sent as soon as the caller's words are stable, before the endpoint, and
 * its events are only buffered. respond() adopts the generation when its own
 * request is the same (same context, same words); anything else discards it.
 * Nothing of a generation is spoken, kept in history, or acted on (tool
 * calls) before respond() adopted it, so a discarded one leaves no trace.
 */

/** Words compared between the transcript a generation started on and the final: case and punctuation are not words. */
export function sameWords(a: string, b: string): boolean {
  return wordsKey(a) === wordsKey(b);
}

function wordsKey(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  if (a.role !== b.role || a.content !== b.content) return false;
  if (a.role === 'assistant' && b.role === 'assistant') return JSON.stringify(a.toolCalls ?? []) === JSON.stringify(b.toolCalls ?? []);
  if (a.role === 'tool' && b.role === 'tool') return a.toolCallId === b.toolCallId && a.name === b.name;
  return true;
}

/** `req` is `base` plus the caller's words as the last user message (compared as words). */
export function sameRequest(run: { base: PreemptRequest; text: string }, req: Omit<ChatRequest, 'signal' | 'callId'>): boolean {
  const b = run.base;
  const m = req.messages;
  if (m.length !== b.messages.length + 1) return false;
  for (let i = 0; i < b.messages.length; i++) if (!sameMessage(b.messages[i], m[i])) return false;
  const last = m[m.length - 1];
  if (last.role !== 'user' || !sameWords(last.content, run.text)) return false;
  if (b.temperature !== req.temperature || b.maxTokens !== req.maxTokens) return false;
  return b.tools === req.tools || JSON.stringify(b.tools ?? []) === JSON.stringify(req.tools ?? []);
}

/** One generation started early: the LLM's events kept until adopted (replayed, then live) or cancelled. */
export class PreemptiveRun {
  readonly startedAt: number;
  /** When its first text or tool call arrived (clock ms). */
  firstAt: number | undefined;
  private readonly buf: LlmEvent[] = [];
  private finished = false;
  private failure: unknown;
  private wake: (() => void) | undefined;
  private readonly ac = new AbortController();

  constructor(
    llm: LlmPlugin,
    readonly base: PreemptRequest,
    readonly text: string,
    callId: string,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
    const req: ChatRequest = {
      messages: [...base.messages, { role: 'user', content: text }],
      tools: base.tools,
      temperature: base.temperature,
      maxTokens: base.maxTokens,
      signal: this.ac.signal,
      callId,
    };
    void this.pump(llm, req);
  }

  /** It failed before anything used it: a fresh request does better than replaying the error. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  cancel(): void {
    if (!this.ac.signal.aborted) this.ac.abort();
    this.finished = true;
    this.notify();
  }

  /** The buffered events, then the live ones; `signal` (the bot turn's) cancels the generation. */
  async *events(signal: AbortSignal): AsyncGenerator<LlmEvent, void, undefined> {
    const onAbort = (): void => this.cancel();
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      let i = 0;
      for (;;) {
        while (i < this.buf.length) yield this.buf[i++];
        if (this.failure !== undefined) throw this.failure;
        if (this.finished) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async pump(llm: LlmPlugin, req: ChatRequest): Promise<void> {
    try {
      for await (const ev of llm.chat(req)) {
        if (this.ac.signal.aborted) break;
        if (ev.type !== 'done') this.firstAt ??= this.now();
        this.buf.push(ev);
        this.notify();
      }
    } catch (e) {
      if (!this.ac.signal.aborted) this.failure = e ?? new Error('preemptive generation failed');
    } finally {
      this.finished = true;
      this.notify();
    }
  }
}

export interface PreemptorOptions {
  llm: LlmPlugin;
  callId: string;
  now(): number;
  /** A generation started, was adopted by respond(), or was discarded (logs). */
  log?(what: 'start' | 'adopt' | 'discard', text: string, why?: string): void;
}

/**
 * One call's preemptive replies: armed by a listen that carries a request
 * (an llm step), started on stable words, discarded when the caller goes
 * on or the words change, taken by the respond() whose request matches.
 */
export class Preemptor {
  private armed: PreemptRequest | undefined;
  private run: PreemptiveRun | undefined;
  /** The run's utterance reached its endpoint: later voice is a new utterance. */
  private ended = false;
  /** Generations started (tests, bench). */
  started = 0;

  constructor(private readonly o: PreemptorOptions) {}

  /** A listen began: `req` is the request its words will complete (undefined: nothing to start). */
  arm(req: PreemptRequest | undefined): void {
    this.discard('a new listen');
    this.armed = req;
  }

  /** The listen settled: no new generations; the running one stays for respond() when the caller spoke. */
  disarm(keep: boolean): void {
    this.armed = undefined;
    if (!keep) this.discard('the listen ended without speech');
  }

  /** The caller's words are stable (the Endpointer's cue): start on them, unless already running on the same words. */
  stable(text: string): void {
    const base = this.armed;
    if (!base || !wordsKey(text)) return;
    if (this.run && !this.run.failed && sameWords(this.run.text, text)) return;
    this.discard('the words changed');
    this.ended = false;
    this.started++;
    this.run = new PreemptiveRun(this.o.llm, base, text, this.o.callId, this.o.now);
    this.o.log?.('start', text);
  }

  /** New words of the running utterance: a generation on other words is stale. */
  hypothesis(text: string): void {
    if (this.run && !this.ended && !sameWords(this.run.text, text)) this.discard('the caller went on');
  }

  /** A voiced frame: the caller goes on, the words will change. Per frame: cheap. True when it discarded a generation. */
  voiced(): boolean {
    if (this.run === undefined || this.ended) return false;
    this.discard('the caller went on');
    return true;
  }

  /** The utterance reached its endpoint. */
  endpoint(): void {
    this.ended = true;
  }

  /** The utterance's final text: a generation on other words is discarded now rather than at respond(). */
  final(text: string): void {
    if (this.run && !sameWords(this.run.text, text)) this.discard('the final transcript differs');
  }

  /** respond()'s first request: the running generation if it was started on exactly this request, else none (and it is discarded). */
  take(req: Omit<ChatRequest, 'signal' | 'callId'>): PreemptiveRun | undefined {
    const run = this.run;
    this.run = undefined;
    this.armed = undefined;
    if (!run) return undefined;
    if (run.failed || !sameRequest(run, req)) {
      run.cancel();
      this.o.log?.('discard', run.text, run.failed ? 'it failed' : 'the context changed');
      return undefined;
    }
    this.o.log?.('adopt', run.text);
    return run;
  }

  /** Other bot output, or the call ended: nothing running may be used any more. */
  cancel(why = 'the bot moved on'): void {
    this.armed = undefined;
    this.discard(why);
  }

  private discard(why: string): void {
    const run = this.run;
    if (!run) return;
    this.run = undefined;
    run.cancel();
    this.o.log?.('discard', run.text, why);
  }
}
