/**
 * Streaming transcription over the OpenAI Realtime API
 * (`/v1/realtime?intent=transcription`), with interim text. One WebSocket per
 * call, opened at the caller's first utterance; the engine's VAD segments the
 * audio (server turn detection is off) and endUtterance() commits the buffer.
 *
 * The `openai` package's realtime event types are used for the wire format;
 * its OpenAIRealtimeWS client is not: it always dials wss: and adds ?model=,
 * so it cannot open a transcription session nor reach a plain-ws server.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type {
  ConversationItemInputAudioTranscriptionCompletedEvent,
  ConversationItemInputAudioTranscriptionDeltaEvent,
  ConversationItemInputAudioTranscriptionFailedEvent,
  InputAudioBufferAppendEvent,
  InputAudioBufferClearEvent,
  InputAudioBufferCommitEvent,
  RealtimeErrorEvent,
  SessionUpdateEvent,
} from 'openai/resources/realtime/realtime';
import WebSocket from 'ws';
import type { AudioFrame } from '../../core/plugin-api.js';
import { linearToMulaw } from '../../core/plugin-api.js';
import type { Logger } from '../../core/plugin-api.js';
import type { PluginContext } from '../../core/plugin-api.js';
import type { ProviderError } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import { SttPlugin, type RecognizeRequest, type SttCapabilities, type SttStream, type SttStreamOptions, type Transcript } from '../../core/plugin-api.js';
import { realClock, type Clock, type TimerHandle } from '../../core/plugin-api.js';
import { COMMON_SCHEMA_PROPS, DEFAULT_TIMEOUT_MS, ProtocolError, checkApiKey, isoLanguage, missingKeyError, resolveApiKey, toProviderError, type ErrorContext, type OpenAiCommonOptions } from './common.js';

export interface OpenAiRealtimeSttOptions extends Omit<OpenAiCommonOptions, 'maxRetries'> {
  /** Spoken language, ISO-639-1 or BCP-47 (default: settings.language; `auto` lets the model detect it). */
  language?: string;
  /** Context for the model: spelling of names, style. */
  prompt?: string;
  /** `pcm` (24 kHz PCM16), `pcmu` (8 kHz G.711 μ-law, no resampling on a phone line), or `auto` (both declared; the engine picks). Default auto. */
  format?: 'auto' | 'pcm' | 'pcmu';
  /** `ga`: session.update {type: transcription}; `beta`: transcription_session.update (older compatible servers). Default ga. */
  dialect?: 'ga' | 'beta';
  /** Server-side noise reduction (default none: the line audio goes as it is). */
  noiseReduction?: 'near_field' | 'far_field';
}

export const DEFAULT_REALTIME_STT_MODEL = 'gpt-4o-mini-transcribe';
export const REALTIME_PATH = '/realtime?intent=transcription';
/** Audio is sent in pieces of this length: one JSON message per 100 ms, not per frame. */
const SEND_MS = 100;
/** The server rejects a commit of less audio than this. */
const MIN_COMMIT_MS = 100;
/** Audio kept while the socket connects; past this the oldest is dropped. */
const MAX_PENDING_MS = 10_000;

export function realtimeRates(format: OpenAiRealtimeSttOptions['format'] = 'auto'): readonly number[] {
  return format === 'pcm' ? [24000] : format === 'pcmu' ? [8000] : [8000, 24000];
}

/** ws(s)://…/v1/realtime?intent=transcription from an http(s) or ws(s) base URL. */
export function realtimeUrl(baseURL: string): string {
  return baseURL.replace(/\/+$/, '').replace(/^http/, 'ws') + REALTIME_PATH;
}

type State = 'connecting' | 'open' | 'failed' | 'closed';

/** An error event inside an open session as the SDK's APIError, so toProviderError maps it as for HTTP (no status: a server failure in stream). */
function streamError(status: number | undefined, body: object | undefined, message: string): APIError {
  return status === undefined ? new APIError(undefined, body, message, undefined) : APIError.generate(status, body, message, new Headers());
}

