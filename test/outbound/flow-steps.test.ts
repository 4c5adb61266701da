import { describe, it } from 'vitest';
import { digitPlan } from '../../core/flow/steps/send-digits.js';
import { silentLogger } from '../../core/logging.js';
import type { CallerSide } from '../../core/plugins/telephony.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { RingCentralTelephony } from '../../plugins/ringcentral/index.js';
import { startFakeRingCentral } from '../fakes/ringcentral/index.js';
import { pluginOptions } from '../ringcentral/helpers.js';
import { CALL_TEST_TIMEOUT, mockConfig, onFarEnd, startApp } from './helpers.js';

const config = (api?: string) =>
  mockConfig({
    token: 'flow-steps-token-0123456789',
    api,
    body: `routes:
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
`,
  });

/** The mock-line cases: every part in-process, so on a VirtualClock. */
describe.concurrent('flow steps for outbound calls (mock line, virtual time)', { timeout: CALL_TEST_TIMEOUT }, () => {
  it('digitPlan: runs of digits and 0.5 s per w', ({ expect }) => {
    expect(digitPlan('1w2#')).toEqual(['1', 500, '2#']);
    expect(digitPlan('ww123www*')).toEqual([1000, '123', 1500, '*']);
  });

  it('dial: an inbound call books a callback that runs the outbound route with its vars', async ({ expect, onTestFinished }) => {
    const clock = new VirtualClock();
    const tel = new MockTelephony({ codec: 'pcmu' }, { clock });
    const { api, said } = await startApp({ onTestFinished }, config(), tel, { clock });
    const side = tel.placeCall({ from: '+15550777', to: '+15550123' });
    await side.ended;
    // The dial step placed the callback through the calls API before the inbound call hung up.
    const [placed] = api.calls.list();
    expect(placed).toBeDefined();
    await api.calls.whenDone(placed!.id);
    expect(tel.dialled).toEqual([{ to: '+15550777', callerId: undefined }]);
    expect(api.calls.list()).toHaveLength(1);
    const [cb] = api.calls.list();
    expect(cb).toMatchObject({ to: '+15550777', flow: 'callback', state: 'ended' });
    expect(said()).toContain('We will call you back (inbound).');
    expect(said()).toContain('Calling back about your order.');
  });

  it('dial: a call the limits refuse takes onFail', async ({ expect, onTestFinished }) => {
    const clock = new VirtualClock();
    const tel = new MockTelephony({ codec: 'pcmu' }, { clock });
    const { said } = await startApp({ onTestFinished }, config('outbound: { perMinute: 1 }'), tel, { clock });
    await tel.placeCall({ from: '+15550001' }).ended;
    await tel.placeCall({ from: '+15550002' }).ended;
    expect(said().filter((t) => t.startsWith('We will call you back'))).toHaveLength(1);
    expect(said()).toContain('We cannot call you back.');
  });

  it('sendDigits on the mock line records the digit runs', async ({ expect, onTestFinished }) => {
    const clock = new VirtualClock();
    const tel = new MockTelephony({ codec: 'pcmu' }, { clock });
    const fars: CallerSide[] = [];
    onFarEnd(tel, (far) => fars.push(far));
    const { api } = await startApp({ onTestFinished }, config(), tel, { clock });
    const placed = api.calls.place({ to: '+15550124', flow: 'ivr' });
    expect((await api.calls.whenDone(placed.id))?.state).toBe('ended');
    expect(fars).toHaveLength(1);
    expect(fars[0]!.sentDtmf).toEqual(['1', '2#']);
  });
});

/**
 * Over the RingCentral fake (real SIP, WSS, RTP): the wall clock, after the virtual-time group, never beside
 * it (a file's top-level describes run one after another): virtual-time calls in the same worker starve real-time media.
 */
describe('flow steps for outbound calls (ringcentral)', { timeout: CALL_TEST_TIMEOUT }, () => {
  it('sendDigits over RingCentral: RFC 4733 events reach the callee, with the w pause', async ({ expect, onTestFinished }) => {
    const fake = await startFakeRingCentral();
    onTestFinished(() => fake.close());
    const tel = new RingCentralTelephony(pluginOptions(fake), { logger: silentLogger() });
    const { api } = await startApp({ onTestFinished }, config(), tel);
    const placed = api.calls.place({ to: '+14155550123', flow: 'ivr' });
    const done = await api.calls.whenDone(placed.id)!;
    expect(done.state).toBe('ended');
    const callee = fake.outboundCalls[0]!;
    expect(callee.callee!.digits.map((d) => d.digit).join('')).toBe('12#');
    // 1 (100 ms tone + 60 ms gap), then the w: 2 starts at least 500 ms after 1 ended.
    expect(callee.callee!.digits[1]!.atMs - callee.callee!.digits[0]!.atMs).toBeGreaterThanOrEqual(600);
  });
});
