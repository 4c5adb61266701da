import { afterEach, describe, expect, it } from 'vitest';
import { startCallsApi, type CallsApi, type OutboundCallView } from '../../core/api/index.js';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { RingCentralTelephony } from '../../plugins/ringcentral/index.js';
import { startFakeRingCentral, type FakeRingCentral } from '../fakes/ringcentral/index.js';
import { pluginOptions, rmsOf } from '../ringcentral/helpers.js';

const TOKEN = 'rc-amd-token-0123456789abcdef';
const CONFIG = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  api: { token: "${TOKEN}", port: 0 }
flows:
  reminder:
    amd: { timeout: 4s, beepTimeout: 10s }
    on: { human: greet, machine: voicemail, unknown: greet }
    steps:
      greet: { say: "Hello {{vars.name}}, your appointment is tomorrow.", next: bye }
      voicemail: { say: "Message for {{vars.name}}: your appointment is tomorrow.", bargeIn: false, next: bye }
      bye: { hangup: true }
`;

let fake: FakeRingCentral | undefined;
let app: VoicebotApp | undefined;
let api: CallsApi | undefined;
afterEach(async () => {
  await api?.close();
  await app?.stop();
  await fake?.close();
  api = app = fake = undefined;
});

async function start() {
  fake = await startFakeRingCentral();
  const { config, diagnostics } = await loadConfigText(CONFIG, '/tmp/rc-amd.yaml', { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const tel = new RingCentralTelephony(pluginOptions(fake, { callerId: '+16505550100' }), { logger: silentLogger() });
  app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
  const events: CallEvent[] = [];
  app.onEvent((e) => events.push(e));
  await app.start();
  api = await startCallsApi(app);
  return { fake, api: api!, events };
}

async function post(url: string, body: unknown): Promise<OutboundCallView> {
  const r = await fetch(`${url}/v1/calls`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(r.status).toBe(201);
  return (await r.json()) as OutboundCallView;
}

describe('outbound calls with answering-machine detection over the RingCentral fake (SIP + RTP)', () => {
  it('a person answers: on.human runs right after the short greeting', async () => {
    const { fake, api, events } = await start();
    fake.defaultCallee = { kind: 'human' };
    const placed = await post(api.url, { to: '+14155550111', vars: { name: 'Ann' } });
    const done = await api.calls.whenDone(placed.id)!;
    expect(done.state).toBe('ended');
    expect(done.amd).toMatchObject({ outcome: 'human' });
    // 700 ms of greeting, then the pause that means "your turn".
    expect(done.amd!.decidedAfterMs).toBeLessThan(2500);
    expect(events.filter((e) => e.type === 'bot.said').map((e) => (e as { text: string }).text)).toEqual(['Hello Ann, your appointment is tomorrow.']);
    expect(fake.invites.filter((i) => i.authorized)).toHaveLength(1);
    expect(fake.invites[0]!.callerId).toBe('+16505550100');
  });

  it('a machine answers: the message is left by on.machine and starts after the beep', async () => {
    const { fake, api, events } = await start();
    fake.defaultCallee = { kind: 'machine', beep: true, noise: 200 };
    const placed = await post(api.url, { to: '+14155550112', vars: { name: 'Bo' } });
    const done = await api.calls.whenDone(placed.id)!;
    expect(done.amd).toMatchObject({ outcome: 'machine', beep: { hz: 1000 } });
    expect(events.filter((e) => e.type === 'bot.said').map((e) => (e as { text: string }).text)).toEqual(['Message for Bo: your appointment is tomorrow.']);
    const callee = fake.outboundCalls[0]!;
    const beepEnd = callee.callee!.beepEndMs!;
    const firstLoud = callee.callee!.heard.find((h) => rmsOf(h.frame.samples) > 300);
    expect(firstLoud, 'the bot spoke to the machine').toBeDefined();
    expect(firstLoud!.atMs).toBeGreaterThanOrEqual(beepEnd);
    // Because of the beep, not the 10 s beepTimeout (a loose bound: this is real time on a shared host).
    expect(firstLoud!.atMs - beepEnd).toBeLessThan(5000);
  });
});