interface StreamConfig {
  url: string;
  apiKey: string;
  model: string;
  language: string | undefined;
  prompt: string | undefined;
  dialect: 'ga' | 'beta';
  noiseReduction: OpenAiRealtimeSttOptions['noiseReduction'];
  timeoutMs: number;
  organization?: string;
  project?: string;
  ctx: ErrorContext;
  clock: Clock;
  log?: Logger;
  /** Plugin metrics: `firstPartial` (commit → first delta) and `final` (commit → transcript), ms. */
  metric: (name: string, ms: number, callId?: string) => void;
}

/**
 * One call's transcription session. State: connecting → open → (closed |
 * failed); a socket the server closes while nothing is outstanding is
 * reopened at the next utterance, any other loss is one onError.
 */
class RealtimeSttStream implements SttStream {
  private state: State = 'connecting';
  private ws: WebSocket | undefined;
  private readonly pcmu: boolean;
  private readonly bytesPerMs: number;
  /** Encoded audio not sent yet. */
  private buf: Uint8Array;
  private len = 0;
  /** Audio (ms) appended since the last commit. */
  private sinceCommitMs = 0;
  /** Commits sent (or queued) whose transcript has not arrived. */
  private outstanding = 0;
  private commitQueued = 0;
  private readonly partial = new Map<string, string>();
  private stall: TimerHandle | undefined;
  /** clock.now() of each outstanding commit, oldest first; whether its first delta came. */
  private readonly commitAt: number[] = [];
  private firstDelta = false;

  constructor(
    private readonly c: StreamConfig,
    private readonly o: SttStreamOptions,
  ) {
    this.pcmu = o.sampleRate === 8000;
    this.bytesPerMs = this.pcmu ? 8 : (o.sampleRate * 2) / 1000;
    this.buf = new Uint8Array(this.bytesPerMs * SEND_MS * 2);
    this.connect();
  }

