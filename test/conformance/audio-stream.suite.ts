// The suite ships to plugin authors as voicebot/testing (core/testing/); here
// the calls come from the mock telephony unless a test brings its own.
import type { AudioStreamFixture } from '../../core/testing/audio-stream-conformance.js';
import { describeAudioStreamConformance as describeWith } from '../../core/testing/audio-stream-conformance.js';
import type { Skips } from '../../core/testing/common.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';

export function describeAudioStreamConformance(
  name: string,
  factory: () => Promise<Omit<AudioStreamFixture, 'telephony'> & Partial<Pick<AudioStreamFixture, 'telephony'>>>,
  skips?: Skips,
): void {
  describeWith(name, async () => {
    const fx = await factory();
    return { ...fx, telephony: fx.telephony ?? new MockTelephony({ codec: 'l16' }) };
  }, skips);
}
