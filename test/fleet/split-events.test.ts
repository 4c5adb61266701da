/**
 * Split mode shows the call where the caller is: an edge app with the local
 * softphone line streams the call to a worker app over the real audio-stream
 * WebSocket, and the softphone client (the page protocol, over its own real
 * WebSocket) receives the worker's steps, transcript and turn events, and the
 * edge's own event listeners (its --json output and logs) get them too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import type { CallEvent } from '../../core/engine/events.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { SoftphoneClient, type LocalTelephony } from '../../plugins/local/index.js';
import { TOKEN } from '../websocket/helpers.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const FLOW = [
  '  stt: { provider: mock }',
  '  tts: { provider: mock }',
  'settings:',
  '  timeouts: { noInput: 60s }',
  'flows:',
  '  main:',
  '    steps:',
  '      greet: { say: "Hello from the worker." }',
  '      ask: { listen: { input: [dtmf], numDigits: 1 }, save: key, else: bye }',
  '      bye: { hangup: "You pressed {{key}}." }',
];

async function app(role: 'edge' | 'worker', audioStream: string, telephony?: string): Promise<VoicebotApp> {
  const yaml = ['version: 1', 'plugins:', ...(telephony ? [`  telephony: ${telephony}`] : []), `  audioStream: ${audioStream}`, ...FLOW].join('\n');
  const { config, diagnostics } = await loadConfigText(yaml, `/tmp/${role}.yaml`, { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const a = await VoicebotApp.create({ config: config!, role, logger: silentLogger() });
  await a.start();
  cleanups.push(() => a.stop());
  return a;
}

describe('split mode: the worker’s call events reach the edge', { timeout: 120_000 }, () => {
  it('the softphone page and the edge’s listeners see steps and transcript of a call the worker runs', async () => {
    const worker = await app('worker', `{ provider: websocket, token: ${TOKEN}, listen: { port: 0 } }`);
    const edge = await app('edge', `{ provider: websocket, token: ${TOKEN}, url: "${worker.remote!.listenUrl}" }`, '{ provider: local, port: 0 }');
    const edgeEvents: CallEvent[] = [];
    edge.onEvent((e) => edgeEvents.push(e));
    const line = edge.plugins.telephony as LocalTelephony;
    const phone = new SoftphoneClient(line.wsUrl!, { from: 'tester' });
    cleanups.push(async () => {
      phone.close();
      await phone.closed;
    });
    const callId = await phone.ringing;
    await phone.answered;
    const said = await phone.waitForEvent((e) => e.type === 'bot.said' && e.text === 'Hello from the worker.');
    expect(said.callId).toBe(callId);
    await phone.waitForEvent((e) => e.type === 'bot.listening');
    phone.pressDtmf('7');
    await phone.waitForEvent((e) => e.type === 'bot.said' && e.text === 'You pressed 7.');
    expect(await phone.ended).toBe('bot-hangup');
    const steps = phone.events.filter((e) => e.type === 'flow.step').map((e) => (e as Extract<CallEvent, { type: 'flow.step' }>).step);
    expect(steps).toEqual(['greet', 'ask', 'bye']);
    expect(phone.events.some((e) => e.type === 'dtmf' && e.digits === '7')).toBe(true);
    expect(edgeEvents.filter((e) => e.callId === callId).map((e) => e.type)).toEqual(expect.arrayContaining(['call.started', 'flow.step', 'bot.said', 'dtmf', 'call.ended']));
  });
});
