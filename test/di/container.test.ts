import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { container as rootContainer } from 'tsyringe';
import { afterAll, describe, expect, it } from 'vitest';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { silentLogger } from '../../core/logging.js';
import { TOKENS, realClock, type Clock, type HttpClient } from '../../core/plugin-api.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { collect } from '../../core/testing/common.js';
import { MockTts } from '../../plugins/mock/tts.js';

const dir = mkdtempSync(join(tmpdir(), 'voicebot-di-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A third-party plugin that asks the container for what it needs, as README "Writing a plugin" shows.
writeFileSync(
  join(dir, 'weather-llm.js'),
  `export default (api) => api.definePlugin({
  slot: 'llm', name: 'weather', optionsSchema: { type: 'object', properties: { url: { type: 'string' } } },
  create: (options, ctx) => {
    const http = ctx.container.resolve(api.TOKENS.HttpClient);
    const clock = ctx.container.resolve(api.TOKENS.Clock);
    const config = ctx.container.resolve(api.TOKENS.Config);
    const stt = ctx.container.resolve(api.TOKENS.Stt); // a slot created before this one
    const log = ctx.container.resolve(api.TOKENS.Logger);
    class Weather extends api.LlmPlugin {
      capabilities = { streaming: true, toolCalls: false };
      seen = { company: config.vars.company, stt: stt.provider, log: log.bindings() };
      async *_chat() {
        const res = await http(options.url);
        yield { type: 'text', text: (await res.text()) + ' at ' + clock.now() };
        yield { type: 'done', finishReason: 'stop' };
      }
    }
    return new Weather('weather');
  },
});\n`,
);

const YAML = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: ./weather-llm.js, url: "http://weather.invalid/today" }
  tts: { provider: flite, voice: slt }
vars: { company: Acme }
flows:
  main:
    start: hi
    steps:
      hi: { say: "Hi." }
`;

describe('plugins are created through the DI container', () => {
  it('a plugin resolves services and earlier slots; a test replaces the HTTP client, the clock and a whole slot by registering them', async () => {
    const { config, diagnostics } = await loadConfigText(YAML, join(dir, 'voicebot.yaml'), { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics).toEqual([]);
    const requested: string[] = [];
    const fakeHttp: HttpClient = async (input) => {
      requested.push(String(input));
      return new Response('sunny');
    };
    const frozen: Clock = { ...realClock, now: () => 1234 };
    const tts = new MockTts();
    const c = rootContainer.createChildContainer();
    c.register(TOKENS.HttpClient, { useValue: fakeHttp });
    c.register(TOKENS.Clock, { useValue: frozen });
    c.register(TOKENS.Tts, { useValue: tts });

    const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), container: c });
    try {
      const llm = app.plugins.llm!;
      const text = (await collect(llm.chat({ messages: [{ role: 'user', content: 'weather?' }] }))).filter((e) => e.type === 'text').map((e) => (e as { text: string }).text);
      expect(text).toEqual(['sunny at 1234']);
      expect(requested).toEqual(['http://weather.invalid/today']);
      expect((llm as unknown as { seen: unknown }).seen).toEqual({ company: 'Acme', stt: 'mock', log: { slot: 'llm', provider: './weather-llm.js' } });
      // The registered TTS replaced the configured flite; the app's container serves it too.
      expect(app.plugins.tts).toBe(tts);
      expect(app.container.resolve(TOKENS.Tts)).toBe(tts);
    } finally {
      await app.stop();
    }
  });

  it('without registrations the defaults are voicebot\'s own (fetch, the real clock, the configured plugins)', async () => {
    const { config } = await loadConfigText(YAML.replace('tts: { provider: flite, voice: slt }', 'tts: { provider: mock }'), join(dir, 'voicebot.yaml'), { env: {}, registry: createDefaultRegistry() });
    const app = await VoicebotApp.create({ config: config!, logger: silentLogger() });
    try {
      expect(app.container.resolve(TOKENS.Clock)).toBe(realClock);
      expect(typeof app.container.resolve(TOKENS.HttpClient)).toBe('function');
      expect(app.plugins.tts!.provider).toBe('mock');
      expect(app.container.resolve(TOKENS.Llm)).toBe(app.plugins.llm);
    } finally {
      await app.stop();
    }
  });
});
