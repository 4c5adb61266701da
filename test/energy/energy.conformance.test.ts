import { EnergyVad } from '../../plugins/energy/index.js';
import { describeVadConformance } from '../conformance/vad.suite.js';

describeVadConformance('energy', () => new EnergyVad());
