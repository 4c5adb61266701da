export * from './frame.js';
export * from './g711.js';
export * from './resampler.js';
export * from './wav.js';
export * from './pacer.js';
export * from './mix.js';
