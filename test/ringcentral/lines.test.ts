/**
 * Several RingCentral lines in one voicebot: `telephony.lines` with two
 * extensions, each logged in and registered against its own loopback fake
 * platform (the fake serves one extension per instance). A call to each line
 * is answered over SIP and runs the flow its number routes to — the caller
 * hears that flow's words (mock speech through PCMU) — and stop()
 * unregisters both.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';
import { RingCentralLines } from '../../plugins/ringcentral/index.js';
import { startFakeRingCentral, type FakeCall, type FakeRingCentral } from '../fakes/ringcentral/index.js';

// Real sockets/processes and CPU-bound work: generous limits, so a loaded machine (many test files on 2 cores) is slow, not failed.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function fakeExtension(jwt: string, number: string): Promise<FakeRingCentral> {
  const fake = await startFakeRingCentral({ jwt });
  fake.sipInfo.username = number;
  cleanups.push(() => fake.close());
  return fake;
}

function heardWords(call: FakeCall): () => string[] {
  return () => {
    const rate = call.received[0]?.sampleRate ?? call.audio.pcmRate;
    const decoder = new MockSpeechDecoder(rate);
    for (const f of call.received) decoder.push(f.samples);
    return decoder.take();
  };
}

describe('ringcentral: several lines (telephony.lines) in one process', () => {
  it('registers each line, answers a call on each with its own flow, stop() unregisters both', async () => {
    const one = await fakeExtension('ext-one.jwt', '16505550101');
    const two = await fakeExtension('ext-two.jwt', '16505550102');
    const yaml = `version: 1
plugins:
  telephony:
    provider: ringcentral
    server: ${one.restUrl}
    clientId: ${one.clientId}
    clientSecret: ${one.clientSecret}
    tlsRejectUnauthorized: false
    loopbackIce: true
    lines:
      - { name: sales, jwt: ${one.jwt} }
      - { name: support, jwt: ${two.jwt}, server: ${two.restUrl}, callerId: "+16505550102" }
  tts: { provider: mock }
routes:
  - { to: "16505550101", flow: sales }
  - { to: "16505550102", flow: support }
flows:
  sales: { steps: { hi: { say: "Sales here." }, bye: { hangup: true } } }
  support: { steps: { hi: { say: "Support here." }, bye: { hangup: true } } }
`;
    const { config, diagnostics } = await loadConfigText(yaml, '/tmp/lines.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const app = await VoicebotApp.create({ config: config!, logger: silentLogger() });
    cleanups.push(() => app.stop());
    await app.start();
    const tel = app.plugins.telephony as RingCentralLines;
    expect(tel).toBeInstanceOf(RingCentralLines);
    expect(tel.lines.map((l) => l.name)).toEqual(['sales', 'support']);
    // One login and one registration per extension.
    expect([one.registrations, two.registrations]).toEqual([1, 1]);
    expect([one.countRequests('/restapi/oauth/token'), two.countRequests('/restapi/oauth/token')]).toEqual([1, 1]);
    // Outbound line choice: by caller id, else the first line.
    expect(tel.lineFor({ callerId: '+16505550102' }).name).toBe('support');
    expect(tel.lineFor({}).name).toBe('sales');
    expect(tel.lineFor({ meta: { line: 'support' } }).name).toBe('support');
    expect(() => tel.lineFor({ meta: { line: 'nope' } })).toThrow(/no RingCentral line named "nope"/);

    const c1 = await one.placeCall({ from: '+16505550199', codecs: ['pcmu'] });
    const c2 = await two.placeCall({ from: '+16505550198', codecs: ['pcmu'] });
    const w1 = heardWords(c1);
    const w2 = heardWords(c2);
    await Promise.all([c1.answered, c2.answered]);
    expect(await c1.ended).toBe('bot-bye');
    expect(await c2.ended).toBe('bot-bye');
    expect(w1()).toEqual(['Sales here.']);
    expect(w2()).toEqual(['Support here.']);
    expect([c1.okCount, c2.okCount]).toEqual([1, 1]);

    await app.stop();
    expect([one.unregistrations, two.unregistrations]).toEqual([1, 1]);
  }, 120_000);

  it('config: exactly one of jwt or lines, reported at the telephony options', async () => {
    const base = ['version: 1', 'plugins:', '  telephony:', '    provider: ringcentral', '    server: https://platform.example', '    clientId: c', '    clientSecret: s'];
    const tail = ['flows:', '  main: { steps: { bye: { hangup: true } } }'];
    const check = async (extra: string[]) =>
      (await loadConfigText([...base, ...extra, ...tail].join('\n'), '/tmp/rc.yaml', { env: {}, registry: createDefaultRegistry() })).diagnostics.filter((d) => d.severity === 'error');
    expect(await check(['    lines: [ { jwt: a } ]'])).toEqual([]);
    expect(await check(['    jwt: a'])).toEqual([]);
    const neither = await check([]);
    const oneOf = expect.stringContaining('give exactly one of jwt (one line) or lines');
    expect(neither).toEqual([expect.objectContaining({ file: '/tmp/rc.yaml', line: 4, col: 5, code: 'VB_ERR_CONFIG_PLUGIN_OPTIONS', message: oneOf })]);
    const both = await check(['    jwt: a', '    lines: [ { jwt: b } ]']);
    expect(both).toEqual([expect.objectContaining({ line: 4, code: 'VB_ERR_CONFIG_PLUGIN_OPTIONS', message: oneOf })]);
    const lineWithoutJwt = await check(['    lines: [ { name: x } ]']);
    expect(lineWithoutJwt.length).toBeGreaterThan(0);
    expect(lineWithoutJwt[0]!.message).toMatch(/jwt/);
  });

  it('a line whose JWT is refused fails start and leaves no other line registered', async () => {
    const one = await fakeExtension('ext-one.jwt', '16505550101');
    const two = await fakeExtension('ext-two.jwt', '16505550102');
    const tel = new RingCentralLines(
      {
        server: one.restUrl,
        clientId: one.clientId,
        clientSecret: one.clientSecret,
        jwt: undefined as unknown as string,
        tlsRejectUnauthorized: false,
        loopbackIce: true,
        lines: [{ jwt: one.jwt }, { jwt: 'wrong.jwt', server: two.restUrl }],
      },
      { logger: silentLogger() },
    );
    await expect(tel.listen({ onIncomingCall: () => {} })).rejects.toMatchObject({ code: 'VB_ERR_RC_AUTH' });
    expect(one.registrations).toBe(1);
    expect(one.unregistrations).toBe(1);
    expect(two.registrations).toBe(0);
  }, 120_000);
});
