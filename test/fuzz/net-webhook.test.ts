/**
 * Structure-aware fuzz of RingCentral webhook deliveries: real HTTP POSTs to
 * the real plugin's webhook server while a call is up. Every POST gets an
 * HTTP status (or a cut socket for an oversized body), nothing throws, junk
 * does not end the call, and afterwards a real Disconnected event still does.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallLeg, HangupReason } from '../../core/plugins/telephony.js';
import { parseTelephonySessionEvent } from '../../plugins/ringcentral/webhook.js';
import type { FakeCall } from '../fakes/ringcentral/index.js';
import { startRig, type Rig } from '../ringcentral/helpers.js';
import { FUZZ_SEED, gen, iterations, mutateText, mutateValue } from './gen.js';

const TOKEN = 'verify-token-123';

function post(url: string, body: string | Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (e) => {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || code === 'EPIPE') resolve(-1);
      else reject(e);
    });
    req.end(body);
  });
}

let rig: Rig;
let call: FakeCall;
let leg: CallLeg;
const ended: HangupReason[] = [];
beforeAll(async () => {
  rig = await startRig({ plugin: { events: 'webhook', webhook: { verificationToken: TOKEN, maxBodyBytes: 16 * 1024 } } });
  call = await rig.fake.placeCall();
  leg = await (await rig.nextIncoming()).answer();
  await call.answered;
  leg.onEnded((r) => ended.push(r));
});
afterAll(() => rig.close());

describe('fuzz: RingCentral webhook bodies (real HTTP to the real plugin)', () => {
  const N = iterations(200);
  it(`${N} deliveries from seed ${FUZZ_SEED}: always an HTTP answer, typed events only, the call survives junk`, async () => {
    const g = gen(FUZZ_SEED);
    const url = rig.plugin.status.webhookUrl!;
    const delivery = (code: string): Record<string, unknown> => ({
      uuid: 'u-1',
      event: '/restapi/v1.0/account/~/extension/~/telephony/sessions',
      body: { telephonySessionId: call.sessionId, sequence: 5, parties: [{ id: call.partyId, direction: 'Inbound', status: { code } }] },
    });
    const statuses = new Set<number>();
    for (let i = 0; i < N; i++) {
      const valid = delivery('Answered');
      // Mutate the delivery or, as often, its inner event (where the plugin looks).
      let text: string | Buffer;
      const r = g.next();
      if (r < 0.35) text = JSON.stringify(mutateValue(g, valid)) ?? '';
      else if (r < 0.7) text = JSON.stringify({ ...valid, body: mutateValue(g, valid.body as Record<string, unknown>) }) ?? '';
      else if (r < 0.9) text = mutateText(g, JSON.stringify(valid));
      else text = g.bytes(g.pick([0, 5, 3000, 20_000]));
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (g.chance(0.9)) headers['Verification-Token'] = g.chance(0.95) ? TOKEN : 'wrong-token-000';
      const status = await post(url, text, headers).catch((e: Error) => {
        throw new Error(`delivery ${i} (seed ${FUZZ_SEED}): ${e.message}`);
      });
      expect([200, 400, 401, 403, 413, -1], `delivery ${i}`).toContain(status);
      statuses.add(status);
      // The gate hands on only well-typed events, whatever arrived.
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(text));
      } catch {
        continue;
      }
      const ev = parseTelephonySessionEvent(parsed);
      if (!ev) continue;
      if (ev.telephonySessionId !== undefined) expect(typeof ev.telephonySessionId).toBe('string');
      for (const p of ev.parties ?? []) {
        if (p.id !== undefined) expect(typeof p.id).toBe('string');
        if (p.status !== undefined) expect(typeof p.status.code).toBe('string');
      }
    }
    expect(statuses.has(200)).toBe(true);
    expect(statuses.has(400)).toBe(true);
    // Junk never said Disconnected for our party, so the call is still up …
    expect(ended).toEqual([]);
    // … and the webhook still does its job.
    expect(await rig.fake.notify(call, 'Disconnected', { verificationToken: TOKEN })).toEqual([200]);
    expect(ended).toEqual(['caller-hangup']);
  }, 120_000);
});