  private connect(): void {
    this.state = 'connecting';
    const headers: Record<string, string> = { Authorization: `Bearer ${this.c.apiKey}` };
    if (this.c.dialect === 'beta') headers['OpenAI-Beta'] = 'realtime=v1';
    if (this.c.organization) headers['OpenAI-Organization'] = this.c.organization;
    if (this.c.project) headers['OpenAI-Project'] = this.c.project;
    const ws = new WebSocket(this.c.url, { headers, handshakeTimeout: this.c.timeoutMs });
    this.ws = ws;
    ws.on('open', () => {
      if (this.ws !== ws || this.state !== 'connecting') return;
      this.state = 'open';
      this.send(this.sessionUpdate());
      this.flushAudio();
      for (; this.commitQueued > 0; this.commitQueued--) this.send({ type: 'input_audio_buffer.commit' } satisfies InputAudioBufferCommitEvent);
    });
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.length < 8 && chunks.push(d));
      // A refusal whose body never ends still fails the stream, with the status alone.
      const giveUp = this.c.clock.setTimeout(() => res.emit('end'), 1000);
      res.on('end', () => {
        this.c.clock.clearTimeout(giveUp);
        let body: { error?: { message?: string; code?: string } } | undefined;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        this.fail(APIError.generate(res.statusCode ?? 500, body?.error ?? body, body?.error?.message ?? res.statusMessage ?? 'WebSocket upgrade refused', h), ws);
      });
      res.on('error', () => this.fail(new APIConnectionError({ message: 'the upgrade response broke off' }), ws));
    });
    ws.on('error', (e) => this.fail(/timed out/i.test(e.message) ? new APIConnectionTimeoutError() : new APIConnectionError({ message: e.message, cause: e }), ws));
    ws.on('message', (data) => this.onMessage(data as Buffer, ws));
    ws.on('close', (code) => {
      if (this.ws !== ws || this.state === 'closed' || this.state === 'failed') return;
      if (this.outstanding === 0 && this.state === 'open') {
        // Idle (e.g. the server's session limit): reopen at the next utterance.
        this.ws = undefined;
        this.state = 'connecting';
        return;
      }
      this.fail(new APIConnectionError({ message: `the server closed the realtime socket (code ${code})` }), ws);
    });
  }

  private sessionUpdate(): object {
    const transcription = { model: this.c.model, ...(this.c.language ? { language: this.c.language } : {}), ...(this.c.prompt ? { prompt: this.c.prompt } : {}) };
    const noise = this.c.noiseReduction ? { type: this.c.noiseReduction } : null;
    if (this.c.dialect === 'beta') {
      return {
        type: 'transcription_session.update',
        session: { input_audio_format: this.pcmu ? 'g711_ulaw' : 'pcm16', input_audio_transcription: transcription, turn_detection: null, input_audio_noise_reduction: noise },
      };
    }
    const update: SessionUpdateEvent = {
      type: 'session.update',
      session: {
        type: 'transcription',
        audio: {
          input: {
            format: this.pcmu ? { type: 'audio/pcmu' } : { type: 'audio/pcm', rate: 24000 },
            transcription,
            turn_detection: null,
            ...(noise ? { noise_reduction: noise } : {}),
          },
        },
      },
    };
    return update;
  }

  push(frame: AudioFrame): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    if (!this.ws) this.connect();
    const s = frame.samples;
    const need = this.len + (this.pcmu ? s.length : s.length * 2);
    if (need > this.buf.length) this.grow(need);
    const b = this.buf;
    let at = this.len;
    if (this.pcmu) for (let i = 0; i < s.length; i++) b[at++] = linearToMulaw(s[i]);
    else
      for (let i = 0; i < s.length; i++) {
        const v = s[i];
        b[at++] = v & 0xff;
        b[at++] = (v >> 8) & 0xff;
      }
    this.len = at;
    this.sinceCommitMs += (s.length * 1000) / this.o.sampleRate;
    if (this.state === 'open' && this.len >= this.bytesPerMs * SEND_MS) this.flushAudio();
  }

  private grow(need: number): void {
    const max = this.bytesPerMs * MAX_PENDING_MS;
    if (need > max) {
      // Still connecting after 10 s of speech: keep the newest audio.
      const drop = need - max;
      this.buf.copyWithin(0, Math.min(drop, this.len), this.len);
      this.len = Math.max(0, this.len - drop);
      need = max;
    }
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.min(max, Math.max(need, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private flushAudio(): void {
    if (this.len === 0) return;
    const audio = Buffer.from(this.buf.buffer, this.buf.byteOffset, this.len).toString('base64');
    this.len = 0;
    this.send({ type: 'input_audio_buffer.append', audio } satisfies InputAudioBufferAppendEvent);
  }

  endUtterance(): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    if (this.sinceCommitMs < MIN_COMMIT_MS) {
      // Nothing (or too little) to transcribe: an empty final, after the engine starts waiting for it.
      this.len = 0;
      if (this.sinceCommitMs > 0 && this.state === 'open') this.send({ type: 'input_audio_buffer.clear' } satisfies InputAudioBufferClearEvent);
      this.sinceCommitMs = 0;
      queueMicrotask(() => this.state !== 'closed' && this.state !== 'failed' && this.o.onTranscript({ text: '', final: true }));
      return;
    }
    this.sinceCommitMs = 0;
    this.outstanding++;
    this.commitAt.push(this.c.clock.now());
    if (this.state === 'open') {
      this.flushAudio();
      this.send({ type: 'input_audio_buffer.commit' } satisfies InputAudioBufferCommitEvent);
    } else this.commitQueued++;
    this.armStall();
  }

  private armStall(): void {
    this.c.clock.clearTimeout(this.stall);
    this.stall = this.outstanding > 0 ? this.c.clock.setTimeout(this.onStall, this.c.timeoutMs) : undefined;
  }

  private readonly onStall = (): void => {
    this.stall = undefined;
    if (this.outstanding > 0) this.fail(new APIConnectionTimeoutError(), this.ws);
  };

  private onMessage(data: Buffer, ws: WebSocket): void {
    if (this.ws !== ws || this.state === 'failed' || this.state === 'closed') return;
    let ev: { type?: unknown };
    try {
      ev = JSON.parse(data.toString('utf8'));
    } catch (e) {
      return this.fail(e, ws);
    }
    if (this.outstanding > 0) this.armStall();
    switch (ev.type) {
      case 'conversation.item.input_audio_transcription.delta': {
        const d = ev as ConversationItemInputAudioTranscriptionDeltaEvent;
        const text = (this.partial.get(d.item_id) ?? '') + (d.delta ?? '');
        this.partial.set(d.item_id, text);
        if (!this.firstDelta && this.commitAt.length) {
          this.firstDelta = true;
          this.c.metric('firstPartial', this.c.clock.now() - this.commitAt[0], this.o.callId);
        }
        if (text.trim()) this.o.onTranscript({ text: text.trim(), final: false });
        return;
      }
      case 'conversation.item.input_audio_transcription.completed': {
        const d = ev as ConversationItemInputAudioTranscriptionCompletedEvent;
        this.partial.delete(d.item_id);
        this.outstanding = Math.max(0, this.outstanding - 1);
        const at = this.commitAt.shift();
        if (at !== undefined) this.c.metric('final', this.c.clock.now() - at, this.o.callId);
        this.firstDelta = false;
        this.armStall();
        this.o.onTranscript({ text: String(d.transcript ?? '').trim(), final: true, ...(this.c.language ? { language: this.c.language } : {}) });
        return;
      }
      case 'conversation.item.input_audio_transcription.failed': {
        const d = ev as ConversationItemInputAudioTranscriptionFailedEvent;
        return this.fail(streamError(undefined, d.error, `transcription failed: ${d.error?.message ?? d.error?.code ?? 'no reason given'}`), ws);
      }
      case 'error': {
        const e = (ev as RealtimeErrorEvent).error ?? { type: 'server_error', message: 'error event without details' };
        // Invalid requests and keys are the config's fault (not retried); anything else is the server's.
        const status = /auth|api_key/i.test(`${e.code ?? ''} ${e.type}`) ? 401 : e.type === 'invalid_request_error' ? 400 : undefined;
        return this.fail(streamError(status, e, e.message), ws);
      }
      default:
        if (typeof ev.type !== 'string') this.fail(new ProtocolError('an event without a type'), ws);
    }
  }

  private send(ev: object): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify(ev));
  }

  private fail(e: unknown, ws: WebSocket | undefined): void {
    if (ws !== this.ws || this.state === 'failed' || this.state === 'closed') return;
    this.state = 'failed';
    this.teardown();
    const err: ProviderError = toProviderError(e, this.c.ctx);
    this.c.log?.warn({ code: err.code }, `openai-realtime stt: ${err.message}`);
    this.o.onError(err);
  }

  private teardown(): void {
    this.c.clock.clearTimeout(this.stall);
    this.stall = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (!ws) return;
    ws.removeAllListeners('message');
    // Later socket errors (after a terminate) must not become unhandled 'error' events.
    ws.on('error', () => {});
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else ws.terminate();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.teardown();
  }
}

