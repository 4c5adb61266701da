/**
 * What the three OpenAI plugins share: options, the client, the per-request
 * watchdog, retries and the mapping of every failure to a coded ProviderError.
 *
 * The SDK's own retries are turned off (maxRetries: 0 on the client): its
 * backoff sleep cannot be cancelled by barge-in, it would wait out any
 * retry-after however long, and it cannot tell whether audio or text already
 * reached the caller. The loop here can.
 */
import OpenAI, { type ClientOptions, APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { VoicebotError, sleep, type ErrorCode } from '../../core/plugin-api.js';
import type { Logger } from '../../core/plugin-api.js';
import { ProviderError } from '../../core/plugin-api.js';
import type { SlotName } from '../../core/plugin-api.js';

export const API_KEY_ENV = 'OPENAI_API_KEY';
export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_RETRIES = 2;
/** A retry-after longer than this is not waited out on a live call: the error goes to the fallback chain, which skips this provider for that long. */
export const MAX_RETRY_WAIT_MS = 3_000;
/** First backoff step when the server gave no retry-after (doubles per attempt, capped at MAX_RETRY_WAIT_MS). */
export const BACKOFF_BASE_MS = 200;

export interface OpenAiCommonOptions {
  /** Default: the OPENAI_API_KEY environment variable. */
  apiKey?: string;
  /** Default: OPENAI_BASE_URL, else https://api.openai.com/v1. Any OpenAI-compatible server works. */
  baseURL?: string;
  model?: string;
  /** ms to the response headers, and between two streamed chunks, before the request counts as failed. */
  timeoutMs?: number;
  /** Retries of a failed request before any of its output was used (default 2). */
  maxRetries?: number;
  organization?: string;
  project?: string;
}

export const COMMON_SCHEMA_PROPS = {
  apiKey: { type: 'string', minLength: 1, description: `API key (default: the ${API_KEY_ENV} environment variable)` },
  baseURL: { type: 'string', pattern: '^https?://', description: 'API base URL, e.g. http://127.0.0.1:8000/v1 for a self-hosted OpenAI-compatible server' },
  model: { type: 'string', minLength: 1, description: 'model name' },
  timeoutMs: { type: 'integer', minimum: 100, description: `ms to the first byte and between streamed chunks (default ${DEFAULT_TIMEOUT_MS})` },
  maxRetries: { type: 'integer', minimum: 0, maximum: 10, description: `retries of a failed request before any output was used (default ${DEFAULT_MAX_RETRIES})` },
  organization: { type: 'string', description: 'OpenAI organization id (default: OPENAI_ORG_ID)' },
  project: { type: 'string', description: 'OpenAI project id (default: OPENAI_PROJECT_ID)' },
} as const;

/** The key the plugin will use: the option, else the environment. */
export function resolveApiKey(opts: OpenAiCommonOptions, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  return opts.apiKey || env[API_KEY_ENV] || undefined;
}

export function missingKeyError(slot: SlotName): VoicebotError {
  return new VoicebotError('VB_ERR_OPENAI_API_KEY', { slot, env: API_KEY_ENV });
}

/** Config-time check (manifest.checkOptions): a missing key is reported by `voicebot validate`. */
export function checkApiKey(slot: SlotName) {
  return (opts: OpenAiCommonOptions, env: Readonly<Record<string, string | undefined>>): VoicebotError[] =>
    resolveApiKey(opts, env) ? [] : [missingKeyError(slot)];
}

/** The SDK logs through the plugin's logger (it would use console otherwise). */
function sdkLogger(log: Logger | undefined): NonNullable<ClientOptions['logger']> {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, ...rest: unknown[]): void => {
      if (!log) return;
      // Request/response details may carry headers: only the message goes to the log.
      log[level]({ sdk: 'openai', extra: rest.length ? rest.map((r) => (typeof r === 'string' ? r.slice(0, 200) : typeof r)).join(' ') : undefined }, message);
    };
  return { debug: at('debug'), info: at('debug'), warn: at('warn'), error: at('warn') };
}

export interface ClientInfo {
  client: OpenAI;
  baseURL: string;
  timeoutMs: number;
  maxRetries: number;
}

export function createClient(slot: SlotName, opts: OpenAiCommonOptions, log?: Logger): ClientInfo {
  const apiKey = resolveApiKey(opts);
  if (!apiKey) throw missingKeyError(slot);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const client = new OpenAI({
    apiKey,
    // undefined: the client reads OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_PROJECT_ID.
    baseURL: opts.baseURL,
    organization: opts.organization,
    project: opts.project,
    timeout: timeoutMs,
    maxRetries: 0,
    logger: sdkLogger(log),
    logLevel: 'warn',
  });
  return { client, baseURL: client.baseURL.replace(/\/+$/, ''), timeoutMs, maxRetries: opts.maxRetries ?? DEFAULT_MAX_RETRIES };
}

/** BCP-47 (en-US) → the ISO-639-1 code the transcription API takes (en). */
export function isoLanguage(tag: string | undefined): string | undefined {
  if (!tag || tag === 'auto') return undefined;
  const primary = tag.split(/[-_]/)[0].toLowerCase();
  return /^[a-z]{2,3}$/.test(primary) ? primary : undefined;
}

