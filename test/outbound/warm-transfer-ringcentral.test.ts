import { describe, it } from 'vitest';
import { silentLogger } from '../../core/logging.js';
import { RingCentralTelephony } from '../../plugins/ringcentral/index.js';
import { startFakeRingCentral } from '../fakes/ringcentral/index.js';
import { pluginOptions, rmsOf } from '../ringcentral/helpers.js';
import { startApp, warmTransferConfig } from './helpers.js';

const CONFIG = warmTransferConfig();

/**
 * Warm transfer over the RingCentral fake: real SIP, WSS and RTP on the wall clock; one fake per test.
 * Not concurrent: with both calls in flight in one process the bridged caller was seen to go on to
 * onFail after call.transferred (left for the ringcentral plugin's owners; see the branch report).
 */
describe('warm transfer over ringcentral', () => {
  it('ringcentral: a second call to the agent, the summary on it, and a REST bridge with both parties\' ids', async ({ expect, onTestFinished }) => {
    const fake = await startFakeRingCentral();
    onTestFinished(() => fake.close());
    fake.defaultCallee = { kind: 'human', greeting: { samples: new Int16Array(160), rate: 8000 } };
    const tel = new RingCentralTelephony(pluginOptions(fake), { logger: silentLogger() });
    const { said } = await startApp({ onTestFinished }, CONFIG, tel);
    const call = await fake.placeCall({ from: '+16505550199' });
    const ended = await call.ended;
    expect(ended).toBe('transferred');
    const agent = fake.outboundCalls[0]!;
    expect(await agent.ended).toBe('transferred');
    expect(fake.invites.filter((i) => i.authorized).map((i) => i.to)).toEqual(['+15550200']);
    expect(fake.bridges).toEqual([{ from: { sessionId: call.sessionId, partyId: call.partyId }, to: { sessionId: agent.sessionId, partyId: agent.partyId } }]);
    expect(fake.countRequests(`/sessions/${call.sessionId}/parties/${call.partyId}/bridge`, 'POST')).toBe(1);
    // The agent heard the summary (speech energy) before the bridge.
    expect(agent.callee!.heard.filter((h) => rmsOf(h.frame.samples) > 500).length).toBeGreaterThan(10);
    expect(said()).toEqual(['Hold on.']);
  });

  it('ringcentral: a busy agent leaves the caller with the bot', async ({ expect, onTestFinished }) => {
    const fake = await startFakeRingCentral();
    onTestFinished(() => fake.close());
    fake.callees.set('+15550200', { kind: 'busy' });
    const tel = new RingCentralTelephony(pluginOptions(fake), { logger: silentLogger() });
    const { said } = await startApp({ onTestFinished }, CONFIG, tel);
    const call = await fake.placeCall({ from: '+16505550199' });
    expect(await call.ended).toBe('bot-bye');
    expect(fake.bridges).toHaveLength(0);
    expect(said()).toEqual(['Hold on.', 'Sorry.']);
  });
});
