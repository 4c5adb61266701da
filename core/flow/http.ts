import type { HttpSpec } from '../config/types.js';
import { VoicebotError } from '../errors/index.js';

export interface RenderedHttp {
  method: HttpSpec['method'];
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  /** Largest response body read (default DEFAULT_HTTP_MAX_BYTES). */
  maxBytes?: number;
}

/** Response bodies of http steps and tools: JSON for templates, not downloads. */
export const DEFAULT_HTTP_MAX_BYTES = 1024 * 1024;

/** Raised by readCapped() past the cap; callers turn it into their own coded error. */
export class BodyTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`response is larger than ${maxBytes} bytes`);
  }
}

/**
 * Reads a response body up to `maxBytes`, refusing early from Content-Length
 * and otherwise stopping (and cancelling the stream) at the first chunk past
 * the cap, so a hostile or broken server cannot make the process buffer
 * without bound. Aborting the request's signal ends the read too.
 */
export async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new BodyTooLarge(maxBytes);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * undici says only "fetch failed"; the reason (connect ECONNREFUSED
 * 127.0.0.1:9, getaddrinfo ENOTFOUND …) is in its cause chain.
 */
function withCause(e: unknown): string {
  const top = (e as Error)?.message ?? String(e);
  let c = (e as { cause?: unknown })?.cause;
  let root: unknown;
  for (let i = 0; i < 5 && c; i++, c = (c as { cause?: unknown }).cause) root = c;
  if (!root) return top;
  const msg = (root as Error).message || String((root as { code?: unknown }).code ?? root);
  return msg && !top.includes(msg) ? `${top} (${msg})` : top;
}

/**
 * One request for an http step or an http tool. Objects go out as JSON;
 * the answer comes back parsed as JSON when it is JSON, as text otherwise.
 * Non-2xx, network errors and timeouts all become VB_ERR_FLOW_HTTP so steps
 * can route them to `onError` uniformly.
 */
export async function httpRequest(req: RenderedHttp, fetchFn: typeof fetch, signal: AbortSignal): Promise<unknown> {
  const headers: Record<string, string> = { ...req.headers };
  let body: string | undefined;
  if (req.body !== undefined && req.method !== 'GET') {
    if (typeof req.body === 'string') body = req.body;
    else {
      body = JSON.stringify(req.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    }
  }
  const timeout = AbortSignal.timeout(req.timeoutMs > 0 ? req.timeoutMs : 10_000);
  const fail = (detail: string, cause?: unknown): VoicebotError =>
    new VoicebotError('VB_ERR_FLOW_HTTP', { method: req.method, url: req.url, detail }, { cause });
  const maxBytes = req.maxBytes ?? DEFAULT_HTTP_MAX_BYTES;
  let res: Response;
  let text: string;
  // The timeout covers the body too: a server that sends headers and then stalls is no answer.
  try {
    res = await fetchFn(req.url, { method: req.method, headers, body, signal: AbortSignal.any([signal, timeout]) });
    text = new TextDecoder().decode(await readCapped(res, maxBytes));
  } catch (e) {
    // A hotkey or hangup abort is not an HTTP failure: let the runner see the abort.
    if (signal.aborted) throw e;
    if (timeout.aborted) throw fail(`no complete answer within ${req.timeoutMs} ms`, e);
    if (e instanceof BodyTooLarge) throw fail(`${e.message} (raise maxBytes if it is expected)`, e);
    throw fail(withCause(e), e);
  }
  if (!res.ok) throw fail(`status ${res.status}${text ? ` ${text.slice(0, 200)}` : ''}`);
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      if (type.includes('json')) throw fail('response is not valid JSON');
    }
  }
  return text;
}