// ── One request: cancellation and the idle watchdog ────────────────────────

/**
 * The AbortSignal handed to the SDK for one HTTP request. It follows the
 * caller's signal (barge-in, hangup) and a watchdog that fires when nothing
 * arrived for timeoutMs; touch() re-arms it on every chunk. The caller's
 * long-lived signal never gets listeners from the SDK, only this one's.
 */
export class RequestScope {
  private readonly ac = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stalled = false;

  constructor(
    private readonly parent: AbortSignal | undefined,
    private readonly timeoutMs: number,
  ) {
    if (parent?.aborted) this.ac.abort(parent.reason);
    else parent?.addEventListener('abort', this.onParent, { once: true });
    this.touch();
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** The caller cancelled (not a timeout). */
  get cancelled(): boolean {
    return this.parent?.aborted === true;
  }

  get timedOut(): boolean {
    return this.stalled;
  }

  touch(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.ac.signal.aborted) return;
    this.timer = setTimeout(this.onStall, this.timeoutMs);
  }

  /** Ends the HTTP request (if still open) and releases the listeners. Idempotent. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.parent?.removeEventListener('abort', this.onParent);
    if (!this.ac.signal.aborted) this.ac.abort();
  }

  private readonly onParent = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.ac.abort(this.parent?.reason);
  };

  private readonly onStall = (): void => {
    this.timer = undefined;
    this.stalled = true;
    this.ac.abort();
  };
}

// ── Errors ────────────────────────────────────────────────────────────────

export interface ErrorContext {
  slot: SlotName;
  provider: string;
  model: string;
  baseURL: string;
  timeoutMs: number;
  /** API path, for protocol errors: /audio/transcriptions, /chat/completions, /audio/speech. */
  endpoint: string;
}

/** A failure the plugin itself detected in what the server sent. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

export function retryAfterMs(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  if (Number.isFinite(Number(ra))) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

const CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function causeChain(e: unknown): unknown[] {
  const out: unknown[] = [];
  let c: unknown = e;
  for (let i = 0; i < 5 && c; i++) {
    out.push(c);
    c = (c as { cause?: unknown }).cause;
  }
  return out;
}

function isConnectionFailure(e: unknown): boolean {
  return causeChain(e).some((c) => {
    const code = (c as { code?: unknown })?.code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    // undici: a body cut off mid-stream is "TypeError: terminated".
    return c instanceof TypeError && /terminated|fetch failed|other side closed|socket/i.test(c.message);
  });
}

function short(s: string, n = 200): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n)}…` : one;
}

/** Any failure of one request → a coded ProviderError with the retryable contract. */
export function toProviderError(e: unknown, ctx: ErrorContext, scope?: RequestScope): ProviderError {
  if (e instanceof ProviderError) return e;
  const base = { slot: ctx.slot, provider: ctx.provider, cause: e };
  const params = { baseURL: ctx.baseURL, model: ctx.model, timeoutMs: ctx.timeoutMs, endpoint: ctx.endpoint, env: API_KEY_ENV };
  const make = (code: ErrorCode, detail: string, retryable: boolean, extra: { status?: number; retryAfterMs?: number; params?: Record<string, string | number> } = {}): ProviderError =>
    new ProviderError({ ...base, code, detail, retryable, status: extra.status, retryAfterMs: extra.retryAfterMs, params: { ...params, ...extra.params } });

  if (scope?.timedOut || e instanceof APIConnectionTimeoutError) return make('VB_ERR_OPENAI_TIMEOUT', 'timeout', true);
  if (e instanceof APIUserAbortError) return make('VB_ERR_OPENAI_CONNECTION', 'request aborted', true);
  if (e instanceof APIConnectionError) {
    const root = causeChain(e).slice(1).map((c) => (c as Error)?.message).filter(Boolean).pop();
    return make('VB_ERR_OPENAI_CONNECTION', short(root ? `${e.message} ${root}` : e.message), true);
  }
  if (e instanceof APIError) {
    const status = e.status;
    const body = e.error as { message?: unknown } | undefined;
    const detail = short(typeof body?.message === 'string' ? body.message : e.message);
    if (status === undefined) {
      // An error event inside a stream that had started fine.
      return make('VB_ERR_OPENAI_SERVER', detail, true, { params: { status: 'in stream' } });
    }
    const sp = { status };
    if (status === 401 || status === 403) return make('VB_ERR_OPENAI_AUTH', detail, false, { status, params: sp });
    if (status === 429) {
      const after = retryAfterMs(e.headers);
      if (e.code === 'insufficient_quota') return make('VB_ERR_OPENAI_QUOTA', detail, true, { status, params: sp });
      return make('VB_ERR_OPENAI_RATE_LIMITED', detail, true, {
        status,
        retryAfterMs: after,
        params: { ...sp, retryAfter: after === undefined ? '' : `, retry after ${Math.round(after)} ms` },
      });
    }
    if (status === 408 || status === 409 || status >= 500) {
      return make('VB_ERR_OPENAI_SERVER', detail, true, { status, retryAfterMs: retryAfterMs(e.headers), params: sp });
    }
    return make('VB_ERR_OPENAI_REQUEST', detail, false, { status, params: sp });
  }
  if (e instanceof ProtocolError) return make('VB_ERR_OPENAI_PROTOCOL', short(e.message), true);
  if (e instanceof SyntaxError) return make('VB_ERR_OPENAI_PROTOCOL', short(`malformed JSON in the stream: ${e.message}`), true);
  if (isConnectionFailure(e)) return make('VB_ERR_OPENAI_CONNECTION', short(`connection lost: ${(e as Error).message}`), true);
  return make('VB_ERR_PROVIDER', short(e instanceof Error ? e.message : String(e)), false);
}

