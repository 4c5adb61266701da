/**
 * `voicebot/testing`: what a plugin author needs to test a plugin in their own
 * vitest — the slot conformance suites every built-in passes, small fakes, the
 * mock speech codec, and a scripted caller through the real engine.
 * Needs `vitest` (an optional peer dependency of voicebot) only here.
 */
export * from './common.js';
export * from './fakes.js';
export * from './tts-conformance.js';
export * from './stt-conformance.js';
export * from './llm-conformance.js';
export * from './vad-conformance.js';
export * from './telephony-conformance.js';
export * from './audio-stream-conformance.js';
export { encodeMockSpeech, decodeMockSpeech, mockSpeechDurationMs, MockSpeechDecoder } from '../audio/mock-speech.js';
export { ScriptedCaller, type CallerTurn, type CallerVoice, type ObservedEvent, type ScriptedCallResult } from '../flow/scripted-caller.js';
export { startSimulation, type Simulation, type SimulationOptions } from '../flow/sim.js';
export { runScenario, type ScenarioResult } from '../flow/scenario-run.js';
