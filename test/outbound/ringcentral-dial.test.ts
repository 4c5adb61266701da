import { describe, it, type TestContext } from 'vitest';
import type { AudioFrame } from '../../core/audio/frame.js';
import type { HangupReason } from '../../core/plugins/telephony.js';
import { CALL_TEST_TIMEOUT } from './helpers.js';
import { playFromBot, rmsOf, startRig as startRigOnce, tone, until, type Rig } from '../ringcentral/helpers.js';

/** One fake platform + plugin per test, closed when it ends (so the tests run side by side). */
async function startRig(ctx: Pick<TestContext, 'onTestFinished'>, opts?: Parameters<typeof startRigOnce>[0]): Promise<Rig> {
  const rig = await startRigOnce(opts);
  ctx.onTestFinished(() => rig.close());
  return rig;
}

describe.concurrent('ringcentral outbound calls against the fake platform', { timeout: CALL_TEST_TIMEOUT }, () => {
  it('places one INVITE with the caller id, gets the REST ids from the answer, carries audio and call control', async ({ expect, onTestFinished }) => {
    const rig = await startRig({ onTestFinished }, { plugin: { callerId: '+16505550100' } });
    const { fake, plugin } = rig;
    const ringing: string[] = [];
    const leg = await plugin.dial({ to: '+1 (415) 555-0101', callerId: '+16505550177', onRinging: (i) => ringing.push(i.id) });
    expect(ringing).toEqual([leg.info.id]);
    expect(leg.info.direction).toBe('outbound');
    expect(leg.info.to).toBe('+14155550101');
    expect(leg.info.from).toBe('+16505550177');

    // One call dialog: an unauthenticated INVITE (407) and its digest retry, same Call-Id.
    expect(new Set(fake.invites.map((i) => i.callId)).size).toBe(1);
    expect(fake.invites.filter((i) => i.authorized)).toHaveLength(1);
    expect(fake.invites.every((i) => i.to === '+14155550101' && i.callerId === '+16505550177')).toBe(true);

    const callee = fake.outboundCalls[0]!;
    expect(leg.info.meta.telephonySessionId).toBe(callee.sessionId);
    expect(leg.info.meta.partyId).toBe(callee.partyId);
    await callee.answered;

    // Callee → bot: the line keeps streaming (greeting, then silence) like a phone.
    const got: AudioFrame[] = [];
    leg.media.setReceiver((f) => got.push({ ...f, samples: f.samples.slice() }));
    await until(() => got.length >= 40, 'callee audio at the bot');
    expect(got.every((f) => f.sampleRate === leg.media.inputRate && f.samples.length === (f.sampleRate * 20) / 1000)).toBe(true);
    expect(got.some((f) => rmsOf(f.samples) > 500)).toBe(true);

    // Bot → callee.
    await playFromBot(leg, tone(800, leg.media.outputRate, 400));
    await until(() => fake.calleeHeardAfter(callee, 0).some((f) => rmsOf(f.samples) > 1000), 'bot audio at the callee');

    // REST call control uses the ids from the platform's answer.
    await leg.transfer('+14155550999', { timeoutMs: 2000 });
    const t = fake.requests.find((r) => r.path.endsWith('/transfer'));
    expect(t?.path).toBe(`/restapi/v1.0/account/~/telephony/sessions/${callee.sessionId}/parties/${callee.partyId}/transfer`);
    expect(JSON.parse(t!.body)).toEqual({ phoneNumber: '+14155550999' });
  });

  it('uses the configured caller id, and the bot hangs up with a BYE', async ({ expect, onTestFinished }) => {
    const rig = await startRig({ onTestFinished }, { plugin: { callerId: '+16505550100' } });
    const leg = await rig.plugin.dial({ to: '+14155550102' });
    expect(rig.fake.invites.every((i) => i.callerId === '+16505550100')).toBe(true);
    const callee = rig.fake.outboundCalls[0]!;
    await leg.hangup();
    expect(await callee.ended).toBe('bot-bye');
  });

  it('reports the callee hanging up as the far end ending the call', async ({ expect, onTestFinished }) => {
    const rig = await startRig({ onTestFinished });
    const leg = await rig.plugin.dial({ to: '+14155550103' });
    const ended = new Promise<HangupReason>((r) => leg.onEnded(r));
    const callee = rig.fake.outboundCalls[0]!;
    await callee.answered;
    callee.hangup();
    expect(await ended).toBe('caller-hangup');
    await expect(leg.sendDtmf('1')).rejects.toMatchObject({ code: 'VB_ERR_CALL_STATE' });
  });

  it('maps busy, decline, no answer and cancel to coded errors', async ({ expect, onTestFinished }) => {
    const rig = await startRig({ onTestFinished });
    const { fake, plugin } = rig;
    fake.callees.set('+14155550201', { kind: 'busy' });
    fake.callees.set('+14155550202', { kind: 'decline' });
    fake.callees.set('+14155550203', { kind: 'no-answer' });
    await expect(plugin.dial({ to: '+14155550201' })).rejects.toMatchObject({ code: 'VB_ERR_OUTBOUND_BUSY' });
    await expect(plugin.dial({ to: '+14155550202' })).rejects.toMatchObject({ code: 'VB_ERR_OUTBOUND_DECLINED' });
    await expect(plugin.dial({ to: '+14155550203', ringTimeoutMs: 3000 })).rejects.toMatchObject({ code: 'VB_ERR_OUTBOUND_NO_ANSWER' });
    expect(fake.sipLog.some((m) => m.dir === 'in' && m.start.startsWith('CANCEL '))).toBe(true);
    expect(fake.sipLog.some((m) => m.dir === 'out' && m.start === 'SIP/2.0 487 Request Terminated')).toBe(true);

    const ac = new AbortController();
    const p = plugin.dial({ to: '+14155550203', signal: ac.signal, onRinging: () => setTimeout(() => ac.abort(), 200) });
    await expect(p).rejects.toMatchObject({ code: 'VB_ERR_CANCELLED' });
    expect(fake.outboundCalls).toHaveLength(0);
  });

  it('refuses a number that is not one without sending an INVITE', async ({ expect, onTestFinished }) => {
    const rig = await startRig({ onTestFinished });
    await expect(rig.plugin.dial({ to: 'sip:evil@example.com' })).rejects.toMatchObject({ code: 'VB_ERR_OUTBOUND_NUMBER' });
    await expect(rig.plugin.dial({ to: '+14155550101', callerId: 'bot' })).rejects.toMatchObject({ code: 'VB_ERR_OUTBOUND_NUMBER' });
    expect(rig.fake.invites).toHaveLength(0);
  });
});
