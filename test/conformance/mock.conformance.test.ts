import { MockLlm } from '../../plugins/mock/llm.js';
import { MockStt } from '../../plugins/mock/stt.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { MockTts } from '../../plugins/mock/tts.js';
import { EnergyVad } from '../../plugins/energy/vad.js';
import { InprocessAudioStream } from '../../plugins/inprocess/index.js';
import { describeTtsConformance } from './tts.suite.js';
import { describeSttConformance } from './stt.suite.js';
import { describeLlmConformance } from './llm.suite.js';
import { describeVadConformance } from './vad.suite.js';
import { describeTelephonyConformance } from './telephony.suite.js';
import { describeAudioStreamConformance } from './audio-stream.suite.js';

describeTtsConformance('mock', async () => ({ plugin: new MockTts('mock', { chunkMs: 40 }), failing: new MockTts('mock', { failAfter: 0 }) }));
describeSttConformance('mock', async () => ({ plugin: new MockStt(), failing: new MockStt('mock', { failAfter: 0, retryable: false }) }));
describeLlmConformance('mock', async () => ({
  plugin: new MockLlm('mock', { tokenDelayMs: 1, script: [{ when: 'order', toolCall: { name: 'lookup', arguments: { order: '42' } } }] }),
  failing: new MockLlm('mock', { errorRate: 1 }),
}));
describeVadConformance('energy', () => new EnergyVad());
describeTelephonyConformance('mock (pcmu)', async () => ({ plugin: new MockTelephony('mock', { codec: 'pcmu' }) }));
describeTelephonyConformance('mock (l16, 16 kHz)', async () => ({ plugin: new MockTelephony('mock', { codec: 'l16', sampleRate: 16000 }) }));
describeAudioStreamConformance('inprocess', async () => ({ plugin: new InprocessAudioStream('inprocess') }));
