import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { VoicebotError } from '../../core/errors/index.js';
import { silentLogger } from '../../core/logging.js';
import type { HangupReason } from '../../core/plugins/telephony.js';
import ringcentral, { defaultInstanceId, RingCentralTelephony } from '../../plugins/ringcentral/index.js';
import { startFakeRingCentral, type FakeRingCentral } from '../fakes/ringcentral/index.js';
import { pluginOptions, startRig, type Rig } from './helpers.js';

let rig: Rig | undefined;
let fake: FakeRingCentral | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
  await fake?.close();
  fake = undefined;
});

function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', (e) => {
      // The server may cut an oversized upload short; the status already arrived or the socket reset.
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as NodeJS.ErrnoException).code === 'EPIPE') resolve({ status: -1, headers: {} });
      else reject(e);
    });
    req.end(body);
  });
}

describe('ringcentral platform edges', () => {
  it('bad JWT: one coded error, one token request, no SIP connection', async () => {
    fake = await startFakeRingCentral();
    const plugin = new RingCentralTelephony(pluginOptions(fake, { jwt: 'not.the.jwt' }), { logger: silentLogger() });
    const err = await plugin.listen({ onIncomingCall: () => undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VoicebotError);
    const line = (err as VoicebotError).toLine();
    expect(line).toMatch(/^error VB_ERR_RC_AUTH /);
    expect(line).toContain('invalid_grant');
    expect(line.split('\n')).toHaveLength(1);
    expect((err as VoicebotError).retryable).toBe(false);
    await plugin.stop();
    // Give any stray retry loop a chance to show itself before counting.
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.countRequests('/restapi/oauth/token')).toBe(1);
    expect(fake.countRequests('/sip-provision')).toBe(0);
    expect(fake.openSipConnections).toBe(0);
  });

  it('unreachable platform: VB_ERR_RC_AUTH marked retryable (unlike rejected credentials)', async () => {
    fake = await startFakeRingCentral();
    const url = fake.restUrl;
    await fake.close();
    fake = undefined;
    const plugin = new RingCentralTelephony(
      { server: url, clientId: 'c', clientSecret: 's', jwt: 'j', tlsRejectUnauthorized: false },
      { logger: silentLogger() },
    );
    const err = (await plugin.listen({ onIncomingCall: () => undefined }).catch((e: unknown) => e)) as VoicebotError;
    expect(err.code).toBe('VB_ERR_RC_AUTH');
    expect(err.retryable).toBe(true);
    await plugin.stop();
  });

  it('SIP registration refused: VB_ERR_RC_SIP, socket closed, no retry loop', async () => {
    fake = await startFakeRingCentral({ rejectRegister: true });
    const plugin = new RingCentralTelephony(pluginOptions(fake), { logger: silentLogger() });
    const err = (await plugin.listen({ onIncomingCall: () => undefined }).catch((e: unknown) => e)) as VoicebotError;
    expect(err.code).toBe('VB_ERR_RC_SIP');
    expect(err.message).toContain('403');
    await plugin.stop();
    await fake.waitFor(() => fake!.openSipConnections === 0);
    const registers = fake.sipLog.filter((m) => m.dir === 'in' && m.start.startsWith('REGISTER')).length;
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.sipLog.filter((m) => m.dir === 'in' && m.start.startsWith('REGISTER')).length).toBe(registers);
    expect(registers).toBe(2);
  });

  it('refreshes an expired access token with the refresh_token grant', async () => {
    // The SDK refreshes tokens expiring within a minute, so a 30 s token is refreshed on next use.
    rig = await startRig({ fake: { accessTokenTtl: 30 } });
    const call = await rig.fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    await leg.transfer('101');
    const grants = rig.fake.requests.filter((r) => r.path === '/restapi/oauth/token').map((r) => new URLSearchParams(r.body).get('grant_type'));
    expect(grants[0]).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(grants.slice(1)).toContain('refresh_token');
    expect(grants.filter((g) => g !== 'refresh_token')).toHaveLength(1);
    const transfer = rig.fake.requests.find((r) => r.path.endsWith('/transfer'))!;
    expect(JSON.parse(transfer.body)).toEqual({ extensionNumber: '101' });
  });

  it('webhook: subscribes after the validation handshake, refuses wrong or missing tokens, caps bodies', async () => {
    rig = await startRig({ plugin: { events: 'webhook', webhook: { port: 0, path: '/rc/events', verificationToken: 'verify-token-123', maxBodyBytes: 2048 } } });
    const { fake, plugin } = rig;
    expect(fake.subscriptions).toHaveLength(1);
    const sub = JSON.parse(fake.requests.find((r) => r.path === '/restapi/v1.0/subscription')!.body);
    expect(sub.eventFilters).toEqual(['/restapi/v1.0/account/~/extension/~/telephony/sessions']);
    expect(sub.deliveryMode).toMatchObject({ transportType: 'WebHook', verificationToken: 'verify-token-123' });
    const url = plugin.status.webhookUrl!;
    expect(url).toMatch(/\/rc\/events$/);

    const handshake = await post(url, '', { 'Validation-Token': 'abc' });
    expect(handshake.status).toBe(200);
    expect(handshake.headers['validation-token']).toBe('abc');
    expect((await post(url, '{}', { 'content-type': 'application/json' })).status).toBe(401);
    expect(await fake.notify({ sessionId: 's-x', partyId: 'p-x-1' }, 'Disconnected', { verificationToken: 'wrong-token-000' })).toEqual([403]);
    const big = await post(url, 'x'.repeat(10_000), { 'Verification-Token': 'verify-token-123' });
    expect([413, -1]).toContain(big.status);
    expect((await post(url.replace('/rc/events', '/other'), '{}', { 'Verification-Token': 'verify-token-123' })).status).toBe(404);
  });

  it('webhook Disconnected event ends a call whose SIP BYE never arrived', async () => {
    rig = await startRig({ plugin: { events: 'webhook', webhook: { verificationToken: 'verify-token-123' } } });
    const call = await rig.fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    const ended: HangupReason[] = [];
    leg.onEnded((r) => ended.push(r));
    // Wrong token: must not end the call.
    expect(await rig.fake.notify(call, 'Disconnected', { verificationToken: 'nope-nope-nope' })).toEqual([403]);
    // Another party leaving (e.g. a transfer target) while ours is still answered: the call goes on.
    expect(await rig.fake.notify(call, 'Answered', { otherParties: [{ id: 'p-other-3', code: 'Disconnected' }] })).toEqual([200]);
    // The webhook handles an event before its 200 goes out, so nothing can be pending here.
    expect(ended).toEqual([]);
    await leg.sendDtmf('1');
    expect(await rig.fake.notify(call, 'Disconnected')).toEqual([200]);
    expect(ended).toEqual(['caller-hangup']);
  });

  it('falls back to outboundProxyBackup when the primary proxy stays down', async () => {
    rig = await startRig({ fake: { backupProxy: true }, plugin: { reconnect: { minMs: 10, maxMs: 50, switchAfter: 2 } } });
    const { fake } = rig;
    expect(fake.registeredVia).toEqual(['primary']);
    fake.setProxyDown('primary', true);
    await fake.waitFor(() => fake.registeredVia.includes('backup'));
    expect(rig.plugin.status.proxy).toBe(fake.backupHostPort);
    const call = await fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    expect(call.okCount).toBe(1);
    await leg.hangup();
    expect(await call.ended).toBe('bot-bye');
  });

  it('manifest: telephony slot, name ringcentral, required credentials in the schema', () => {
    expect(ringcentral.slot).toBe('telephony');
    expect(ringcentral.name).toBe('ringcentral');
    expect((ringcentral.optionsSchema as { required: string[] }).required).toEqual(['server', 'clientId', 'clientSecret']);
    // and exactly one of jwt (one line) or lines (several)
    expect((ringcentral.optionsSchema as { oneOf: { required: string[] }[] }).oneOf.map((o) => o.required)).toEqual([['jwt'], ['lines']]);
    const a = defaultInstanceId('cid', 'h.' + Buffer.from(JSON.stringify({ sub: '42' })).toString('base64url') + '.s1');
    const b = defaultInstanceId('cid', 'h.' + Buffer.from(JSON.stringify({ sub: '42' })).toString('base64url') + '.s2');
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(defaultInstanceId('cid', 'other')).not.toBe(a);
  });
});

