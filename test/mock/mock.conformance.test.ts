import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { describeTtsConformance } from '../conformance/tts.suite.js';
import { describeSttConformance } from '../conformance/stt.suite.js';
import { describeLlmConformance } from '../conformance/llm.suite.js';
import { describeTelephonyConformance } from '../conformance/telephony.suite.js';

describeTtsConformance('mock', async () => ({ plugin: new MockTts({ chunkMs: 40 }), failing: new MockTts({ failAfter: 0 }) }));
describeSttConformance('mock', async () => ({ plugin: new MockStt(), failing: new MockStt({ failAfter: 0, retryable: false }) }));
describeLlmConformance('mock', async () => ({
  plugin: new MockLlm({ tokenDelayMs: 1, script: [{ when: 'order', toolCall: { name: 'lookup', arguments: { order: '42' } } }] }),
  failing: new MockLlm({ errorRate: 1 }),
}));
describeTelephonyConformance('mock (pcmu)', async () => ({ plugin: new MockTelephony({ codec: 'pcmu' }) }));
describeTelephonyConformance('mock (l16, 16 kHz)', async () => ({ plugin: new MockTelephony({ codec: 'l16', sampleRate: 16000 }) }));
