/**
 * The worker end against hostile peers (issue #12 items 2 and 9): raw TCP
 * upgrade requests it cannot parse, and authenticated connections that never
 * start a call. Real sockets against the real worker server.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logging.js';
import type { WebSocketAudioStream } from '../../plugins/websocket/index.js';
import { CLOSE, StreamServer, DEFAULTS } from '../../plugins/websocket/index.js';
import { TOKEN, l16Frame, manualClock, rawClient, startMsg, startWorker, until } from './helpers.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function worker(): Promise<{ plugin: WebSocketAudioStream; url: string }> {
  const w = await startWorker();
  cleanups.push(() => w.plugin.stop());
  return w;
}

/** Writes `request` on a raw TCP socket; resolves with everything the server sent before closing. */
function rawHttp(url: string, request: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname);
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.setTimeout(5000, () => s.destroy()); // a hang guard: a server that never answers shows as an empty reply
    s.on('connect', () => s.write(request));
  });
}

const wsHeaders = (host: string, extra = ''): string =>
  `Host: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

describe('worker upgrade requests it cannot parse', () => {
  const TARGETS = ['http://[/calls', 'http://[::1', '//[', 'http://a:99999/calls', 'http://%zz/calls'];

  it.each(TARGETS)('GET %s: 400 and a closed socket; the worker keeps serving', async (target) => {
    const { url } = await worker();
    const host = new URL(url).host;
    const reply = await rawHttp(url, `GET ${target} HTTP/1.1\r\n${wsHeaders(host)}`);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toMatch(/VB_ERR_WS_PROTOCOL/);
    // A normal edge still gets in and starts a call.
    const c = await rawClient(url);
    cleanups.push(() => c.ws.terminate());
    c.send(startMsg('after-bad-upgrade'));
    expect((await c.next((m) => m.type === 'started')).callId).toBe('after-bad-upgrade');
  });

  it('an unparsable target with a valid token is refused the same way (parsing comes first)', async () => {
    const { url } = await worker();
    const reply = await rawHttp(url, `GET http://[/calls?token=${TOKEN} HTTP/1.1\r\n${wsHeaders(new URL(url).host, `Authorization: Bearer ${TOKEN}\r\n`)}`);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('garbage that is not HTTP at all is dropped without a reply; the worker keeps serving', async () => {
    const { url } = await worker();
    await rawHttp(url, '\x00\x01GARBAGE\r\n\r\n');
    const c = await rawClient(url);
    cleanups.push(() => c.ws.terminate());
    c.send(startMsg('after-garbage'));
    await c.next((m) => m.type === 'started');
  });
});

describe('start deadline (item 9b)', () => {
  async function server(startTimeoutMs: number) {
    const clock = manualClock();
    const s = new StreamServer(
      { host: '127.0.0.1', port: 0, path: '/calls', token: TOKEN, codecs: DEFAULTS.codecs, maxBufferedMs: 500, reconnectGraceMs: 0, pingIntervalMs: 60_000, startTimeoutMs },
      silentLogger(),
      clock,
    );
    s.handler = () => {};
    await s.listen();
    cleanups.push(() => s.close());
    return { s, clock };
  }

  it('closes a silent authenticated socket with CLOSE.startTimeout + VB_ERR_WS_START_TIMEOUT once the clock reaches the deadline', async () => {
    const { s, clock } = await server(5000);
    const idle = await rawClient(s.url!);
    cleanups.push(() => idle.ws.terminate());
    await until(() => clock.pending() >= 1, 'the start deadline armed');
    clock.advance(4999);
    // A ping round trip: had the deadline fired, its error and close would come before the pong.
    await new Promise<void>((r) => {
      idle.ws.once('pong', () => r());
      idle.ws.ping();
    });
    expect(idle.json).toEqual([]);
    expect(idle.ws.readyState).toBe(idle.ws.OPEN);
    clock.advance(1);
    const err = await idle.next((m) => m.type === 'error', 'the deadline error');
    expect(err.code).toBe('VB_ERR_WS_START_TIMEOUT');
    expect(err.message).toMatch(/startTimeoutMs/);
    expect((await idle.closed).code).toBe(CLOSE.startTimeout);
  });

  it('a connection that starts in time is not affected, and its deadline timer is cleared', async () => {
    const { s, clock } = await server(5000);
    const c = await rawClient(s.url!);
    cleanups.push(() => c.ws.terminate());
    await until(() => clock.pending() >= 1, 'the start deadline armed');
    c.send(startMsg('on-time'));
    await c.next((m) => m.type === 'started');
    await until(() => clock.pending() === 0, 'the deadline cleared');
    clock.advance(60_000);
    c.ws.send(l16Frame(100));
    c.send({ type: 'mark', name: 'still-here' });
    await until(() => s.activeLegs.length === 1 && c.ws.readyState === c.ws.OPEN, 'still streaming');
  });
});
