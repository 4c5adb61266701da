/**
 * VoicebotApp end to end in-process: the mock line (G.711), the real engine
 * and flow runner, what the caller hears decoded from the audio. Everything
 * runs on a VirtualClock (mock providers only): the caller's 20 ms frames,
 * the pacer and the engine's timers keep their modelled timing, and the test
 * waits on events, not on the wall clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { loadConfigText } from '../../core/config/load.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import { TestCaller } from '../engine/caller.js';

const CONFIG = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  timeouts: { endOfSpeech: 300ms, noInput: 3s }
routes:
  - { to: "+15550123", flow: main }
flows:
  main:
    steps:
      greet: { say: "Hello." }
      ask:
        listen: { input: [speech, dtmf], numDigits: 1 }
        save: answer
        routes: [ { dtmf: "1", goto: one } ]
        else: echo
      echo: { say: "You said {{answer}}.", next: bye }
      one: { say: "One.", next: bye }
      bye: { hangup: "Bye." }
`;

let current: { app: VoicebotApp; clock: VirtualClock } | undefined;
afterEach(async () => {
  await current?.app.stop();
  current?.clock.dispose();
  current = undefined;
});

async function makeApp(): Promise<{ app: VoicebotApp; tel: MockTelephony; events: CallEvent[] }> {
  const { config, diagnostics } = await loadConfigText(CONFIG, '/tmp/app.yaml', { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics).toEqual([]);
  const clock = new VirtualClock();
  const tel = new MockTelephony({ codec: 'pcmu' }, { clock });
  const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel }, clock });
  current = { app, clock };
  const events: CallEvent[] = [];
  app.onEvent((e) => events.push(e));
  await app.start();
  return { app, tel, events };
}

/** The first app event (seen in `events` or future) matching `pred`. */
function event(app: VoicebotApp, events: CallEvent[], pred: (e: CallEvent) => boolean): Promise<CallEvent> {
  const seen = events.find(pred);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve) => {
    const off = app.onEvent((e) => {
      if (!pred(e)) return;
      off();
      resolve(e);
    });
  });
}

describe('VoicebotApp (mock line, real engine, real audio frames)', { timeout: 120_000 }, () => {
  it('routes, answers once, runs the flow with speech, and tears the call down', async () => {
    const { app, tel, events } = await makeApp();
    const side = tel.placeCall({ to: '+15550123' });
    // The far end streams paced 20 ms frames on the app's clock (silence until it speaks) and decodes what it hears.
    const caller = new TestCaller(side, app.clock).start();
    await side.answered;
    await event(app, events, (e) => e.type === 'bot.listening' && e.step === 'ask');
    await caller.waitHeard((h) => h.includes('Hello.'));
    await caller.say('blue sky');
    expect(await side.ended).toBe('bot-hangup');
    caller.stop();
    await app.whenIdle();
    expect(app.activeCalls).toBe(0);
    expect(caller.heard).toEqual(['Hello.', 'You said blue sky.', 'Bye.']);
    expect(tel.answers).toBe(1);
    const said = events.filter((e) => e.type === 'caller.said' && e.final).map((e) => (e as { text: string }).text);
    expect(said).toEqual(['blue sky']);
    expect(events.map((e) => e.type)).toContain('turn.metrics');
    expect(events[events.length - 1]).toMatchObject({ type: 'call.ended', reason: 'bot-hangup' });
  });

  it('takes DTMF in a listen step', async () => {
    const { app, tel, events } = await makeApp();
    const side = tel.placeCall({ to: '+15550123' });
    const caller = new TestCaller(side, app.clock).start();
    await caller.waitHeard((h) => h.includes('Hello.'));
    await event(app, events, (e) => e.type === 'bot.listening' && e.step === 'ask');
    side.pressDtmf('1');
    expect(await side.ended).toBe('bot-hangup');
    caller.stop();
    expect(caller.heard).toEqual(['Hello.', 'One.', 'Bye.']);
  });

  it('rejects a call no route accepts', async () => {
    const { tel } = await makeApp();
    const caller = tel.placeCall({ to: '+19999999999' });
    expect(await caller.ended).toBe('rejected');
    expect(tel.answers).toBe(0);
  });
});
