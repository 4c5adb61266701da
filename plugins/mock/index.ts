import { mockTelephonyPlugin } from './telephony.js';
import { mockSttPlugin } from './stt.js';
import { mockLlmPlugin } from './llm.js';
import { mockTtsPlugin } from './tts.js';

export { MockTelephony, mockTelephonyPlugin, type MockTelephonyOptions } from './telephony.js';
export { MockStt, mockSttPlugin, type MockSttOptions } from './stt.js';
export { MockLlm, mockLlmPlugin, type MockLlmOptions, type MockLlmRule } from './llm.js';
export { MockTts, mockTtsPlugin, type MockTtsOptions } from './tts.js';
export * from './mock-speech.js';

/** Every mock manifest (vad and audioStream have real defaults: energy, inprocess). */
export const mockPlugins = [mockTelephonyPlugin, mockSttPlugin, mockLlmPlugin, mockTtsPlugin] as const;
export const plugins = mockPlugins;
