/**
 * A local OpenAI-compatible server for tests: loopback, port 0, speaking the
 * real wire protocol the official `openai` client uses.
 *
 *  - POST /v1/audio/transcriptions  multipart upload (WAV); JSON, or SSE
 *    (`transcript.text.delta` / `transcript.text.done`) when stream=true.
 *    The uploaded audio is decoded with the mock-speech codec, so what the
 *    caller said travels as real audio.
 *  - POST /v1/chat/completions      SSE chunks with text and tool-call deltas,
 *    a usage chunk when stream_options.include_usage, then [DONE]. A
 *    response_format json_schema is checked as the API checks it (name,
 *    strict-mode rules: 400 otherwise) and answered with an object that
 *    fits it (enums: the value sharing most words with the user).
 *  - POST /v1/audio/speech          chunked 24 kHz PCM16 (response_format pcm):
 *    the input text encoded as mock speech, in odd-sized chunks.
 *
 * Scripted per test with on(endpoint, behaviour, { when, times }); every
 * request is recorded with timestamps (performance.now(), same clock as the
 * test). Faults: an HTTP status (429 with retry-after…), a stalled stream, a
 * malformed SSE chunk, a connection dropped mid-stream.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { decodeWav } from '../../../core/audio/wav.js';
import { decodeMockSpeech, encodeMockSpeech } from '../../../plugins/mock/mock-speech.js';

export type Endpoint = 'transcriptions' | 'chat' | 'speech';

export type Fault =
  /** Answer with this status and an OpenAI-style error body. */
  | { kind: 'status'; status: number; retryAfterMs?: number; retryAfterS?: number; code?: string; message?: string }
  /** Send the headers and `afterChunks` chunks, then nothing, until the client gives up. */
  | { kind: 'stall'; afterChunks?: number }
  /** Send `afterChunks` good SSE chunks, then one that is not JSON (speech: a JSON body instead of audio). */
  | { kind: 'malformed'; afterChunks?: number }
  /** Send `afterChunks` chunks, then destroy the socket (0: before any response). */
  | { kind: 'drop'; afterChunks?: number };

export interface ToolCallScript {
  id?: string;
  name: string;
  /** An object is sent as JSON; a string as is (e.g. invalid JSON). */
  arguments: string | Record<string, unknown>;
}

export interface ChatReply {
  text?: string;
  toolCalls?: ToolCallScript[];
  /** null: end the stream (with [DONE]) without a finish_reason, like a truncating proxy. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter' | null;
  usage?: { prompt: number; completion: number };
  /** Stop after the text chunk that completes `after` (a prefix of text) until `until` settles. */
  hold?: { after: string; until: () => Promise<unknown> };
}

export interface Behaviour {
  fault?: Fault;
  /** chat: the reply, or a function of the request. */
  reply?: ChatReply | ((req: RecordedRequest) => ChatReply);
  /** transcriptions: return this text instead of decoding the audio. */
  transcript?: string;
  /** speech: speak this instead of the input. */
  say?: string;
  /** speech: bytes per chunk (default 4801, odd on purpose). */
  chunkBytes?: number;
}

export interface Rule {
  endpoint: Endpoint;
  behaviour: Behaviour;
  when?: (req: RecordedRequest) => boolean;
  /** Uses left (Infinity: every matching request). */
  times: number;
}

export interface RecordedRequest {
  seq: number;
  endpoint: Endpoint | 'other';
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** JSON body (chat, speech). */
  json?: any;
  /** Multipart text fields (transcriptions). */
  fields?: Record<string, string>;
  /** The uploaded file (transcriptions), decoded. */
  file?: { name: string; type: string; bytes: number; sampleRate: number; samples: Int16Array };
  /** What the uploaded audio says (mock speech). */
  heard?: string;
  /** Headers arrived / body complete / response headers sent / response ended. */
  startedAt: number;
  receivedAt: number;
  respondedAt?: number;
  finishedAt?: number;
  status?: number;
  /** The rule's fault kind, or 'ok'. */
  outcome: string;
  /** The client closed the connection before the response ended (barge-in, timeout). */
  clientClosedEarly: boolean;
  /** SSE data lines or PCM chunks sent. */
  chunksSent: number;
  /** Settles when the response is over (ended, dropped, or closed by the client). */
  closed: Promise<void>;
}

