/**
 * `auto` hands the engine another provider's detector, so its conformance is
 * that provider's suite run on what it chose on this machine (silero when the
 * optional packages load, else energy); test/vad/auto.test.ts covers the choice.
 */
import { chooseVad } from '../../plugins/auto-vad/index.js';
import { EnergyVad } from '../../plugins/energy/index.js';
import { SileroVad } from '../../plugins/silero/index.js';
import type { VadPlugin } from '../../core/plugins/vad.js';
import { realClock } from '../../core/time/clock.js';
import { silentLogger } from '../../core/logging.js';
import { describeVadConformance } from '../conformance/vad.suite.js';
import { fliteSpeechAt } from '../vad/flite-speech.js';

let chosen = '';
const first = await chooseVad({ clock: realClock, logger: silentLogger() }, { decided: (d) => (chosen = d.provider) });
await first.stop();

if (chosen === 'silero') {
  // Silero is a speech model: it gets Flite speech, not the mock speech tones.
  describeVadConformance('auto (chose silero)', () => new SileroVad(), undefined, async () => ({
    speech: await fliteSpeechAt(),
    settle: (v: VadPlugin) => (v as SileroVad).flush(),
  }));
} else {
  describeVadConformance(`auto (chose ${chosen})`, () => new EnergyVad());
}
