export { energyVadPlugin, EnergyVad, type EnergyVadOptions } from './vad.js';
export { energyVadPlugin as default } from './vad.js';
