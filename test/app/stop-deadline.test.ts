/**
 * app.stop() on the app's clock: the shutdown deadline, and calls stuck in a
 * tool freed by hangup and maxCall. In-process (mock line, real engine), so
 * everything runs on a VirtualClock: the deadline and maxCall fire at their
 * modelled instants and the test waits on events, never on the wall clock.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { TestCaller } from '../engine/caller.js';

/** A phone system whose stop() leaves live calls up (as a hosted PBX does): only the app can end them. */
class KeepsCallsTelephony extends MockTelephony {
  protected override async _stop(): Promise<void> {}
}

/** The first app event (from now on) matching `pred`. */
function nextEvent(app: VoicebotApp, pred: (e: CallEvent) => boolean): Promise<CallEvent> {
  return new Promise((resolve) => {
    const off = app.onEvent((e) => {
      if (!pred(e)) return;
      off();
      resolve(e);
    });
  });
}

const CONFIG = (shutdown: string) => `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  tts: { provider: mock }
settings:
  timeouts: { noInput: 1h, shutdown: ${shutdown} }
flows:
  main:
    steps:
      wait: { listen: { input: [dtmf] }, else: wait }
`;

describe('app.stop(): a deadline, then the remaining calls are ended', { timeout: 120_000 }, () => {
  it('ends a call that would wait an hour, after settings.timeouts.shutdown', async () => {
    const { config, diagnostics } = await loadConfigText(CONFIG('300ms'), '/tmp/stop.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(config!.settings.timeouts.shutdown).toBe(300);
    const clock = new VirtualClock();
    const tel = new KeepsCallsTelephony({ codec: 'pcmu' }, { clock });
    const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel }, clock });
    const events: CallEvent[] = [];
    app.onEvent((e) => events.push(e));
    const listening = nextEvent(app, (e) => e.type === 'bot.listening');
    await app.start();
    try {
      const caller = tel.placeCall({ to: '+15550123' });
      await listening;
      expect(app.activeCalls).toBe(1);
      const t0 = clock.now();
      let stoppedAt: number | undefined;
      const stopping = app.stop().then(() => (stoppedAt = clock.now()));
      // Just before the deadline stop() is still waiting for the call (it would for the whole hour).
      await clock.sleep(299);
      expect(stoppedAt).toBeUndefined();
      expect(app.activeCalls).toBe(1);
      await stopping;
      // It returned at the deadline (virtual ms), not when the call's hour ran out.
      expect(stoppedAt! - t0).toBeGreaterThanOrEqual(300);
      expect(stoppedAt! - t0).toBeLessThan(60_000);
      expect(app.activeCalls).toBe(0);
      expect(events.at(-1)).toMatchObject({ type: 'call.ended', reason: 'shutdown' });
      expect(await caller.ended).toBe('shutdown');
    } finally {
      await app.stop();
      clock.dispose();
    }
  });
});

describe('hangup and maxCall free a call stuck in a tool that never answers', { timeout: 120_000 }, () => {
  it.each(['max-duration', 'caller-hangup'] as const)('%s: the flow unwinds and the app forgets the call, even with a 1 h tool timeout', async (how) => {
    const g = globalThis as { __vbStuckCalled?: () => void };
    const called = new Promise<void>((r) => (g.__vbStuckCalled = r));
    let wasCalled = false;
    void called.then(() => (wasCalled = true));
    const dir = mkdtempSync(join(tmpdir(), 'vb-stuck-'));
    writeFileSync(join(dir, 'hang.js'), 'export function hang() { globalThis.__vbStuckCalled?.(); return new Promise(() => {}); }\n');
    const yaml = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  tts: { provider: mock }
  llm: { provider: mock, script: [ { toolCall: { name: stuck } } ] }
settings:
  timeouts: { endOfSpeech: 300ms, noInput: 1h, maxCall: 4s }
tools:
  stuck: { description: never answers, handler: ./hang.js#hang, timeout: 1h }
flows:
  main:
    steps:
      talk: { llm: { system: help, tools: [stuck] } }
`;
    const { config, diagnostics } = await loadConfigText(yaml, join(dir, 'voicebot.yaml'), { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const clock = new VirtualClock();
    const tel = new MockTelephony({ codec: 'pcmu' }, { clock });
    const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel }, clock });
    const events: CallEvent[] = [];
    app.onEvent((e) => events.push(e));
    const listening = nextEvent(app, (e) => e.type === 'bot.listening');
    await app.start();
    try {
      const side = tel.placeCall({ to: '+15550123' });
      // A phone line: paced 20 ms frames on the app's clock, silence after the words, so the model is asked and calls the tool.
      const caller = new TestCaller(side, app.clock).start();
      await listening;
      void caller.say('hello');
      await called;
      if (how === 'caller-hangup') side.hangup();
      expect(await side.ended).toBe(how);
      expect(wasCalled).toBe(true);
      caller.stop();
      // Before tool runs raced the call's signal the flow stayed awaiting the handler: activeCalls stayed 1.
      await app.whenIdle();
      expect(app.activeCalls).toBe(0);
      expect(events.filter((e) => e.type === 'call.ended')).toHaveLength(1);
      if (how === 'max-duration') expect(events.find((e) => e.type === 'call.ended')!.t).toBeGreaterThanOrEqual(4000);
    } finally {
      await app.stop();
      clock.dispose();
    }
  });
});