export class OpenAiRealtimeStt extends SttPlugin {
  readonly capabilities: SttCapabilities;
  readonly model: string;
  private readonly cfg: Omit<StreamConfig, 'language'>;
  private readonly language: string | undefined;

  constructor(opts: OpenAiRealtimeSttOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'openai-realtime') {
    super(provider);
    const apiKey = resolveApiKey(opts);
    if (!apiKey) throw missingKeyError('stt');
    this.model = opts.model ?? DEFAULT_REALTIME_STT_MODEL;
    this.capabilities = { streaming: true, interimResults: true, sampleRates: realtimeRates(opts.format) };
    const baseURL = (opts.baseURL ?? process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.language = opts.language;
    this.cfg = {
      url: realtimeUrl(baseURL),
      apiKey,
      model: this.model,
      prompt: opts.prompt,
      dialect: opts.dialect ?? 'ga',
      noiseReduction: opts.noiseReduction,
      timeoutMs,
      organization: opts.organization ?? process.env.OPENAI_ORG_ID,
      project: opts.project ?? process.env.OPENAI_PROJECT_ID,
      ctx: { slot: 'stt', provider, model: this.model, baseURL, timeoutMs, endpoint: REALTIME_PATH },
      clock: ctx.clock ?? realClock,
      log: ctx.logger,
      metric: (name, ms, callId) => this.emitMetric(name, ms, callId),
    };
  }

  protected override _stream(opts: SttStreamOptions): SttStream {
    const language = this.language === 'auto' ? undefined : isoLanguage(this.language ?? opts.language);
    return new RealtimeSttStream({ ...this.cfg, language }, opts);
  }

  /** One utterance through a session of its own (the engine streams; this serves `recognize()` callers). */
  protected async _recognize(req: RecognizeRequest): Promise<Transcript> {
    return new Promise<Transcript>((resolve, reject) => {
      let s: SttStream | undefined;
      const done = (): void => {
        req.signal?.removeEventListener('abort', onAbort);
        s?.close();
      };
      const onAbort = (): void => {
        done();
        resolve({ text: '', final: true });
      };
      s = this._stream({
        sampleRate: req.sampleRate,
        language: req.language,
        callId: req.callId,
        onTranscript: (t) => {
          if (!t.final) return;
          done();
          resolve(t);
        },
        onError: (e) => {
          done();
          reject(e);
        },
      });
      if (req.signal?.aborted) return onAbort();
      req.signal?.addEventListener('abort', onAbort, { once: true });
      s.push({ samples: req.audio, sampleRate: req.sampleRate, timestampMs: 0 });
      s.endUtterance();
    });
  }
}

export const openaiRealtimeSttPlugin = definePlugin<'stt', OpenAiRealtimeSttOptions>({
  slot: 'stt',
  name: 'openai-realtime',
  description: 'OpenAI Realtime transcription over WebSocket: interim text while the caller speaks (any compatible server via baseURL)',
  optionsSchema: {
    type: 'object',
    properties: {
      apiKey: COMMON_SCHEMA_PROPS.apiKey,
      baseURL: { type: 'string', pattern: '^(https?|wss?)://', description: 'API base URL (http(s) or ws(s)); the socket opens at {baseURL}/realtime?intent=transcription' },
      model: { type: 'string', minLength: 1, description: `transcription model (default ${DEFAULT_REALTIME_STT_MODEL})` },
      timeoutMs: { type: 'integer', minimum: 100, description: `ms to connect, and from a commit to its transcript, before the stream fails (default ${DEFAULT_TIMEOUT_MS})` },
      organization: COMMON_SCHEMA_PROPS.organization,
      project: COMMON_SCHEMA_PROPS.project,
      language: { type: 'string', minLength: 2, description: 'spoken language (default settings.language; auto = detect)' },
      prompt: { type: 'string', description: 'context for the model: names, spelling' },
      format: { type: 'string', enum: ['auto', 'pcm', 'pcmu'], description: 'pcm = 24 kHz PCM16, pcmu = 8 kHz μ-law, auto = either, the engine picks (default auto)' },
      dialect: { type: 'string', enum: ['ga', 'beta'], description: 'ga: session.update; beta: transcription_session.update (default ga)' },
      noiseReduction: { type: 'string', enum: ['near_field', 'far_field'], description: 'server-side noise reduction (default off)' },
    },
    additionalProperties: false,
  },
  sampleRates: (o) => realtimeRates(o.format),
  checkOptions: checkApiKey('stt'),
  create: (options, ctx) => new OpenAiRealtimeStt(options, ctx),
});
