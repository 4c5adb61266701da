// The mock speech codec lives in the public plugin API (core/audio/mock-speech.ts).
export { encodeMockSpeech, decodeMockSpeech, mockSpeechOffsetMs, mockSpeechDurationMs, MockSpeechDecoder, MockSpeechStream, TONE_MS, GAP_MS, SYMBOL_MS } from '../../core/plugin-api.js';
