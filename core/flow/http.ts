import type { HttpSpec } from '../config/types.js';
import { VoicebotError } from '../errors/index.js';

export interface RenderedHttp {
  method: HttpSpec['method'];
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
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
  let res: Response;
  try {
    res = await fetchFn(req.url, { method: req.method, headers, body, signal: AbortSignal.any([signal, timeout]) });
  } catch (e) {
    // A hotkey or hangup abort is not an HTTP failure: let the runner see the abort.
    if (signal.aborted) throw e;
    if (timeout.aborted) throw fail(`no answer within ${req.timeoutMs} ms`, e);
    throw fail((e as Error)?.message ?? String(e), e);
  }
  const text = await res.text();
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
