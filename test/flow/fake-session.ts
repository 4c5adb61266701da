import type { AudioBuffer } from '../../core/audio/frame.js';
import type { CallEvent, CallEventListener } from '../../core/engine/events.js';
import type {
  CallSession,
  DistributiveOmit,
  ListenOptions,
  ListenResult,
  RespondOptions,
  RespondResult,
  SayOptions,
  SayResult,
} from '../../core/engine/session-api.js';
import { VoicebotError } from '../../core/errors/index.js';
import type { ChatMessage, ToolCall, ToolSpec } from '../../core/plugins/llm.js';
import type { CallInfo, HangupReason, TransferOptions } from '../../core/plugins/telephony.js';

/** What the fake caller does at each listen(): answer, stay silent, press a hotkey mid-wait, or hang up. */
export type FakeTurn =
  | { say: string }
  | { dtmf: string }
  | { silent: true }
  | { hotkey: string }
  | { hangup: true };

export interface FakeLlmReply {
  text?: string;
  toolCalls?: { name: string; args: unknown }[];
}

export interface FakeOptions {
  turns?: FakeTurn[];
  /** Scripted model: called per respond() round with the conversation so far. */
  llm?: (messages: readonly ChatMessage[], tools: readonly ToolSpec[] | undefined) => FakeLlmReply;
  classify?: (text: string, intents: readonly string[]) => string | null;
  transferFails?: boolean;
  /** Fires the DTMF interceptor with this digit during the n-th say(). */
  hotkeyDuringSay?: { nth: number; digit: string };
}

/**
 * An in-memory CallSession: no audio, no timers. Lets runner tests pin the
 * flow logic independent of the engine; the real path is covered by the
 * app-level tests.
 */
export class FakeSession implements CallSession {
  readonly info: CallInfo = { id: 'fake-1', from: '+15550001', to: '+15550002', meta: {} };
  readonly events: CallEvent[] = [];
  readonly listens: ListenOptions[] = [];
  readonly transfers: string[] = [];
  readonly played: AudioBuffer[] = [];
  readonly respondCalls: { messages: ChatMessage[]; tools?: readonly ToolSpec[] }[] = [];
  endReason: HangupReason | undefined;
  private readonly ac = new AbortController();
  private readonly listeners = new Set<CallEventListener>();
  private interceptor: ((d: string) => boolean) | undefined;
  private readonly turns: FakeTurn[];
  private says = 0;
  private t = 0;
  private ids = 0;

  constructor(private readonly opts: FakeOptions = {}) {
    this.turns = [...(opts.turns ?? [])];
  }

  get ended(): boolean {
    return this.endReason !== undefined;
  }
  get endSignal(): AbortSignal {
    return this.ac.signal;
  }
  now(): number {
    return this.t;
  }

  /** Texts the bot said, in order. */
  get said(): string[] {
    return this.events.flatMap((e) => (e.type === 'bot.said' ? [e.text] : []));
  }
  get stepsRun(): string[] {
    return this.events.flatMap((e) => (e.type === 'flow.step' ? [`${e.flow}.${e.step}`] : []));
  }

  private check(action: string): void {
    if (this.ended) throw new VoicebotError('VB_ERR_CALL_STATE', { callId: this.info.id, action, state: 'ended' });
  }

  private end(reason: HangupReason): void {
    if (this.ended) return;
    this.endReason = reason;
    this.emit({ type: 'call.ended', reason, durationMs: this.t });
    this.ac.abort(new VoicebotError('VB_ERR_CALL_STATE', { callId: this.info.id, action: 'wait', state: 'ended' }));
  }

  async say(text: string, opts: SayOptions = {}): Promise<SayResult> {
    this.check('say');
    await Promise.resolve();
    this.says++;
    if (this.opts.hotkeyDuringSay?.nth === this.says) {
      this.pressKey(this.opts.hotkeyDuringSay.digit);
      if (opts.signal?.aborted) {
        this.emit({ type: 'bot.said', text: text.slice(0, 3), interrupted: true });
        return { interrupted: true, playedText: text.slice(0, 3) };
      }
    }
    this.t += 100;
    this.emit({ type: 'bot.said', text, interrupted: false });
    return { interrupted: false, playedText: text };
  }

  async play(audio: AudioBuffer): Promise<SayResult> {
    this.check('play');
    this.played.push(audio);
    return { interrupted: false, playedText: '' };
  }

