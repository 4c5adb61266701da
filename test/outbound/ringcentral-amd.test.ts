import { describe, it } from 'vitest';
import type { OutboundCallView } from '../../core/api/index.js';
import { silentLogger } from '../../core/logging.js';
import { RingCentralTelephony } from '../../plugins/ringcentral/index.js';
import { syntheticSpeech } from '../fakes/ringcentral/callee.js';
import { startFakeRingCentral } from '../fakes/ringcentral/index.js';
import { pluginOptions, rmsOf } from '../ringcentral/helpers.js';
import { CALL_TEST_TIMEOUT, mockConfig, startApp } from './helpers.js';

const TOKEN = 'rc-amd-token-0123456789abcdef';
// Generous amd timeouts: both calls are decided by what is heard long before them (the pause after a
// person's greeting, a machine's beep), and a loaded host delays RTP, which the detector counts as time.
const CONFIG = mockConfig({
  token: TOKEN,
  body: `flows:
  reminder:
    amd: { timeout: 20s, beepTimeout: 30s }
    on: { human: greet, machine: voicemail, unknown: greet }
    steps:
      greet: { say: "Hi {{vars.name}}.", next: bye }
      voicemail: { say: "For {{vars.name}}.", bargeIn: false, next: bye }
      bye: { hangup: true }
`,
});

/** One fake platform (real SIP, WSS, RTP) and one app per test; the two calls run side by side. */
async function start(onTestFinished: Parameters<typeof startApp>[0]['onTestFinished']) {
  const fake = await startFakeRingCentral();
  onTestFinished(() => fake.close());
  const tel = new RingCentralTelephony(pluginOptions(fake, { callerId: '+16505550100' }), { logger: silentLogger() });
  const { api, said } = await startApp({ onTestFinished }, CONFIG, tel);
  return { fake, api, said };
}

async function post(url: string, body: unknown): Promise<{ status: number; view: OutboundCallView }> {
  const r = await fetch(`${url}/v1/calls`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, view: (await r.json()) as OutboundCallView };
}

describe.concurrent('outbound calls with answering-machine detection over the RingCentral fake (SIP + RTP)', { timeout: CALL_TEST_TIMEOUT }, () => {
  it('a person answers: on.human runs right after the short greeting', async ({ expect, onTestFinished }) => {
    const { fake, api, said } = await start(onTestFinished);
    fake.defaultCallee = { kind: 'human' };
    const placed = await post(api.url, { to: '+14155550111', vars: { name: 'Ann' } });
    expect(placed.status).toBe(201);
    const done = await api.calls.whenDone(placed.view.id)!;
    expect(done.state).toBe('ended');
    expect(done.amd).toMatchObject({ outcome: 'human' });
    // Decided by the pause after the 700 ms greeting ("your turn"), not by the 20 s timeout. The
    // detector's time is media time (frames counted), so this holds however loaded the host is.
    expect(done.amd!.reason).toMatch(/^short greeting \(\d+ ms\) then silence$/);
    expect(done.amd!.decidedAfterMs).toBeGreaterThanOrEqual(700);
    expect(done.amd!.decidedAfterMs).toBeLessThan(20_000);
    expect(said()).toEqual(['Hi Ann.']);
    expect(fake.invites.filter((i) => i.authorized)).toHaveLength(1);
    expect(fake.invites[0]!.callerId).toBe('+16505550100');
  });

  it('a machine answers: the message is left by on.machine and starts after the beep', async ({ expect, onTestFinished }) => {
    const { fake, api, said } = await start(onTestFinished);
    // A 2.5 s recorded greeting: past the 1.8 s a person's greeting may last, so a machine (the fake's default is 5 s).
    fake.defaultCallee = { kind: 'machine', beep: true, noise: 200, greeting: { samples: syntheticSpeech(8000, 2500), rate: 8000 } };
    const placed = await post(api.url, { to: '+14155550112', vars: { name: 'Bo' } });
    expect(placed.status).toBe(201);
    const done = await api.calls.whenDone(placed.view.id)!;
    expect(done.amd).toMatchObject({ outcome: 'machine', beep: { hz: 1000 } });
    // Ready because of the beep, not the 30 s beepTimeout or the silence after the greeting.
    expect(done.amd!.reason).toMatch(/^greeting longer than \d+ ms; beep$/);
    expect(said()).toEqual(['For Bo.']);
    const callee = fake.outboundCalls[0]!;
    const beepEnd = callee.callee!.beepEndMs!;
    const firstLoud = callee.callee!.heard.find((h) => rmsOf(h.frame.samples) > 300);
    expect(firstLoud, 'the bot spoke to the machine').toBeDefined();
    expect(firstLoud!.atMs).toBeGreaterThanOrEqual(beepEnd);
  });
});
