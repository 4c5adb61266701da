/**
 * Structure-aware fuzz of the audio-stream protocol, both directions, over
 * real sockets:
 * - edge → worker: authenticated raw clients send broken `start`s and broken
 *   control/binary messages to the real worker;
 * - worker → edge: a fake worker answers a real edge (EdgeStream, with a mock
 *   phone leg) with broken `started` and control messages.
 * Every case must end in a coded error, a closed socket, or a call that still
 * ends cleanly when asked; afterwards the worker takes a normal call.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { silentLogger } from '../../core/logging.js';
import type { IncomingCall } from '../../core/plugins/telephony.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { WebSocketAudioStream } from '../../plugins/websocket/index.js';
import { TOKEN, l16Frame, rawClient, startMsg, startWorker, until } from '../websocket/helpers.js';
import { FUZZ_SEED, fuzzJson, gen, iterations, type Gen } from './gen.js';

function send(ws: WebSocket, g: Gen, data: string | Buffer): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  if (typeof data === 'string') ws.send(data);
  else ws.send(data, { binary: !g.chance(0.3) });
}

describe('fuzz: edge → worker (real worker server)', () => {
  let worker: Awaited<ReturnType<typeof startWorker>>;
  beforeAll(async () => {
    worker = await startWorker({ reconnectGraceMs: 0 });
  });
  afterAll(() => worker.plugin.stop());

  const CONTROL: Record<string, unknown>[] = [
    { type: 'dtmf', digit: '5' },
    { type: 'mark', name: 'm1', ms: 200 },
    { type: 'result', id: 1, ok: false, error: { code: 'X', message: 'no' } },
    { type: 'error', code: 'VB_ERR_X', message: 'edge says' },
    { type: 'stop', reason: 'caller-hangup' },
  ];

  const N = iterations(150);
  it(`${N} cases from seed ${FUZZ_SEED}: coded errors or clean ends, then a normal stream works`, async () => {
    const g = gen(FUZZ_SEED);
    let coded = 0;
    for (let i = 0; i < N; i++) {
      const c = await rawClient(worker.url);
      const callId = `fuzz-${i}`;
      const valid = startMsg(callId);
      const validStart = g.chance(0.6);
      send(c.ws, g, validStart ? JSON.stringify(valid) : fuzzJson(g, valid));
      if (validStart) await until(() => c.json.some((m) => m.type === 'started') || c.ws.readyState !== WebSocket.OPEN, 'started', 5000);
      const n = 1 + g.int(4);
      for (let k = 0; k < n; k++) {
        if (g.chance(0.25)) send(c.ws, g, g.chance(0.5) ? l16Frame(g.int(30000)) : g.bytes(g.pick([1, 160, 639, 641, 5000])));
        else send(c.ws, g, fuzzJson(g, g.pick([...CONTROL, valid])));
      }
      // The probe: an open stream must still answer. A started one ends on stop; an unstarted one starts (or refuses).
      if (c.ws.readyState === WebSocket.OPEN) {
        const started = c.json.some((m) => m.type === 'started');
        c.send(started ? { type: 'stop', reason: 'caller-hangup' } : startMsg(`${callId}-probe`));
        if (!started) {
          await until(() => c.json.some((m) => m.type === 'started' || m.type === 'error') || c.ws.readyState !== WebSocket.OPEN, 'probe answer', 5000);
          c.send({ type: 'stop', reason: 'caller-hangup' });
        }
      }
      const closed = await Promise.race([c.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
      expect(closed, `case ${i} (seed ${FUZZ_SEED}): the stream neither closed nor ended`).toBeDefined();
      for (const m of c.json.filter((x) => x.type === 'error')) expect(m.code, `case ${i}`).toMatch(/^VB_ERR_WS_[A-Z_]+$/);
      if (c.json.some((m) => m.type === 'error')) coded++;
    }
    expect(coded).toBeGreaterThan(N / 10);
    // Nothing left behind, and a normal edge still streams.
    await until(() => worker.plugin.streamServer!.activeLegs.length === 0, 'every fuzzed call ended');
    const c = await rawClient(worker.url);
    c.send(startMsg('after-fuzz'));
    expect((await c.next((m) => m.type === 'started')).callId).toBe('after-fuzz');
    c.send({ type: 'stop', reason: 'caller-hangup' });
    expect((await c.closed).code).toBe(1000);
  }, 120_000);
});

describe('fuzz: worker → edge (real EdgeStream against a fake worker)', () => {
  let wss: WebSocketServer;
  let url: string;
  /** What the fake worker does with the next connection. */
  let script: (ws: WebSocket, start: Record<string, any>) => void = () => {};
  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/calls`;
    wss.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.once('message', (d) => script(ws, JSON.parse(String(d))));
    });
  });
  afterAll(() => new Promise<void>((r) => wss.close(() => r())));

  const N = iterations(100);
  it(`${N} cases from seed ${FUZZ_SEED}: every forwarded call ends with a result, the phone leg is hung up`, async () => {
    const g = gen(FUZZ_SEED + 1);
    const edge = new WebSocketAudioStream({ url, token: TOKEN, reconnectGraceMs: 0, connectTimeoutMs: 2000 }, { logger: silentLogger() });
    edge.setRole('edge', undefined);
    await edge.start();
    const tel = new MockTelephony({ codec: 'l16', sampleRate: 16000 });
    const offered: IncomingCall[] = [];
    await tel.listen({ onIncomingCall: (c) => offered.push(c) });
    try {
      const reasons = new Set<string>();
      for (let i = 0; i < N; i++) {
        script = (ws, start) => {
          const started = { type: 'started', version: 1, callId: start.callId, session: `s-${i}`, format: { codec: 'l16', sampleRate: 16000 }, frameMs: 20, resumed: false };
          send(ws, g, g.chance(0.5) ? JSON.stringify(started) : fuzzJson(g, started));
          const MSGS: Record<string, unknown>[] = [
            { type: 'mark', name: 'm1', ms: 200 },
            { type: 'clear' },
            { type: 'dtmf', id: 1, digits: '12' },
            { type: 'transfer', id: 2, to: '+15550100', timeoutMs: 1000 },
            { type: 'error', code: 'VB_ERR_WS_PROTOCOL', message: 'worker says' },
            started,
          ];
          const n = 1 + g.int(4);
          for (let k = 0; k < n; k++) {
            if (g.chance(0.25)) send(ws, g, g.chance(0.5) ? l16Frame(1000) : g.bytes(g.pick([1, 639, 5000])));
            else send(ws, g, fuzzJson(g, g.pick(MSGS)));
          }
          // The fake worker then ends the call (or just drops the socket).
          if (g.chance(0.5)) send(ws, g, JSON.stringify({ type: 'stop', reason: 'bot-hangup' }));
          else setTimeout(() => ws.terminate(), 20);
        };
        const caller = tel.placeCall({ sampleRate: 16000 });
        const leg = await offered.shift()!.answer();
        const result = await Promise.race([
          edge.forward(leg, { flow: 'main' }),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000)),
        ]);
        expect(result, `case ${i} (seed ${FUZZ_SEED + 1}): the forwarded call never ended`).toBeDefined();
        reasons.add(result!.reason);
        if (result!.error) expect(result!.error.code, `case ${i}`).toMatch(/^VB_ERR_WS_[A-Z_]+$/);
        await Promise.race([caller.ended, new Promise((r) => setTimeout(r, 5000))]);
        await leg.hangup('bot-hangup').catch(() => undefined);
      }
      expect(reasons.size).toBeGreaterThan(1);
    } finally {
      await tel.stop();
      await edge.stop();
    }
  }, 180_000);
});
