import { describe, it } from 'vitest';
import { describeVadConformance } from '../conformance/vad.suite.js';
import { SileroVad, locateSilero } from '../../plugins/silero/index.js';
import type { VadPlugin } from '../../core/plugins/vad.js';
import { fliteSpeechAt } from '../vad/flite-speech.js';

function missingReason(): string | undefined {
  try {
    locateSilero();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
const missing = missingReason();
const settle = (v: VadPlugin): Promise<void> => (v as SileroVad).flush();

if (missing) {
  describe.skip(`silero conformance (skipped: ${missing})`, () => it('needs onnxruntime-node', () => {}));
} else {
  // Silero is a speech model: the mock speech tones are (rightly) not speech to it, so it gets Flite speech.
  describeVadConformance('silero (fvad gate)', () => new SileroVad(), undefined, async () => ({ speech: await fliteSpeechAt(), settle }));
  describeVadConformance('silero (no gate)', () => new SileroVad({ gate: 'none' }), undefined, async () => ({ speech: await fliteSpeechAt(), settle }));
}