const ENDPOINTS: Record<string, Endpoint> = {
  '/v1/audio/transcriptions': 'transcriptions',
  '/v1/chat/completions': 'chat',
  '/v1/audio/speech': 'speech',
};

export const FAKE_TTS_RATE = 24000;

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The default model behaviour: echo, call `lookup`/`lookup_order` for "order N", confirm tool results. */
export function defaultChatReply(req: RecordedRequest): ChatReply {
  const messages = (req.json?.messages ?? []) as { role: string; content: string | null }[];
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') return { text: `Done: ${last.content}.` };
  const user = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const format = req.json?.response_format;
  if (format?.type === 'json_schema') return { text: JSON.stringify(fitSchema(format.json_schema.schema, String(user))) };
  const tools = ((req.json?.tools ?? []) as { function: { name: string } }[]).map((t) => t.function.name);
  const order = /order\s*(\d+)/i.exec(user ?? '');
  const tool = tools.find((t) => t.startsWith('lookup'));
  if (order && tool) return { toolCalls: [{ name: tool, arguments: { order: order[1] } }] };
  return { text: `You said: ${String(user).replace(/[.!?]+$/, '')}.` };
}

/** The 400 message OpenAI gives for a response_format it cannot use, or undefined when it is fine. */
export function responseFormatProblem(format: any): string | undefined {
  if (format === undefined) return undefined;
  if (format?.type === 'text' || format?.type === 'json_object') return undefined;
  if (format?.type !== 'json_schema') return `Invalid value for 'response_format.type': ${JSON.stringify(format?.type)}.`;
  const js = format.json_schema;
  if (!js || typeof js.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(js.name)) return "Invalid 'response_format.json_schema.name': must match ^[a-zA-Z0-9_-]{1,64}$.";
  if (!js.schema || typeof js.schema !== 'object' || js.schema.type !== 'object') return `Invalid schema for response_format '${js.name}': schema must be a JSON Schema of 'type: "object"'.`;
  if (js.strict !== true) return undefined;
  const check = (node: any, path: string): string | undefined => {
    if (node?.type === 'object') {
      const keys = Object.keys(node.properties ?? {});
      if (node.additionalProperties !== false) return `Invalid schema for response_format '${js.name}': In context=(${path}), 'additionalProperties' is required to be supplied and to be false.`;
      const missing = keys.filter((k) => !(node.required ?? []).includes(k));
      if (missing.length) return `Invalid schema for response_format '${js.name}': In context=(${path}), 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
      for (const k of keys) {
        const p = check(node.properties[k], `${path}${path ? ', ' : ''}'properties', '${k}'`);
        if (p) return p;
      }
    }
    if (node?.type === 'array') return check(node.items, `${path}, 'items'`);
    return undefined;
  };
  return check(js.schema, '');
}

/** An answer fitting a (checked) json_schema: enums pick the value sharing most words with `user`, else "none" if offered, else the first. */
export function fitSchema(schema: any, user: string): unknown {
  const words = (s: string): string[] => s.toLowerCase().match(/[a-z0-9']{3,}/g) ?? [];
  if (Array.isArray(schema?.enum)) {
    const said = new Set(words(user));
    let best: unknown = schema.enum.includes('none') ? 'none' : schema.enum[0];
    let score = 0;
    for (const v of schema.enum) {
      const n = words(String(v)).filter((w) => said.has(w)).length;
      if (n > score) [best, score] = [v, n];
    }
    return best;
  }
  switch (schema?.type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, p]) => [k, fitSchema(p, user)]));
    case 'array':
      return [];
    case 'string':
      return user;
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

export class FakeOpenAI {
  readonly requests: RecordedRequest[] = [];
  /** When set, requests with another bearer token get 401. */
  apiKey: string | undefined;
  private readonly rules: Rule[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly waiters: { pred: (r: RecordedRequest) => boolean; resolve: (r: RecordedRequest) => void }[] = [];
  private seq = 0;
  private open = 0;
  private port = 0;

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this;
  }

  get baseURL(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** Responses still being written (a stalled or held stream counts). */
  get openResponses(): number {
    return this.open;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) {
      const s = this.server;
      this.server = undefined;
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  /** Script the next matching request(s) of `endpoint`; rules are tried in the order added. */
  on(endpoint: Endpoint, behaviour: Behaviour, opts: { when?: (req: RecordedRequest) => boolean; times?: number } = {}): this {
    this.rules.push({ endpoint, behaviour, when: opts.when, times: opts.times ?? 1 });
    return this;
  }

  /** Forget the rules and the recorded requests (between tests). */
  reset(): void {
    this.rules.length = 0;
    this.requests.length = 0;
  }

  of(endpoint: Endpoint): RecordedRequest[] {
    return this.requests.filter((r) => r.endpoint === endpoint);
  }

  /** The first recorded request (past or future) matching `pred`, checked on arrival, response start and end. */
  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs = 15_000): Promise<RecordedRequest> {
    const hit = this.requests.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (r: RecordedRequest) => {
          clearTimeout(t);
          resolve(r);
        },
      };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error('fake openai: no such request arrived'));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  private record(r: RecordedRequest): void {
    this.requests.push(r);
    this.notify(r);
  }

  /** Wakes waitFor() callers: at arrival, when the response starts and when it is over. */
  private notify(r: RecordedRequest): void {
    for (const w of [...this.waiters]) {
      if (w.pred(r)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(r);
      }
    }
  }

  private pick(rec: RecordedRequest): Behaviour {
    const rule = this.rules.find((r) => r.endpoint === rec.endpoint && r.times > 0 && (!r.when || r.when(rec)));
    if (!rule) return {};
    rule.times--;
    return rule.behaviour;
  }

  // ── HTTP ────────────────────────────────────────────────────────────────

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    let onClosed!: () => void;
    const closed = new Promise<void>((r) => (onClosed = r));
    const rec: RecordedRequest = {
      seq: ++this.seq,
      endpoint: ENDPOINTS[path] ?? 'other',
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      startedAt,
      receivedAt: performance.now(),
      outcome: 'ok',
      clientClosedEarly: false,
      chunksSent: 0,
      closed,
    };
    this.open++;
    let dropped = false;
    res.on('error', () => {});
    res.on('close', () => {
      this.open--;
      if (!res.writableFinished && !dropped) rec.clientClosedEarly = true;
      rec.finishedAt ??= performance.now();
      onClosed();
      this.notify(rec);
    });
    res.on('finish', () => (rec.finishedAt = performance.now()));
    const drop = (): void => {
      dropped = true;
      rec.outcome = 'drop';
      res.socket?.destroy();
    };

    try {
      await this.parse(req, body, rec);
    } catch (e) {
      this.record(rec);
      return this.error(res, rec, 400, `could not parse the request: ${(e as Error).message}`, 'invalid_request_error');
    }
    this.record(rec);

    if (this.apiKey !== undefined && req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return this.error(res, rec, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    if (rec.endpoint === 'other' || req.method !== 'POST') return this.error(res, rec, 404, `Unknown path ${path}`, 'invalid_request_error');

    const b = this.pick(rec);
    const f = b.fault;
    if (f) rec.outcome = f.kind;
    if (f?.kind === 'status') {
      const headers: Record<string, string> = {};
      if (f.retryAfterMs !== undefined) headers['retry-after-ms'] = String(f.retryAfterMs);
      if (f.retryAfterS !== undefined) headers['retry-after'] = String(f.retryAfterS);
      const type = f.status === 429 ? (f.code === 'insufficient_quota' ? 'insufficient_quota' : 'requests') : f.status >= 500 ? 'server_error' : 'invalid_request_error';
      return this.error(res, rec, f.status, f.message ?? `Injected ${f.status}`, type, f.code, headers);
    }
    if (f?.kind === 'drop' && !f.afterChunks) return drop();

    if (rec.endpoint === 'chat') await this.chat(res, rec, b, drop);
    else if (rec.endpoint === 'speech') await this.speech(res, rec, b, drop);
    else await this.transcription(res, rec, b, drop);
  }

  private async parse(req: IncomingMessage, body: Buffer, rec: RecordedRequest): Promise<void> {
    const type = req.headers['content-type'] ?? '';
    if (type.startsWith('application/json')) rec.json = JSON.parse(body.toString('utf8'));
    else if (type.startsWith('multipart/form-data')) {
      const form = await new Response(body, { headers: { 'content-type': type } }).formData();
      rec.fields = {};
      for (const [k, v] of form.entries()) {
        if (typeof v === 'string') rec.fields[k] = v;
        else {
          const bytes = new Uint8Array(await v.arrayBuffer());
          const wav = decodeWav(bytes);
          rec.file = { name: v.name, type: v.type, bytes: bytes.byteLength, sampleRate: wav.sampleRate, samples: wav.samples };
          rec.heard = decodeMockSpeech(wav.samples, wav.sampleRate);
        }
      }
    }
  }

  private error(res: ServerResponse, rec: RecordedRequest, status: number, message: string, type: string, code?: string, headers: Record<string, string> = {}): void {
    rec.status = status;
    rec.respondedAt = performance.now();
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message, type, param: null, code: code ?? null } }));
    this.notify(rec);
  }

  /** Writes respecting backpressure; false once the client is gone. */
  private async write(res: ServerResponse, data: string | Buffer): Promise<boolean> {
    if (res.destroyed || res.writableEnded) return false;
    if (!res.write(data)) {
      await Promise.race([once(res, 'drain'), once(res, 'close')]).catch(() => {});
    }
    await tick();
    return !res.destroyed;
  }

  private startSse(res: ServerResponse, rec: RecordedRequest): void {
    rec.status = 200;
    rec.respondedAt = performance.now();
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': `req_${rec.seq}` });
    res.flushHeaders();
    this.notify(rec);
  }

  /**
   * Sends SSE `data:` events, applying a stall/malformed/drop fault after
   * `afterChunks` of them. Returns false when the response must not go on.
   */
  private async sse(res: ServerResponse, rec: RecordedRequest, f: Fault | undefined, drop: () => void, data: string): Promise<boolean> {
    if (f && f.kind !== 'status' && rec.chunksSent >= (f.afterChunks ?? 0)) {
      if (f.kind === 'stall') return false;
      if (f.kind === 'drop') {
        drop();
        return false;
      }
      if (f.kind === 'malformed') {
        await this.write(res, 'data: {"id":"broken","choices":[{"delta":{"content":"oops\n\n');
        res.end();
        return false;
      }
    }
    rec.chunksSent++;
    return this.write(res, `data: ${data}\n\n`);
  }

  private async chat(res: ServerResponse, rec: RecordedRequest, b: Behaviour, drop: () => void): Promise<void> {
    const body = rec.json ?? {};
    const formatProblem = responseFormatProblem(body.response_format);
    if (formatProblem) return this.error(res, rec, 400, formatProblem, 'invalid_request_error');
    const script = typeof b.reply === 'function' ? b.reply(rec) : (b.reply ?? defaultChatReply(rec));
    const id = `chatcmpl-${rec.seq}`;
    const model = String(body.model ?? 'fake');
    const calls = (script.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `call_${rec.seq}_${i}`,
      name: c.name,
      arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
    }));
    const finish = script.finishReason === undefined ? (calls.length ? 'tool_calls' : 'stop') : script.finishReason;
    const usage = script.usage ?? { prompt: JSON.stringify(body.messages ?? []).length >> 2, completion: ((script.text ?? '').split(/\s+/).length + calls.length * 8) | 0 };
    const apiUsage = { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion };

    if (!body.stream) {
      rec.status = 200;
      rec.respondedAt = performance.now();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created: 0,
          model,
          choices: [
            {
              index: 0,
              finish_reason: finish,
              message: {
                role: 'assistant',
                content: script.text ?? null,
                ...(calls.length ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
              },
            },
          ],
          usage: apiUsage,
        }),
      );
      return;
    }

    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): string =>
      JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }] });
    const f = b.fault;
    this.startSse(res, rec);
    if (!(await this.sse(res, rec, f, drop, chunk({ role: 'assistant', content: '' })))) return;
    let sent = '';
    for (const piece of (script.text ?? '').match(/\S+\s*|\s+/g) ?? []) {
      if (!(await this.sse(res, rec, f, drop, chunk({ content: piece })))) return;
      sent += piece;
      const h = script.hold;
      if (h && sent.length >= h.after.length && sent.length - piece.length < h.after.length) await h.until().catch(() => {});
    }
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i];
      if (!(await this.sse(res, rec, f, drop, chunk({ tool_calls: [{ index: i, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] })))) return;
      for (const part of c.arguments.match(/[\s\S]{1,8}/g) ?? []) {
        if (!(await this.sse(res, rec, f, drop, chunk({ tool_calls: [{ index: i, function: { arguments: part } }] })))) return;
      }
    }
    if (finish !== null && !(await this.sse(res, rec, f, drop, chunk({}, finish)))) return;
    if (finish !== null && body.stream_options?.include_usage) {
      if (!(await this.sse(res, rec, f, drop, JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model, choices: [], usage: apiUsage })))) return;
    }
    if (!(await this.write(res, 'data: [DONE]\n\n'))) return;
    res.end();
  }

  private async speech(res: ServerResponse, rec: RecordedRequest, b: Behaviour, drop: () => void): Promise<void> {
    const body = rec.json ?? {};
    const f = b.fault;
    if (body.response_format !== 'pcm') return this.error(res, rec, 400, `the fake only speaks pcm, not ${body.response_format}`, 'invalid_request_error');
    if (!body.input) return this.error(res, rec, 400, 'input is required', 'invalid_request_error');
    if (f?.kind === 'malformed') {
      rec.status = 200;
      rec.respondedAt = performance.now();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"object":"not audio"}');
      return;
    }
    const samples = encodeMockSpeech(String(b.say ?? body.input), FAKE_TTS_RATE);
    const pcm = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const step = b.chunkBytes ?? 4801;
    rec.status = 200;
    rec.respondedAt = performance.now();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-request-id': `req_${rec.seq}` });
    res.flushHeaders();
    for (let i = 0; i < pcm.length; i += step) {
      if (f && f.kind !== 'status' && rec.chunksSent >= (f.afterChunks ?? 0)) {
        if (f.kind === 'stall') return;
        if (f.kind === 'drop') return drop();
      }
      rec.chunksSent++;
      if (!(await this.write(res, pcm.subarray(i, i + step)))) return;
    }
    res.end();
  }

  private async transcription(res: ServerResponse, rec: RecordedRequest, b: Behaviour, drop: () => void): Promise<void> {
    const fields = rec.fields ?? {};
    if (!rec.file) return this.error(res, rec, 400, 'file is required', 'invalid_request_error');
    if (!fields.model) return this.error(res, rec, 400, 'model is required', 'invalid_request_error');
    const text = b.transcript ?? rec.heard ?? '';
    const seconds = rec.file.samples.length / rec.file.sampleRate;
    const f = b.fault;
    if (fields.stream !== 'true') {
      if (f && f.kind !== 'status') {
        if (f.kind === 'drop') return drop();
        if (f.kind === 'stall') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
          return;
        }
      }
      rec.status = 200;
      rec.respondedAt = performance.now();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(f?.kind === 'malformed' ? '{"text": ' : JSON.stringify({ text, usage: { type: 'duration', seconds } }));
      return;
    }
    this.startSse(res, rec);
    for (const piece of text.match(/\S+\s*/g) ?? []) {
      if (!(await this.sse(res, rec, f, drop, JSON.stringify({ type: 'transcript.text.delta', delta: piece, logprobs: [] })))) return;
    }
    if (!(await this.sse(res, rec, f, drop, JSON.stringify({ type: 'transcript.text.done', text, logprobs: [], usage: { type: 'tokens', input_tokens: Math.ceil(seconds * 10), output_tokens: text.length >> 2, total_tokens: 0 } })))) return;
    res.end();
  }
}

/** A started fake; remember to close() it. */
export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  return new FakeOpenAI().start();
}
