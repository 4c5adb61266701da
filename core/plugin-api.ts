/**
 * What a plugin imports — `import { definePlugin, SttPlugin } from 'voicebot/plugin'` —
 * and the only part of core/ a plugin may import (test/architecture checks it).
 * Built-ins use exactly this, so anything they need belongs here.
 */
// Slots, manifests and the contracts of each slot.
export * from './plugins/base.js';
export * from './plugins/slots.js';
export * from './plugins/errors.js';
export * from './plugins/manifest.js';
export * from './plugins/media-port.js';
export * from './plugins/telephony.js';
export * from './plugins/leg-state.js';
export * from './plugins/telephony-leg.js';
export * from './plugins/audio-stream.js';
export * from './plugins/vad.js';
export * from './plugins/vad-hysteresis.js';
export * from './plugins/stt.js';
export * from './plugins/llm.js';
export * from './plugins/tts.js';
export * from './plugins/worker-pool.js';
export type { BuiltinEntry } from './plugins/registry.js';
// Coded errors: the core's, and a plugin's own through registerErrors / manifest.errors.
export { VoicebotError, isVoicebotError, toVoicebotError, registerErrors, isErrorCode, formatMessage } from './errors/index.js';
export type { ErrorCode, ErrorDef, ErrorParams } from './errors/index.js';
export { defineErrors } from './errors/define.js';
// Audio: frames, G.711, resampling, WAV, levels, jitter buffer, the mock speech codec.
export * from './audio/frame.js';
export * from './audio/g711.js';
export * from './audio/resampler.js';
export * from './audio/wav.js';
export * from './audio/mix.js';
export * from './audio/jitter-buffer.js';
export * from './audio/mock-speech.js';
// Text: the sentence splitter TTS plugins chunk with.
export * from './engine/sentence-splitter.js';
// Time, logs, call events and the edge/worker stream roles.
export * from './time/clock.js';
export { createLogger, silentLogger, type Logger } from './logging.js';
export type { CallEvent } from './engine/events.js';
export type { ForwardOptions, ForwardResult, RemoteAudioStream, RunRole, StreamEvent, StreamHandler, WorkerPicker, WorkerTarget } from './app/roles.js';
export type { FlowState } from './flow/runner.js';
// DI: the tokens a plugin may resolve from ctx.container.
export { TOKENS, type HttpClient } from './di/tokens.js';
export type { ToolHandler, ToolHandlerContext } from './flow/tools.js';
