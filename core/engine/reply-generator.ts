import type { AudioBuffer } from '../audio/frame.js';
import { Resampler } from '../audio/resampler.js';
import type { VoicebotError } from '../errors/index.js';
import type { ChatMessage, LlmPlugin, ToolCall } from '../plugins/llm.js';
import type { TtsPlugin } from '../plugins/tts.js';
import { pickRate } from './rates.js';
import type { Outbound } from './outbound.js';
import type { Playback, Segment } from './playback.js';
import type { Preemptor, PreemptiveRun } from './preemptive.js';
import { SentenceSplitter, splitSentences } from './sentence-splitter.js';
import type { RespondOptions, RespondResult, SayOptions, SayResult } from './session-api.js';
import type { TurnMetricsTracker } from './turn-metrics.js';

/** Tool rounds in one respond() before the engine stops asking the model. */
const MAX_TOOL_ROUNDS = 8;

type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

export interface ReplyHost {
  callId: string;
  language: string;
  voice: string | undefined;
  llm: LlmPlugin | undefined;
  tts: TtsPlugin | undefined;
  outbound: Outbound;
  metrics: TurnMetricsTracker;
  /** Generations started before the endpoint (settings.turn.preemptive); respond() adopts a matching one. */
  preemptor?: Preemptor;
  now(): number;
  /** Aborted when the call ends. */
  endSignal: AbortSignal;
  /** The bot finished an utterance: emit bot.said, record, log. */
  said(text: string, interrupted: boolean): void;
  /** A provider failed mid-turn: the coded error to reject with (logged by the host). */
  failed(slot: 'tts' | 'llm', e: unknown): VoicebotError;
}

/**
 * The bot's side of a turn: text (say) or the model (respond) → sentence
 * chunks → TTS → the outbound stream, with the tool loop in between. What
 * the caller actually heard decides what the conversation keeps: respond()
 * returns that as a history delta and leaves its input alone.
 */
export class ReplyGenerator {
  private readonly ttsRate: number;

  constructor(private readonly h: ReplyHost) {
    this.ttsRate = h.tts ? pickRate(h.tts.capabilities.sampleRates, h.outbound.outputRate) : h.outbound.outputRate;
  }

  async say(text: string, opts: SayOptions): Promise<SayResult> {
    this.h.preemptor?.cancel();
    const pb = this.h.outbound.begin(opts.bargeIn, opts.signal, this.h.endSignal);
    try {
      for (const piece of splitSentences(text)) {
        if (pb.stopped) break;
        await this.speakChunk(pb, piece, 0);
      }
      await this.h.outbound.waitPlayed(pb);
    } catch (e) {
      if (!pb.stopped || !pb.signal.aborted) throw this.fail(pb, e, 'tts');
    }
    return this.finish(pb);
  }

  async play(audio: AudioBuffer, opts: SayOptions): Promise<SayResult> {
    this.h.preemptor?.cancel();
    const out = this.h.outbound;
    const pb = out.begin(opts.bargeIn, opts.signal, this.h.endSignal);
    const rate = out.outputRate;
    const samples = audio.sampleRate === rate ? audio.samples : new Resampler(audio.sampleRate, rate).process(audio.samples);
    const seg: Segment = { text: '', round: 0, startMs: -1, durationMs: 0, words: [], complete: true };
    pb.segments.push(seg);
    out.append(pb, seg, samples, rate);
    await out.waitPlayed(pb);
    const interrupted = pb.stopped;
    out.finish(pb);
    return { interrupted, playedText: '' };
  }

  async respond(opts: RespondOptions): Promise<RespondResult> {
    const llm = this.h.llm!;
    const pb = this.h.outbound.begin(opts.bargeIn, opts.signal, this.h.endSignal);
    if (pb.stopped) this.h.preemptor?.cancel();
    const toolCalls: RespondResult['toolCalls'] = [];
    const delta: ChatMessage[] = [];
    const rounds: { msg: AssistantMessage; round: number; text: string }[] = [];
    let stoppedOnTool: string | undefined;
    let speaking: Promise<void> = Promise.resolve();
    let speakErr: unknown;
    let failedSlot: 'llm' | 'tts' = 'llm';
    const draft = this.h.metrics.current;
    // A TTS that streams its input speaks the first clause while the model writes the rest of the sentence.
    const quick = this.h.tts?.capabilities.inputStreaming === true;
    let spoken = false;

    try {
      for (let round = 0; round < MAX_TOOL_ROUNDS && !pb.stopped; round++) {
        const splitter = new SentenceSplitter({ quickStart: quick && !spoken });
        let text = '';
        const calls: ToolCall[] = [];
        const speak = (piece: string): void => {
          spoken = true;
          speaking = speaking.then(() => (pb.stopped || speakErr ? undefined : this.speakChunk(pb, piece, round))).catch((e: unknown) => {
            if (pb.stopped && pb.signal.aborted && !speakErr) return;
            speakErr ??= e;
            pb.link.abort(e);
          });
        };
        const request = { messages: [...opts.messages, ...delta], tools: opts.tools, temperature: opts.temperature, maxTokens: opts.maxTokens };
        // Only the first request can have been started early: later ones carry this turn's tool results.
        const early: PreemptiveRun | undefined = round === 0 ? this.h.preemptor?.take(request) : undefined;
        if (early) this.h.metrics.markPreemptive(draft);
        this.h.metrics.mark(draft, 'llmStartAt', early?.startedAt ?? this.h.now());
        for await (const ev of early ? early.events(pb.signal) : llm.chat({ ...request, signal: pb.signal, callId: this.h.callId })) {
          if (pb.stopped) break;
          if (ev.type !== 'done') this.h.metrics.mark(draft, 'llmFirstAt', early?.firstAt ?? this.h.now());
          if (ev.type === 'text') {
            text += ev.text;
            for (const piece of splitter.push(ev.text)) speak(piece);
          } else if (ev.type === 'tool_call') calls.push(ev.call);
          else break;
        }
        const rest = splitter.flush();
        if (rest && !pb.stopped) speak(rest);
        await speaking;
        if (speakErr) {
          failedSlot = 'tts';
          throw speakErr;
        }
        if (calls.length === 0) {
          rounds.push({ msg: { role: 'assistant', content: text.trim() }, round, text: text.trim() });
          break;
        }
        const msg: AssistantMessage = { role: 'assistant', content: text.trim(), toolCalls: calls };
        delta.push(msg);
        rounds.push({ msg, round, text: text.trim() });
        for (const call of calls) {
          const r = await this.runTool(call, opts, pb);
          toolCalls.push(r.error === undefined ? { call, result: r.result } : { call, error: r.error });
          delta.push({ role: 'tool', content: JSON.stringify(r.error === undefined ? (r.result ?? null) : { error: r.error }), toolCallId: call.id, name: call.name });
          if (r.error === undefined && opts.stopOnTools?.includes(call.name)) stoppedOnTool ??= call.name;
        }
        if (stoppedOnTool) break;
      }
      await this.h.outbound.waitPlayed(pb);
    } catch (e) {
      void speaking.catch(() => {});
      const cancelled = pb.stopped && pb.signal.aborted && !speakErr;
      if (!cancelled) {
        throw this.fail(pb, speakErr ?? e, speakErr ? 'tts' : failedSlot);
      }
    }
    const history = heardHistory(pb, rounds, delta);
    const r = this.finish(pb);
    return { playedText: r.playedText, interrupted: r.interrupted, toolCalls, history, ...(stoppedOnTool ? { stoppedOnTool } : {}) };
  }