describe('ringcentral webhook subscription lifecycle', () => {
  it('renews the subscription before it expires and deletes it on stop', async () => {
    rig = await startRig({ fake: { subscriptionTtl: 2 }, plugin: { events: 'webhook' } });
    const { fake } = rig;
    const id = fake.subscriptions[0]!.id;
    await fake.waitFor(() => fake.countRequests(`/subscription/${id}/renew`, 'POST') >= 1);
    await rig.plugin.stop();
    expect(fake.countRequests(`/subscription/${id}`, 'DELETE')).toBe(1);
    expect(fake.subscriptions).toHaveLength(0);
  });
});

describe('ringcentral call leg state machine', () => {
  it('allows only the listed moves and throws VB_ERR_CALL_STATE otherwise', async () => {
    const { RcCallLeg } = await import('../../plugins/ringcentral/call-leg.js');
    const { LegState } = await import('../../core/plugin-api.js');
    const leg = new RcCallLeg({ id: 'c1', from: 'a', to: 'b', meta: {} });
    expect(leg.state).toBe(LegState.Ringing);
    expect(() => leg.transition(LegState.Active, 'skip answering')).toThrow(expect.objectContaining({ code: 'VB_ERR_CALL_STATE' }));
    leg.transition(LegState.Answering, 'answer');
    expect(() => leg.transition(LegState.Answering, 'answer twice')).toThrow(expect.objectContaining({ code: 'VB_ERR_CALL_STATE' }));
    await expect(leg.sendDtmf('1')).rejects.toMatchObject({ code: 'VB_ERR_CALL_STATE' });
    await expect(leg.hangup()).rejects.toMatchObject({ code: 'VB_ERR_CALL_STATE' });
    const ended: string[] = [];
    leg.onEnded((r) => ended.push(r));
    leg.finish('caller-hangup');
    leg.finish('error');
    expect(ended).toEqual(['caller-hangup']);
    expect(() => leg.transition(LegState.Active, 'revive')).toThrow(expect.objectContaining({ code: 'VB_ERR_CALL_STATE' }));
  });
});
