import { afterEach, describe, expect, it } from 'vitest';
import { startCallsApi, type CallsApi } from '../../core/api/index.js';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import type { TelephonyPlugin } from '../../core/plugins/telephony.js';
import { MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { RingCentralTelephony } from '../../plugins/ringcentral/index.js';
import { startFakeRingCentral, type FakeRingCentral } from '../fakes/ringcentral/index.js';
import { dominantHz, pluginOptions, rmsOf } from '../ringcentral/helpers.js';

const TOKEN = 'warm-transfer-token-0123456789';
const CONFIG = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  api: { token: "${TOKEN}", port: 0 }
flows:
  main:
    steps:
      hi: { say: "Let me get someone." }
      handoff:
        transfer: { to: "+15550200", mode: warm, timeout: 3s, summary: "Caller {{call.from}} needs help with billing." }
        onFail: sorry
      sorry: { hangup: "Sorry, nobody is free." }
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
  const { config, diagnostics } = await loadConfigText(CONFIG, '/tmp/warm.yaml', { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
  const events: CallEvent[] = [];
  app.onEvent((e) => events.push(e));
  await app.start();
  api = await startCallsApi(app);
  return events;
}

const said = (events: CallEvent[]) => events.filter((e) => e.type === 'bot.said').map((e) => (e as { text: string }).text);

describe('warm transfer', () => {
  it('mock: the agent hears the summary while the caller hears hold audio, then the two are bridged', async () => {
    const tel = new MockTelephony({ codec: 'pcmu' });
    const events = await start(tel);
    const caller = tel.placeCall({ from: '+15550777' });
    // Chime frames: loud, with the hold sound's own notes (C5 523 Hz / E5 659 Hz) dominant.
    let chimeFrames = 0;
    caller.setReceiver((f) => {
      if (rmsOf(f.samples) < 300) return;
      const hz = dominantHz(f.samples, f.sampleRate, 400, 800, 5);
      if (Math.abs(hz - 523) <= 15 || Math.abs(hz - 659) <= 15) chimeFrames++;
    });
    // The agent's far end appears once dialled; decode what it hears.
    const agentHeard: string[] = [];
    const watch = setInterval(() => {
      for (const [id, far] of tel.farEnds) {
        if ((far as { hooked?: boolean }).hooked) continue;
        (far as { hooked?: boolean }).hooked = true;
        const d = new MockSpeechDecoder(far.sampleRate);
        far.setReceiver((f) => {
          d.push(f.samples);
          agentHeard.push(...d.take());
        });
        void id;
      }
    }, 2);
    expect(await caller.ended).toBe('transferred');
    clearInterval(watch);
    expect(tel.dialled.map((d) => d.to)).toEqual(['+15550200']);
    expect(tel.bridged).toHaveLength(1);
    expect(agentHeard.join(' ')).toContain('Caller +15550777 needs help with billing.');
    expect(said(events)).toEqual(['Let me get someone.']);
    expect(events.some((e) => e.type === 'call.transferred' && e.to === '+15550200')).toBe(true);
    // Hold audio reached the caller while the agent was being told.
    expect(chimeFrames).toBeGreaterThan(5);
  });

  it('mock: agent no answer or decline returns the caller to the flow (onFail)', async () => {
    for (const outcome of ['no-answer', 'decline'] as const) {
      const tel = new MockTelephony({ codec: 'pcmu', dialOutcomes: { '+15550200': outcome } });
      const events = await start(tel);
      const caller = tel.placeCall({ from: '+15550777' });
      expect(await caller.ended).toBe('bot-hangup');
      expect(tel.bridged).toHaveLength(0);
      expect(said(events)).toEqual(['Let me get someone.', 'Sorry, nobody is free.']);
      await api?.close();
      await app?.stop();
      api = app = undefined;
    }
  });

  it('ringcentral: a second call to the agent, the summary on it, and a REST bridge with both parties\' ids', async () => {
    fake = await startFakeRingCentral();
    fake.defaultCallee = { kind: 'human', greeting: { samples: new Int16Array(160), rate: 8000 } };
    const tel = new RingCentralTelephony(pluginOptions(fake), { logger: silentLogger() });
    const events = await start(tel);
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
    expect(said(events)).toEqual(['Let me get someone.']);
  });

  it('ringcentral: a busy agent leaves the caller with the bot', async () => {
    fake = await startFakeRingCentral();
    fake.callees.set('+15550200', { kind: 'busy' });
    const tel = new RingCentralTelephony(pluginOptions(fake), { logger: silentLogger() });
    const events = await start(tel);
    const call = await fake.placeCall({ from: '+16505550199' });
    expect(await call.ended).toBe('bot-bye');
    expect(fake.bridges).toHaveLength(0);
    expect(said(events)).toEqual(['Let me get someone.', 'Sorry, nobody is free.']);
  });
});

describe('warm transfer summary written by the llm', () => {
  it('the agent hears what the llm wrote from the conversation (the caller\'s own words reach it)', async () => {
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

  it('with no conversation yet, summarize falls back to the summary template', async () => {
    const tel = new MockTelephony({ codec: 'pcmu' });
    const { config } = await loadConfigText(CONFIG.replace('summary: "Caller', 'summarize: true, summary: "Caller'), '/tmp/warm.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(config!.flows.main!.steps.handoff).toMatchObject({ mode: 'warm', summarize: true });
    app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
    await app.start();
    api = await startCallsApi(app);
    const caller = tel.placeCall({ from: '+15550778' });
    const agentHeard: string[] = [];
    const watch = setInterval(() => {
      for (const far of tel.farEnds.values()) {
        if ((far as { hooked?: boolean }).hooked) continue;
        (far as { hooked?: boolean }).hooked = true;
        const d = new MockSpeechDecoder(far.sampleRate);
        far.setReceiver((f) => {
          d.push(f.samples);
          agentHeard.push(...d.take());
        });
      }
    }, 2);
    expect(await caller.ended).toBe('transferred');
    clearInterval(watch);
    expect(agentHeard.join(' ')).toContain('Caller +15550778 needs help with billing.');
  });
});