  /** A caller key press: goes through the interceptor like the engine's. */
  pressKey(digit: string): boolean {
    this.emit({ type: 'dtmf', digits: digit });
    return this.interceptor?.(digit) ?? false;
  }

  async listen(opts: ListenOptions): Promise<ListenResult> {
    this.check('listen');
    this.listens.push(opts);
    await Promise.resolve();
    const turn = this.turns.shift();
    if (!turn || 'hangup' in turn) {
      this.end('caller-hangup');
      throw this.ac.signal.reason;
    }
    if ('silent' in turn) return { type: 'timeout' };
    if ('hotkey' in turn) {
      // The wait is cut short only through the signal, as with the real engine.
      return new Promise((_, reject) => {
        opts.signal?.addEventListener('abort', () => reject(opts.signal!.reason), { once: true });
        if (!this.pressKey(turn.hotkey)) reject(new Error(`hotkey ${turn.hotkey} not consumed`));
      });
    }
    if ('dtmf' in turn) {
      this.emit({ type: 'dtmf', digits: turn.dtmf });
      return { type: 'dtmf', digits: turn.dtmf };
    }
    this.emit({ type: 'caller.said', text: turn.say, final: true });
    return { type: 'speech', text: turn.say };
  }

  async respond(opts: RespondOptions): Promise<RespondResult> {
    this.check('respond');
    if (!this.opts.llm) throw new Error('no fake llm');
    this.respondCalls.push({ messages: [...opts.messages], tools: opts.tools });
    const toolCalls: RespondResult['toolCalls'] = [];
    // Like the engine: the caller's messages stay as they are; the turn's additions come back as history.
    const messages = [...opts.messages];
    const start = messages.length;
    let played = '';
    for (let round = 0; round < 5; round++) {
      const reply = this.opts.llm(messages, opts.tools);
      if (reply.toolCalls?.length) {
        const calls: ToolCall[] = reply.toolCalls.map((c) => ({ id: `t${++this.ids}`, name: c.name, arguments: JSON.stringify(c.args) }));
        messages.push({ role: 'assistant', content: reply.text ?? '', toolCalls: calls });
        let stopped: string | undefined;
        for (const call of calls) {
          try {
            const result = await opts.runTool!(call, opts.signal ?? new AbortController().signal, { play: async () => false });
            toolCalls.push({ call, result });
            messages.push({ role: 'tool', content: JSON.stringify(result), toolCallId: call.id, name: call.name });
            if (opts.stopOnTools?.includes(call.name)) stopped = call.name;
          } catch (e) {
            toolCalls.push({ call, error: (e as Error).message });
            messages.push({ role: 'tool', content: JSON.stringify({ error: (e as Error).message }), toolCallId: call.id, name: call.name });
          }
        }
        if (stopped) return { playedText: played, interrupted: false, toolCalls, stoppedOnTool: stopped, history: messages.slice(start) };
        continue;
      }
      played = reply.text ?? '';
      if (played) this.emit({ type: 'bot.said', text: played, interrupted: false });
      messages.push({ role: 'assistant', content: played });
      return { playedText: played, interrupted: false, toolCalls, history: messages.slice(start) };
    }
    return { playedText: played, interrupted: false, toolCalls, history: messages.slice(start) };
  }

  async classifyIntent(text: string, intents: readonly string[]): Promise<string | null> {
    return this.opts.classify?.(text, intents) ?? null;
  }

  async transfer(to: string, _opts?: TransferOptions): Promise<void> {
    this.check('transfer');
    if (this.opts.transferFails) throw new VoicebotError('VB_ERR_TRANSFER_FAILED', { callId: this.info.id, to, detail: 'busy' });
    this.transfers.push(to);
    this.emit({ type: 'call.transferred', to });
    this.end('transferred');
  }

  async hangup(text?: string, reason: HangupReason = 'bot-hangup'): Promise<void> {
    this.check('hangup');
    if (text) await this.say(text);
    this.end(reason);
  }

  setDtmfInterceptor(fn: ((digit: string) => boolean) | undefined): void {
    this.interceptor = fn;
  }

  emit(ev: DistributiveOmit<CallEvent, 'callId' | 't'>): void {
    const full = { ...ev, callId: this.info.id, t: this.t } as CallEvent;
    this.events.push(full);
    for (const l of this.listeners) l(full);
  }

  on(listener: CallEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