  private async runTool(call: ToolCall, opts: RespondOptions, pb: Playback): Promise<{ result?: unknown; error?: string }> {
    const signal = pb.signal;
    if (signal.aborted) return { error: 'cancelled: the caller interrupted' };
    if (!opts.runTool) return { error: 'no tool runner is configured' };
    try {
      return { result: await opts.runTool(call, signal, { play: (audio, s) => this.holdPlay(pb, audio, s) }) };
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }

  /** One pass of hold audio in `pb`: after the queued speech, cut when `signal` aborts. */
  private async holdPlay(pb: Playback, audio: AudioBuffer, signal: AbortSignal): Promise<boolean> {
    const out = this.h.outbound;
    // The tool may return while earlier speech still plays: its result must not wait for that.
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      void out.waitPlayed(pb).then(resolve);
    });
    if (signal.aborted || pb.stopped) return false;
    const rate = out.outputRate;
    const samples = audio.sampleRate === rate ? audio.samples : new Resampler(audio.sampleRate, rate).process(audio.samples);
    // Not one of pb's segments: the hold is no part of what the bot said.
    out.append(pb, { text: '', round: -1, startMs: -1, durationMs: 0, words: [], complete: true }, samples, rate);
    const cut = (): void => out.cut(pb);
    signal.addEventListener('abort', cut, { once: true });
    try {
      await out.waitPlayed(pb);
    } finally {
      signal.removeEventListener('abort', cut);
    }
    return !signal.aborted && !pb.stopped;
  }

  /** Synthesize `text` and queue it for playing; resolves when synthesized (not played). */
  private async speakChunk(pb: Playback, text: string, round: number): Promise<void> {
    const tts = this.h.tts!;
    const seg: Segment = { text, round, startMs: -1, durationMs: 0, words: [], complete: false };
    pb.segments.push(seg);
    const draft = this.h.metrics.current;
    if (draft && draft.ttsStartAt === undefined) draft.ttsStartAt = this.h.now();
    for await (const chunk of tts.synthesize({ text, sampleRate: this.ttsRate, language: this.h.language, voice: this.h.voice, signal: pb.signal, callId: this.h.callId })) {
      if (pb.stopped) return;
      this.h.metrics.mark(draft, 'ttsFirstAt', this.h.now());
      if (chunk.words) for (const w of chunk.words) seg.words.push(w);
      this.h.outbound.append(pb, seg, chunk.samples, chunk.sampleRate);
    }
    seg.complete = true;
  }

  private finish(pb: Playback): SayResult {
    this.h.outbound.finish(pb);
    const playedText = pb.playedText();
    const interrupted = pb.stopped;
    if (playedText || pb.segments.length) this.h.said(playedText, interrupted);
    return { interrupted, playedText };
  }

  /** A failure while speaking: stop the audio, report what was heard, the coded error to reject with. */
  private fail(pb: Playback, e: unknown, slot: 'tts' | 'llm'): VoicebotError {
    this.h.outbound.stop(pb);
    this.finish(pb);
    return this.h.failed(slot, e);
  }
}

/**
 * The conversation delta of one respond(): tool rounds as they ran, every
 * assistant text cut to what the caller heard of it, and a round the caller
 * interrupted before it was recorded kept as far as it was heard.
 */
export function heardHistory(pb: Playback, rounds: { msg: AssistantMessage; round: number; text: string }[], delta: ChatMessage[]): ChatMessage[] {
  const out = [...delta];
  for (const p of rounds) {
    p.msg.content = pb.stopped ? pb.playedText(p.round) : p.text;
    if (!p.msg.toolCalls && p.msg.content) out.push(p.msg);
  }
  const seen = new Set(rounds.map((p) => p.round));
  for (const s of pb.segments) {
    if (seen.has(s.round)) continue;
    seen.add(s.round);
    const heard = pb.playedText(s.round);
    if (heard) out.push({ role: 'assistant', content: heard });
  }
  return out;
}
