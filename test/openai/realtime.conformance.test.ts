/** openai-realtime against the STT conformance suite (streaming, interim results), over a real WebSocket to the local fake. */
import { describeSttConformance } from '../conformance/stt.suite.js';
import { OpenAiRealtimeStt } from '../../plugins/openai/realtime-stt.js';
import { startFakeRealtime } from '../fakes/openai/realtime.js';

for (const dialect of ['ga', 'beta'] as const) {
  describeSttConformance(`openai-realtime (${dialect}, pcm 24 kHz and pcmu 8 kHz)`, async () => {
    const fake = await startFakeRealtime();
    return {
      plugin: new OpenAiRealtimeStt({ apiKey: fake.apiKey, baseURL: fake.baseURL, dialect }),
      // A wrong key: the upgrade is refused with 401.
      failing: new OpenAiRealtimeStt({ apiKey: 'sk-wrong', baseURL: fake.baseURL, dialect }),
      cleanup: () => fake.close(),
    };
  });
}
