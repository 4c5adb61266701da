/**
 * A re-dispatched call on a real worker app, over the real stream protocol: a
 * bare WebSocket client sends `start` with `carry` (what an edge does after
 * its worker was lost); the worker goes on from `on.workerLost` with the
 * carried variables, and streams `state` and `event` messages back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import { TOKEN, rawClient, startMsg, until } from '../websocket/helpers.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function workerApp(): Promise<VoicebotApp> {
  const yaml = [
    'version: 1',
    'plugins:',
    `  audioStream: { provider: websocket, token: ${TOKEN}, listen: { port: 0 } }`,
    '  stt: { provider: mock }',
    '  tts: { provider: mock }',
    'settings:',
    '  timeouts: { noInput: 60s }',
    'flows:',
    '  main:',
    '    steps:',
    '      greet: { say: "Hello." }',
    '      ask:',
    '        listen: { input: [speech] }',
    '        save: first',
    '        else: bye',
    '        on: { workerLost: welcome }',
    '      welcome: { say: "Welcome back {{first}}.", next: bye }',
    '      plain: { say: "Plain {{first}}.", next: bye }',
    '      bye: { hangup: "Bye." }',
  ].join('\n');
  const { config, diagnostics } = await loadConfigText(yaml, '/tmp/worker.yaml', { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const app = await VoicebotApp.create({ config: config!, role: 'worker', logger: silentLogger() });
  await app.start();
  cleanups.push(() => app.stop());
  return app;
}

/** Decodes the bot's mock speech from the binary frames a raw client received. */
function heard(binary: Buffer[]): string[] {
  const d = new MockSpeechDecoder(16000);
  for (const b of binary) d.push(new Int16Array(b.buffer, b.byteOffset, b.length / 2));
  return d.take();
}

describe('re-dispatch onto a worker (carry)', { timeout: 600_000 }, () => {
  it('goes on from the lost step’s on.workerLost with the carried variables', async () => {
    const app = await workerApp();
    const c = await rawClient(app.remote!.listenUrl!);
    cleanups.push(() => c.ws.terminate());
    c.send(startMsg('moved-1', { flow: 'main', carry: { step: 'main.ask', vars: { first: 'blue sky' }, history: [] } }));
    await c.next((m) => m.type === 'started', 'started');
    const silence = Buffer.alloc(640);
    const feed = setInterval(() => c.ws.send(silence), 20); // the edge keeps sending caller audio
    cleanups.push(() => clearInterval(feed));
    await until(() => heard(c.binary).includes('Bye.'), 'the bot to say Bye.', 120_000);
    expect(heard(c.binary)).toEqual(['Welcome back blue sky.', 'Bye.']);
    // The worker mirrored its state and events to the edge.
    const states = c.json.filter((m) => m.type === 'state').map((m) => m.state.step);
    expect(states).toEqual(['main.welcome', 'main.bye']);
    expect(c.json.find((m) => m.type === 'state')!.state.vars).toEqual({ first: 'blue sky' });
    const events = c.json.filter((m) => m.type === 'event').map((m) => m.event.type);
    expect(events).toEqual(expect.arrayContaining(['call.started', 'flow.step', 'bot.said']));
    expect(c.json.find((m) => m.type === 'event' && m.event.type === 'bot.said')!.event.text).toBe('Welcome back blue sky.');
  });

  it('without on.workerLost the lost step starts over; an unknown step restarts the flow with the variables', async () => {
    const app = await workerApp();
    const c1 = await rawClient(app.remote!.listenUrl!);
    cleanups.push(() => c1.ws.terminate());
    c1.send(startMsg('moved-2', { carry: { step: 'main.plain', vars: { first: 'green' }, history: [] } }));
    await c1.next((m) => m.type === 'started', 'started');
    await until(() => heard(c1.binary).includes('Bye.'), 'Bye.', 120_000);
    expect(heard(c1.binary)).toEqual(['Plain green.', 'Bye.']);

    const c2 = await rawClient(app.remote!.listenUrl!);
    cleanups.push(() => c2.ws.terminate());
    c2.send(startMsg('moved-3', { carry: { step: 'main.renamed', vars: { first: 'red' }, history: [] } }));
    await c2.next((m) => m.type === 'started', 'started');
    await until(() => heard(c2.binary).includes('Hello.'), 'Hello.', 120_000);
    expect(c2.json.find((m) => m.type === 'state')!.state).toMatchObject({ step: 'main.greet', vars: { first: 'red' } });
  });

  it('a malformed carry is a protocol error that closes only that stream', async () => {
    const app = await workerApp();
    const c = await rawClient(app.remote!.listenUrl!);
    c.send(startMsg('bad-carry', { carry: { step: 7, vars: [], history: 'x' } }));
    const err = await c.next((m) => m.type === 'error', 'error');
    expect(err.code).toBe('VB_ERR_WS_PROTOCOL');
    expect(err.message).toMatch(/start\.carry/);
    expect((await c.closed).code).toBe(4400);
    expect(app.activeCalls).toBe(0);
  });
});

describe('state and event size', { timeout: 600_000 }, () => {
  it('a long conversation is carried without its oldest turns, under the stream message limit', async () => {
    const app = await workerApp();
    const c = await rawClient(app.remote!.listenUrl!);
    cleanups.push(() => c.ws.terminate());
    // 90 turns of 300 two-byte characters: about 55 KB — a start the worker takes (< 64 KiB), a state it must trim (> 48 KiB).
    const history = Array.from({ length: 90 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `${i}:` + 'é'.repeat(300) }));
    c.send(startMsg('long-1', { carry: { step: 'main.plain', vars: { first: 'x' }, history } }));
    await c.next((m) => m.type === 'started', 'started');
    const st = await c.next((m) => m.type === 'state', 'state');
    const bytes = Buffer.byteLength(JSON.stringify(st));
    expect(bytes).toBeLessThanOrEqual(48 * 1024);
    const kept = st.state.history as { content: string }[];
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length).toBeLessThan(90);
    expect(kept[kept.length - 1].content.startsWith('89:')).toBe(true); // the newest turns stay
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });
});
