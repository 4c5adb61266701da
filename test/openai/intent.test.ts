/**
 * Intent classification against the OpenAI fake over real HTTP: the request
 * is a plain instruction plus a strict json_schema response_format whose enum
 * is the intents (the fake rejects what the API would reject), and a whole
 * simulated call routes on the answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, loadConfigText } from '../../core/config/load.js';
import { classifyIntent } from '../../core/engine/intent.js';
import { startSimulation } from '../../core/flow/sim.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { OpenAiLlm } from '../../plugins/openai/llm.js';
import { FakeOpenAI, startFakeOpenAI } from '../fakes/openai/index.js';

const KEY = 'sk-test';
let fake: FakeOpenAI;
const dir = mkdtempSync(join(tmpdir(), 'vb-openai-intent-'));

beforeAll(async () => {
  fake = await startFakeOpenAI();
  fake.apiKey = KEY;
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => fake.reset());

describe('classifyIntent on openai', () => {
  it('sends an instruction and a strict json_schema with the intents as an enum; reads the answer', async () => {
    const llm = new OpenAiLlm({ apiKey: KEY, baseURL: fake.baseURL });
    expect(await classifyIntent(llm, 'c1', 'I need support with my router', ['sales', 'technical support'])).toBe('technical support');
    const [req] = fake.of('chat');
    expect(req.status).toBe(200);
    expect(req.json.temperature).toBe(0);
    expect(req.json.response_format).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'intent',
        strict: true,
        schema: {
          type: 'object',
          properties: { intent: { type: 'string', enum: ['sales', 'technical support', 'none'] } },
          required: ['intent'],
          additionalProperties: false,
        },
      },
    });
    const system = req.json.messages[0];
    expect(system.role).toBe('system');
    expect(system.content).not.toMatch(/CLASSIFY_INTENT/);
    expect(system.content).toContain('- sales\n- technical support');
    expect(system.content).toMatch(/"none"/);
    expect(req.json.messages[1]).toEqual({ role: 'user', content: 'I need support with my router' });

    expect(await classifyIntent(llm, 'c1', 'what is the weather', ['sales', 'technical support'])).toBeNull();
    fake.on('chat', { reply: { text: '{"intent":"sales"}' } });
    expect(await classifyIntent(llm, 'c1', 'anything', ['sales', 'technical support'])).toBe('sales');
  });

  it('the fake answers a schema the strict mode rejects with a 400, as the API does', async () => {
    const llm = new OpenAiLlm({ apiKey: KEY, baseURL: fake.baseURL, maxRetries: 0 });
    const run = async (): Promise<void> => {
      for await (const _ of llm.chat({
        messages: [{ role: 'user', content: 'x' }],
        responseSchema: { name: 'loose', schema: { type: 'object', properties: { a: { type: 'string' } } } },
      }));
    };
    await expect(run()).rejects.toMatchObject({ code: 'VB_ERR_OPENAI_REQUEST' });
    expect(fake.of('chat')[0].status).toBe(400);
  });

  it('a simulated call routes on intents classified by openai (listen routes)', async () => {
    const yaml = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  tts: { provider: mock }
  llm: { provider: openai, baseURL: "${fake.baseURL}", apiKey: ${KEY} }
settings:
  timeouts: { noInput: 3s, endOfSpeech: 400ms }
flows:
  main:
    steps:
      ask:
        listen: { prompt: "Sales or support?", input: [speech] }
        routes:
          - { intent: "buy something from sales", goto: sales }
          - { intent: "technical support", goto: support }
        else: other
      sales: { hangup: "Sales." }
      support: { hangup: "Support." }
      other: { hangup: "Bye." }
`;
    const { config, diagnostics } = await loadConfigText(yaml, join(dir, 'voicebot.yaml'), { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics.map((d) => formatDiagnostic(d, dir))).toEqual([]);
    const call = async (say: string): Promise<string[]> => {
      const sim = await startSimulation({ config: config!, idleTimeoutMs: 20_000 });
      sim.caller.push({ say });
      sim.caller.finish();
      const res = await sim.done;
      expect(res.reason).toBe('bot-hangup');
      return res.events.flatMap((e) => (e.type === 'flow.step' ? [e.step] : []));
    };
    const [sales, support, other] = await Promise.all([call('I want to buy from sales'), call('my router needs support'), call('goodbye')]);
    expect(sales).toEqual(['ask', 'sales']);
    expect(support).toEqual(['ask', 'support']);
    expect(other).toEqual(['ask', 'other']);
    const formats = fake.of('chat').map((r) => r.json.response_format?.json_schema?.schema?.properties?.intent?.enum);
    expect(formats).toEqual([0, 1, 2].map(() => ['buy something from sales', 'technical support', 'none']));
  }, 60_000);
});
