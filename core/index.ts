export * from './plugin-api.js';
export * from './errors/index.js';
