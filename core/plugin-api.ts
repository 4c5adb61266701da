/** What a plugin author imports: `import { definePlugin, SttPlugin } from 'voicebot/plugin'`. */
export * from './plugins/base.js';
export * from './plugins/slots.js';
export * from './plugins/errors.js';
export * from './plugins/manifest.js';
export * from './plugins/media-port.js';
export * from './plugins/telephony.js';
export * from './plugins/audio-stream.js';
export * from './plugins/vad.js';
export * from './plugins/stt.js';
export * from './plugins/llm.js';
export * from './plugins/tts.js';
export * from './audio/frame.js';
export * from './time/clock.js';
export { VoicebotError } from './errors/index.js';
export * from './audio/mock-speech.js';
