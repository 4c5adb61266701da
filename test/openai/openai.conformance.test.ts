/**
 * The three OpenAI plugins against their slots' conformance suites, talking
 * HTTP to the local fake exactly as they would to OpenAI (baseURL).
 */
import { describeLlmConformance } from '../conformance/llm.suite.js';
import { describeSttConformance } from '../conformance/stt.suite.js';
import { describeTtsConformance } from '../conformance/tts.suite.js';
import { OpenAiLlm } from '../../plugins/openai/llm.js';
import { OpenAiStt } from '../../plugins/openai/stt.js';
import { OpenAiTts } from '../../plugins/openai/tts.js';
import { startFakeOpenAI } from '../fakes/openai/index.js';

const KEY = 'sk-test';

for (const model of ['gpt-4o-mini-transcribe', 'whisper-1']) {
  describeSttConformance(`openai (${model}, ${model.startsWith('gpt') ? 'SSE' : 'JSON'})`, async () => {
    const fake = await startFakeOpenAI();
    fake.apiKey = KEY;
    // The failing instance asks for a model the fake answers with 503, then 400.
    fake.on('transcriptions', { fault: { kind: 'status', status: 503 } }, { when: (r) => r.fields?.model === 'broken', times: Infinity });
    return {
      plugin: new OpenAiStt({ apiKey: KEY, baseURL: fake.baseURL, model }),
      failing: new OpenAiStt({ apiKey: KEY, baseURL: fake.baseURL, model: 'broken', maxRetries: 1 }),
      cleanup: () => fake.close(),
    };
  });
}

describeLlmConformance('openai', async () => {
  const fake = await startFakeOpenAI();
  fake.apiKey = KEY;
  fake.on('chat', { fault: { kind: 'status', status: 500 } }, { when: (r) => r.json?.model === 'broken', times: Infinity });
  return {
    plugin: new OpenAiLlm({ apiKey: KEY, baseURL: fake.baseURL }),
    failing: new OpenAiLlm({ apiKey: KEY, baseURL: fake.baseURL, model: 'broken', maxRetries: 0 }),
    toolPrompt: 'look up order 42',
    cleanup: () => fake.close(),
  };
});

describeTtsConformance('openai', async () => {
  const fake = await startFakeOpenAI();
  fake.apiKey = KEY;
  fake.on('speech', { fault: { kind: 'status', status: 400, message: 'unknown voice' } }, { when: (r) => r.json?.model === 'broken', times: Infinity });
  return {
    plugin: new OpenAiTts({ apiKey: KEY, baseURL: fake.baseURL }),
    failing: new OpenAiTts({ apiKey: KEY, baseURL: fake.baseURL, model: 'broken' }),
    cleanup: () => fake.close(),
  };
});
