import { describeVadConformance } from '../conformance/vad.suite.js';
import { FvadVad } from '../../plugins/fvad/index.js';
import { fliteSpeechAt } from '../vad/flite-speech.js';

describeVadConformance('fvad (mock speech)', () => new FvadVad());
describeVadConformance('fvad (Flite speech)', () => new FvadVad(), undefined, async () => ({ speech: await fliteSpeechAt() }));
describeVadConformance('fvad (30 ms blocks, Flite speech)', () => new FvadVad({ blockMs: 30 }), undefined, async () => ({ speech: await fliteSpeechAt() }));
