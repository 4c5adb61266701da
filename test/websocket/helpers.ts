import { WebSocket } from 'ws';
import { silentLogger } from '../../core/logging.js';
import type { CallLeg } from '../../core/plugins/telephony.js';
import { WebSocketAudioStream, type WebSocketStreamOptions } from '../../plugins/websocket/index.js';

export const TOKEN = 'test-token-0123456789abcdef';

/** Polls `f` until it returns a value; the timeout is only a hang guard. */
export async function until<T>(f: () => T | undefined | false, what: string, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A worker-role plugin on a free port; every streamed leg lands in `legs`. */
export async function startWorker(opts: Partial<WebSocketStreamOptions> = {}): Promise<{ plugin: WebSocketAudioStream; url: string; legs: CallLeg[] }> {
  const plugin = new WebSocketAudioStream({ token: TOKEN, listen: { port: 0 }, ...opts }, { logger: silentLogger() });
  const legs: CallLeg[] = [];
  plugin.setRole('worker', (leg) => legs.push(leg));
  await plugin.start();
  return { plugin, url: plugin.listenUrl!, legs };
}

export interface RawClient {
  ws: WebSocket;
  json: Record<string, any>[];
  binary: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
  send(msg: unknown): void;
  /** Resolves with the first JSON message (seen or future) matching `pred`. */
  next(pred: (m: Record<string, any>) => boolean, what?: string): Promise<Record<string, any>>;
}

/** A bare `ws` client speaking the protocol by hand. Resolves once open; rejects with the HTTP status on a refused upgrade. */
export function rawClient(url: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const json: Record<string, any>[] = [];
    const binary: Buffer[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    let refused = false;
    ws.on('unexpected-response', (_req, res) => {
      refused = true;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body }));
        ws.terminate();
      });
    });
    ws.on('error', (e) => {
      if (!refused) reject(e);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) binary.push(Buffer.from(data as Buffer));
      else json.push(JSON.parse((data as Buffer).toString()));
    });
    ws.on('open', () =>
      resolve({
        ws,
        json,
        binary,
        closed,
        send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
        next: (pred, what = 'a message') => until(() => json.find(pred), what),
      }),
    );
  });
}

export function startMsg(callId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'start', version: 1, callId, from: '+15550001111', to: '+15550123', offer: [{ codec: 'l16', sampleRate: 16000 }], ...extra };
}

/** One 20 ms l16 frame at 16 kHz filled with `v`. */
export function l16Frame(v: number): Buffer {
  const s = new Int16Array(320).fill(v);
  return Buffer.from(s.buffer);
}

/** A Clock whose time only moves when the test says so; due timers fire inside advance(), in order. */
export function manualClock(): import('../../core/time/clock.js').Clock & { advance(ms: number): void; pending(): number } {
  type T = { at: number; fn: () => void; seq: number };
  let now = 0;
  let seq = 0;
  const timers = new Set<T>();
  const clock = {
    now: () => now,
    wallNow: () => now,
    virtual: true,
    setTimeout: (fn: () => void, ms: number) => {
      const t: T = { at: now + Math.max(0, ms), fn, seq: seq++ };
      timers.add(t);
      return t as unknown as import('../../core/time/clock.js').TimerHandle;
    },
    clearTimeout: (h: unknown) => void timers.delete(h as T),
    sleep: (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve) => {
        const t = clock.setTimeout(resolve, ms);
        signal?.addEventListener('abort', () => {
          clock.clearTimeout(t);
          resolve();
        });
      }),
    pending: () => timers.size,
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
        if (!due) break;
        timers.delete(due);
        now = due.at;
        due.fn();
      }
      now = end;
    },
  };
  return clock;
}
