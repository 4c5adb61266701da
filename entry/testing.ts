/** `voicebot/testing`, with the built-ins registered (the scripted caller dials the mock line). */
import './builtins.js';
export * from '../core/testing/index.js';