/** Should the plugin itself try this request again (as opposed to leaving it to a fallback chain)? */
export function retryDelay(err: ProviderError, attempt: number): number | undefined {
  if (!err.retryable || err.code === 'VB_ERR_OPENAI_QUOTA') return undefined;
  const wait = err.retryAfterMs ?? Math.min(MAX_RETRY_WAIT_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return wait > MAX_RETRY_WAIT_MS ? undefined : wait;
}

/** The cancellation the public wrappers expect from an aborted request. */
export function cancelledError(what: string): VoicebotError {
  return new VoicebotError('VB_ERR_CANCELLED', { what });
}

// ── Retries ───────────────────────────────────────────────────────────────

/**
 * Runs requests of one plugin instance with retries. A request is retried
 * (maxRetries times) on a retryable failure only while none of its output has
 * been used; after that the error goes up as it is (retryable), so a fallback
 * chain can take over without the caller hearing anything twice.
 */
export class Requester {
  constructor(
    readonly info: ClientInfo,
    private readonly ctx: Omit<ErrorContext, 'endpoint' | 'baseURL' | 'timeoutMs'>,
    private readonly log?: Logger,
  ) {}

  get client(): OpenAI {
    return this.info.client;
  }

  errorContext(endpoint: string): ErrorContext {
    return { ...this.ctx, endpoint, baseURL: this.info.baseURL, timeoutMs: this.info.timeoutMs };
  }

  /** One request whose result is used only when complete (e.g. a transcription). */
  async once<T>(endpoint: string, signal: AbortSignal | undefined, fn: (scope: RequestScope) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const scope = new RequestScope(signal, this.info.timeoutMs);
      try {
        const out = await fn(scope);
        if (scope.cancelled) throw cancelledError(`${this.ctx.slot} request`);
        if (scope.timedOut) throw toProviderError(undefined, this.errorContext(endpoint), scope);
        return out;
      } catch (e) {
        if (scope.cancelled) throw cancelledError(`${this.ctx.slot} request`);
        const err = toProviderError(e, this.errorContext(endpoint), scope);
        await this.beforeRetry(err, attempt, signal);
        if (signal?.aborted) throw cancelledError(`${this.ctx.slot} request`);
      } finally {
        scope.close();
      }
    }
  }

  /**
   * A streamed request: `open` sends it and returns its parsed events. Events
   * are passed on as they arrive (each one re-arms the idle watchdog). Ends
   * quietly when the caller cancels; the consumer checks its signal. Events
   * before the first committing one must not change the consumer's state.
   */
  async *stream<T>(
    endpoint: string,
    signal: AbortSignal | undefined,
    open: (scope: RequestScope) => Promise<AsyncIterable<T>>,
    /** Whether an event is output the caller may already have used (then a retry would repeat it). Default: every event. */
    commits: (ev: T) => boolean = () => true,
  ): AsyncGenerator<T, void, undefined> {
    for (let attempt = 0; ; attempt++) {
      const scope = new RequestScope(signal, this.info.timeoutMs);
      let yielded = false;
      try {
        const events = await open(scope);
        scope.touch();
        for await (const ev of events) {
          scope.touch();
          if (!yielded && commits(ev)) yielded = true;
          yield ev;
          if (scope.cancelled) return;
        }
        if (scope.cancelled) return;
        // The SDK ends an aborted stream without an error: tell a stall from the end.
        if (scope.timedOut) throw new ProtocolError('stalled');
        return;
      } catch (e) {
        if (scope.cancelled) return;
        const err = toProviderError(e, this.errorContext(endpoint), scope);
        if (yielded) throw err;
        await this.beforeRetry(err, attempt, signal);
        if (signal?.aborted) return;
      } finally {
        scope.close();
      }
    }
  }

  /** Throws `err` unless it is worth another attempt; otherwise waits as the server asked. */
  private async beforeRetry(err: ProviderError, attempt: number, signal: AbortSignal | undefined): Promise<void> {
    const wait = attempt < this.info.maxRetries ? retryDelay(err, attempt) : undefined;
    if (wait === undefined) throw err;
    this.log?.warn({ code: err.code, status: err.status, attempt: attempt + 1, waitMs: Math.round(wait) }, `openai ${this.ctx.slot}: retrying after ${err.code}`);
    await sleep(wait, signal);
  }
}
