/**
 * The edge's startup check: can it reach a worker, and does the worker accept
 * its token? Opens the stream WebSocket with the token and closes it before
 * any `start` (a worker ignores a connection that never starts a call).
 */
import { WebSocket } from 'ws';

export type ProbeResult = { ok: true } | { ok: false; why: string };

export function probeWorker(url: string, token: string, timeoutMs = 3000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      resolve(r);
    };
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, handshakeTimeout: timeoutMs, perMessageDeflate: false });
    ws.on('open', () => {
      finish({ ok: true });
      ws.close(1000);
    });
    ws.on('unexpected-response', (_req, res) => {
      const s = res.statusCode ?? 0;
      res.resume();
      finish({ ok: false, why: s === 401 ? 'the worker refused the token (HTTP 401): use the same audioStream.token on both' : s === 503 ? 'the worker is draining or full (HTTP 503)' : `HTTP ${s} instead of a WebSocket upgrade (check the path)` });
      ws.terminate();
    });
    ws.on('error', (e) => finish({ ok: false, why: `unreachable (${e.message})` }));
    ws.on('close', () => finish({ ok: false, why: 'closed before the upgrade' }));
  });
}
