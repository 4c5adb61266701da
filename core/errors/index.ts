export * from './voicebot-error.js';
export * from './registry.js';
export type { ErrorDef } from './define.js';
