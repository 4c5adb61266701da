import { afterEach, describe, expect, it } from 'vitest';
import { startCallsApi, type CallsApi } from '../../core/api/index.js';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { digitPlan } from '../../core/flow/steps/send-digits.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import type { TelephonyPlugin } from '../../core/plugins/telephony.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { RingCentralTelephony } from '../../plugins/ringcentral/index.js';
import { startFakeRingCentral, type FakeRingCentral } from '../fakes/ringcentral/index.js';
import { pluginOptions } from '../ringcentral/helpers.js';

const TOKEN = 'flow-steps-token-0123456789';
const CONFIG = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  api: { token: "${TOKEN}", port: 0 }
routes:
  - { to: "*", flow: inbound }
  - { to: "*", flow: callback, direction: outbound }
flows:
  inbound:
    steps:
      offer: { dial: { to: "{{call.from}}", vars: { reason: "your order" } }, save: cb, onFail: sorry }
      ok: { hangup: "We will call you back ({{call.direction}})." }
      sorry: { hangup: "We cannot call you back." }
  callback:
    steps:
      hi: { say: "Calling back about {{vars.reason}}.", next: bye }
      bye: { hangup: true }
  ivr:
    steps:
      keys: { sendDigits: "1w2#" }
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

async function start(tel: TelephonyPlugin) {
  const { config, diagnostics } = await loadConfigText(CONFIG, '/tmp/steps.yaml', { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
  const events: CallEvent[] = [];
  app.onEvent((e) => events.push(e));
  await app.start();
  api = await startCallsApi(app);
  return { events, api: api! };
}

describe('flow steps for outbound calls', () => {
  it('digitPlan: runs of digits and 0.5 s per w', () => {
    expect(digitPlan('1w2#')).toEqual(['1', 500, '2#']);
    expect(digitPlan('ww123www*')).toEqual([1000, '123', 1500, '*']);
  });

  it('dial: an inbound call books a callback that runs the outbound route with its vars', async () => {
    const tel = new MockTelephony({ codec: 'pcmu' });
    const { events, api } = await start(tel);
    const side = tel.placeCall({ from: '+15550777', to: '+15550123' });
    await side.ended;
    await new Promise<void>((r) => {
      const check = () => (api.calls.list().some((c) => c.state === 'ended') ? r() : setTimeout(check, 20));
      check();
    });
    expect(tel.dialled).toEqual([{ to: '+15550777', callerId: undefined }]);
    const [cb] = api.calls.list();
    expect(cb).toMatchObject({ to: '+15550777', flow: 'callback', state: 'ended' });
    const said = events.filter((e) => e.type === 'bot.said').map((e) => (e as { text: string }).text);
    expect(said).toContain('We will call you back (inbound).');
    expect(said).toContain('Calling back about your order.');
  });

  it('dial: a call the limits refuse takes onFail', async () => {
    const tel = new MockTelephony({ codec: 'pcmu' });
    const { config } = await loadConfigText(CONFIG.replace('port: 0 }', 'port: 0, outbound: { perMinute: 1 } }'), '/tmp/steps.yaml', { env: {}, registry: createDefaultRegistry() });
    app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
    const events: CallEvent[] = [];
    app.onEvent((e) => events.push(e));
    await app.start();
    api = await startCallsApi(app);
    await tel.placeCall({ from: '+15550001' }).ended;
    await tel.placeCall({ from: '+15550002' }).ended;
    const said = events.filter((e) => e.type === 'bot.said').map((e) => (e as { text: string }).text);
    expect(said.filter((t) => t.startsWith('We will call you back'))).toHaveLength(1);
    expect(said).toContain('We cannot call you back.');
  });

  it('sendDigits over RingCentral: RFC 4733 events reach the callee, with the w pause', async () => {
    fake = await startFakeRingCentral();
    const tel = new RingCentralTelephony(pluginOptions(fake), { logger: silentLogger() });
    const { api } = await start(tel);
    const placed = api.calls.place({ to: '+14155550123', flow: 'ivr' });
    const done = await api.calls.whenDone(placed.id)!;
    expect(done.state).toBe('ended');
    const callee = fake.outboundCalls[0]!.callee!;
    expect(callee.digits.map((d) => d.digit).join('')).toBe('12#');
    // 1 (100 ms tone + 60 ms gap), then the w: 2 starts at least 500 ms after 1 ended.
    expect(callee.digits[1]!.atMs - callee.digits[0]!.atMs).toBeGreaterThanOrEqual(600);
  });

  it('sendDigits on the mock line records the digit runs', async () => {
    const tel = new MockTelephony({ codec: 'pcmu' });
    const { api } = await start(tel);
    const placed = api.calls.place({ to: '+15550124', flow: 'ivr' });
    await new Promise<void>((r) => {
      const check = () => (api.calls.get(placed.id)?.callId && tel.farEnds.size ? r() : setTimeout(check, 5));
      check();
    });
    const far = [...tel.farEnds.values()][0]!;
    await api.calls.whenDone(placed.id);
    expect(far.sentDtmf).toEqual(['1', '2#']);
  });
});
