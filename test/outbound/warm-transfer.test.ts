import { describe, it } from 'vitest';
import { silentLogger } from '../../core/logging.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { RingCentralTelephony } from '../../plugins/ringcentral/index.js';
import { startFakeRingCentral } from '../fakes/ringcentral/index.js';
import { dominantHz, pluginOptions, rmsOf } from '../ringcentral/helpers.js';
import { CALL_TEST_TIMEOUT, hearWords, onFarEnd, startApp, warmTransferConfig } from './helpers.js';

const CONFIG = warmTransferConfig();

/**
 * On the mock line, on a VirtualClock: every part is in-process (the mock line, providers, the hold sound
 * and the summary played to the agent's leg). The same transfer over RingCentral is at the end of the file.
 */
describe.concurrent('warm transfer', { timeout: CALL_TEST_TIMEOUT }, () => {
  it('mock: the agent hears the summary while the caller hears hold audio, then the two are bridged', async ({ expect, onTestFinished }) => {
    const clock = new VirtualClock();
    const tel = new MockTelephony({ codec: 'pcmu' }, { clock });
    // The agent's far end, hooked as it is dialled: decode what it hears.
    const agentHeard: string[] = [];
    onFarEnd(tel, (far) => hearWords(far, agentHeard));
    const { said, events } = await startApp({ onTestFinished }, CONFIG, tel, { clock });
    const caller = tel.placeCall({ from: '+15550777' });
    // Chime frames: loud, with the hold sound's own notes (C5 523 Hz / E5 659 Hz) dominant.
    let chimeFrames = 0;
    caller.setReceiver((f) => {
      if (rmsOf(f.samples) < 300) return;
      const hz = dominantHz(f.samples, f.sampleRate, 400, 800, 5);
      if (Math.abs(hz - 523) <= 15 || Math.abs(hz - 659) <= 15) chimeFrames++;
    });
    expect(await caller.ended).toBe('transferred');
    expect(tel.dialled.map((d) => d.to)).toEqual(['+15550200']);
    expect(tel.bridged).toHaveLength(1);
    expect(agentHeard.join(' ')).toContain('+15550777 billing.');
    expect(said()).toEqual(['Hold on.']);
    expect(events.some((e) => e.type === 'call.transferred' && e.to === '+15550200')).toBe(true);
    // Hold audio reached the caller while the agent was being told.
    expect(chimeFrames).toBeGreaterThan(5);
  });

  for (const outcome of ['no-answer', 'decline'] as const) {
    it(`mock: agent ${outcome} returns the caller to the flow (onFail)`, async ({ expect, onTestFinished }) => {
      const clock = new VirtualClock();
      const tel = new MockTelephony({ codec: 'pcmu', dialOutcomes: { '+15550200': outcome } }, { clock });
      const { said } = await startApp({ onTestFinished }, CONFIG, tel, { clock });
      const caller = tel.placeCall({ from: '+15550777' });
      expect(await caller.ended).toBe('bot-hangup');
      expect(tel.dialled.map((d) => d.to)).toEqual(['+15550200']);
      expect(tel.bridged).toHaveLength(0);
      expect(said()).toEqual(['Hold on.', 'Sorry.']);
    });
  }

});

describe.concurrent('warm transfer summary written by the llm', { timeout: CALL_TEST_TIMEOUT }, () => {
  it('the agent hears what the llm wrote from the conversation (the caller\'s own words reach it)', async ({ expect }) => {
    const { summarizeForAgent, SUMMARY_INSTRUCTION } = await import('../../core/api/warm-transfer.js');
    const { MockLlm } = await import('../../plugins/mock/llm.js');
    const llm = new MockLlm({ script: [{ when: 'invoice', reply: 'Ann asks why invoice 42 was charged twice.' }] });
    await llm.start();
    const seen: string[] = [];
    const spy = llm.chat.bind(llm);
    llm.chat = (req) => {
      seen.push(...req.messages.map((m) => `${m.role}: ${m.content}`));
      return spy(req);
    };
    const text = await summarizeForAgent(llm, [
      { role: 'assistant', content: 'How can I help?' },
      { role: 'user', content: 'My invoice 42 was charged twice.' },
    ], 'Mention the invoice number.');
    expect(text).toBe('Ann asks why invoice 42 was charged twice.');
    expect(seen[0]).toBe(`system: ${SUMMARY_INSTRUCTION} Mention the invoice number.`);
    expect(seen[1]).toBe('user: bot: How can I help?\ncaller: My invoice 42 was charged twice.');
    await expect(summarizeForAgent(llm, [], undefined)).rejects.toMatchObject({ code: 'VB_ERR_FLOW_STEP' });
    await llm.stop();
  });

  it('with no conversation yet, summarize falls back to the summary template', async ({ expect, onTestFinished }) => {
    const clock = new VirtualClock();
    const tel = new MockTelephony({ codec: 'pcmu' }, { clock });
    const agentHeard: string[] = [];
    onFarEnd(tel, (far) => hearWords(far, agentHeard));
    const { app } = await startApp({ onTestFinished }, CONFIG.replace('summary: "', 'summarize: true, summary: "'), tel, { clock });
    expect(app.config.flows.main!.steps.handoff).toMatchObject({ mode: 'warm', summarize: true });
    const caller = tel.placeCall({ from: '+15550778' });
    expect(await caller.ended).toBe('transferred');
    expect(agentHeard.join(' ')).toContain('+15550778 billing.');
  });
});

/**
 * Warm transfer over the RingCentral fake: real SIP, WSS and RTP on the wall clock; one fake per test.
 * Its tests run side by side, but after the virtual-time groups above, never beside them (a file's
 * top-level describes run one after another): virtual-time calls in the same worker starve real-time media.
 */
describe.concurrent('warm transfer over ringcentral', { timeout: CALL_TEST_TIMEOUT }, () => {
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
