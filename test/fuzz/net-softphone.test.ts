/**
 * Structure-aware fuzz of the softphone protocol through the real line
 * server: each case is one real WebSocket that sends a (possibly broken)
 * hello and then broken in-call messages, text or binary. Every case must end
 * in a coded error, a closed socket, or a call that still answers `hangup`
 * with `ended` — and the line must take a normal call afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { SoftphoneClient, type LocalTelephony } from '../../plugins/local/index.js';
import { startToneLine } from '../local/helpers.js';
import { until } from '../websocket/helpers.js';
import { FUZZ_SEED, fuzzJson, gen, iterations, type Gen } from './gen.js';

const HELLO = { type: 'hello', version: 1, sampleRate: 16000, from: '+15550001', to: 'bot' };
const IN_CALL: Record<string, unknown>[] = [
  { type: 'dtmf', digits: '12#' },
  { type: 'say', text: 'hello there' },
  { type: 'ack', id: 1 },
  { type: 'hangup' },
  HELLO,
];

let line: LocalTelephony;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ line, stop } = await startToneLine());
});
afterAll(() => stop());

interface Outcome {
  errors: { code: string; message: string }[];
  closed: boolean;
  ended: boolean;
}

function send(ws: WebSocket, g: Gen, data: string | Buffer): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  // A Buffer goes out as binary (audio) or, sometimes, as a text frame of raw bytes.
  if (typeof data === 'string') ws.send(data);
  else ws.send(data, { binary: !g.chance(0.3) });
}

async function runCase(g: Gen): Promise<Outcome> {
  const ws = new WebSocket(line.wsUrl!);
  const out: Outcome = { errors: [], closed: false, ended: false };
  const texts: Record<string, any>[] = [];
  ws.on('message', (d, bin) => {
    if (bin) return;
    const m = JSON.parse(String(d));
    texts.push(m);
    if (m.type === 'error') out.errors.push(m);
    if (m.type === 'ended') out.ended = true;
  });
  ws.on('error', () => {});
  const closed = new Promise<void>((r) => ws.on('close', () => r((out.closed = true) && undefined)));
  await new Promise<void>((r, j) => {
    ws.once('open', () => r());
    ws.once('error', j);
  });
  const validHello = g.chance(0.6);
  send(ws, g, validHello ? JSON.stringify(HELLO) : fuzzJson(g, HELLO));
  if (validHello) await until(() => out.closed || texts.some((m) => m.type === 'answered'), 'answered', 5000);
  const n = 1 + g.int(4);
  for (let i = 0; i < n; i++) {
    if (g.chance(0.2)) send(ws, g, g.bytes(g.pick([1, 3, 640, 1920, 5000])));
    else send(ws, g, fuzzJson(g, g.pick(IN_CALL)));
  }
  // The probe: a socket that is still open must still be served.
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'hangup' }));
  await until(() => out.closed || out.ended || out.errors.length > 0, 'a reply, an error or a close', 5000);
  ws.terminate();
  await closed;
  return out;
}

describe('fuzz: softphone protocol (real line server)', () => {
  const N = iterations(150);
  it(`${N} cases from seed ${FUZZ_SEED}: coded errors or clean ends, then a normal call works`, async () => {
    const g = gen(FUZZ_SEED);
    const tally = { errors: 0, closedOnly: 0, ended: 0 };
    for (let i = 0; i < N; i++) {
      const o = await runCase(g).catch((e: Error) => {
        throw new Error(`case ${i} (seed ${FUZZ_SEED}): ${e.message}`);
      });
      for (const e of o.errors) {
        expect(e.code, `case ${i}`).toMatch(/^VB_ERR_LOCAL_(PROTOCOL|LIMIT)$/);
        expect(e.message.length).toBeGreaterThan(10);
      }
      if (o.errors.length) tally.errors++;
      else if (o.ended) tally.ended++;
      else tally.closedOnly++;
    }
    // The generator reached both the refusals and the happy path.
    expect(tally.errors).toBeGreaterThan(N / 10);
    expect(tally.ended).toBeGreaterThan(0);
    // Nothing left behind: every fuzzed call is gone.
    await until(() => line.calls.size === 0, 'all fuzzed calls forgotten');
    const c = new SoftphoneClient(line.wsUrl!);
    await c.answered;
    await until(() => c.rxFrames > 10, 'audio on a normal call after the fuzz');
    c.hangup();
    expect(await c.ended).toBe('caller-hangup');
    c.close();
  }, 120_000);
});
