// The suite ships to plugin authors as voicebot/testing (core/testing/).
export * from '../../core/testing/vad-conformance.js';
