import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { realClock, type Clock, type TimerHandle } from '../../core/time/clock.js';

/** Timers that fire only when the test says so: the shutdown deadline in virtual time. */
class ManualClock implements Clock {
  readonly virtual = true;
  readonly timers = new Map<TimerHandle, { fn: () => void; ms: number }>();
  now = (): number => 0;
  wallNow = (): number => 0;
  setTimeout = (fn: () => void, ms: number): TimerHandle => {
    const h = { __timer: Symbol('t') } as TimerHandle;
    this.timers.set(h, { fn, ms });
    return h;
  };
  clearTimeout = (h: TimerHandle | undefined): void => {
    if (h) this.timers.delete(h);
  };
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => realClock.sleep(ms, signal);
  fire(ms: number): void {
    for (const [h, t] of [...this.timers]) if (t.ms === ms) {
      this.timers.delete(h);
      t.fn();
    }
  }
}

/** A phone system whose stop() leaves live calls up (as a hosted PBX does): only the app can end them. */
class KeepsCallsTelephony extends MockTelephony {
  protected override async _stop(): Promise<void> {}
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

describe('app.stop(): a deadline, then the remaining calls are ended', () => {
  it('ends a call that would wait an hour, after settings.timeouts.shutdown', async () => {
    const { config, diagnostics } = await loadConfigText(CONFIG('300ms'), '/tmp/stop.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(config!.settings.timeouts.shutdown).toBe(300);
    const tel = new KeepsCallsTelephony({ codec: 'pcmu' });
    const clock = new ManualClock();
    const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel }, clock });
    const events: CallEvent[] = [];
    app.onEvent((e) => events.push(e));
    await app.start();
    const caller = tel.placeCall({ to: '+15550123' });
    while (!events.some((e) => e.type === 'bot.listening')) await new Promise((r) => setTimeout(r, 10));
    expect(app.activeCalls).toBe(1);
    let stopped = false;
    const stopping = app.stop().then(() => (stopped = true));
    // Before the deadline stop() keeps waiting for the call (it would for the whole hour).
    while (![...clock.timers.values()].some((t) => t.ms === 300)) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false);
    expect(app.activeCalls).toBe(1);
    clock.fire(300);
    await stopping;
    expect(app.activeCalls).toBe(0);
    expect(events.at(-1)).toMatchObject({ type: 'call.ended', reason: 'shutdown' });
    expect(await caller.ended).toBe('shutdown');
  });
});

describe('hangup and maxCall free a call stuck in a tool that never answers', () => {
  it.each(['max-duration', 'caller-hangup'] as const)('%s: the flow unwinds and the app forgets the call, even with a 1 h tool timeout', async (how) => {
    (globalThis as { __vbStuckCalled?: boolean }).__vbStuckCalled = false;
    const dir = mkdtempSync(join(tmpdir(), 'vb-stuck-'));
    writeFileSync(join(dir, 'hang.js'), 'export function hang() { globalThis.__vbStuckCalled = true; return new Promise(() => {}); }\n');
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
    const tel = new MockTelephony({ codec: 'pcmu' });
    const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: tel } });
    const events: CallEvent[] = [];
    app.onEvent((e) => events.push(e));
    await app.start();
    try {
      const caller = tel.placeCall({ to: '+15550123' });
      while (!events.some((e) => e.type === 'bot.listening')) await new Promise((r) => setTimeout(r, 10));
      // Speak as paced 20 ms frames, then silence, so the model is asked and calls the tool.
      const rate = caller.sampleRate;
      const speech = encodeMockSpeech('hello', rate);
      const audio = new Int16Array(speech.length + rate);
      audio.set(speech);
      const n = rate / 50;
      for (let i = 0; i + n <= audio.length && !events.some((e) => e.type === 'call.ended'); i += n) {
        caller.write({ samples: audio.subarray(i, i + n), sampleRate: rate, timestampMs: (i / rate) * 1000 });
        await new Promise((r) => setTimeout(r, 20));
      }
      const called = (): boolean => (globalThis as { __vbStuckCalled?: boolean }).__vbStuckCalled === true;
      if (how === 'caller-hangup') {
        while (!called()) await new Promise((r) => setTimeout(r, 10));
        caller.hangup();
      }
      expect(await caller.ended).toBe(how);
      expect(called()).toBe(true);
      // Before tool runs raced the call's signal the flow stayed awaiting the handler: activeCalls stayed 1.
      while (app.activeCalls > 0) await new Promise((r) => setTimeout(r, 10));
      expect(events.filter((e) => e.type === 'call.ended')).toHaveLength(1);
    } finally {
      await app.stop();
    }
  });
});
