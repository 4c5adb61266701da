import { describe, expect, it } from 'vitest';
import type { VoicebotConfig } from '../../core/config/types.js';
import { timeModeFor } from '../../core/flow/virtual-time.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { makeConfig, makeFlow } from '../flow/config-helpers.js';

function withPlugins(plugins: VoicebotConfig['plugins']): VoicebotConfig {
  return { ...makeConfig([makeFlow('main', [{ name: 'bye', kind: 'hangup' }])]), plugins };
}

describe('timeModeFor (voicebot test / simulate)', () => {
  const registry = createDefaultRegistry();

  it('local providers only: virtual time; --realtime forces the wall clock', async () => {
    const cfg = withPlugins({
      stt: [{ provider: 'mock', options: {} }],
      llm: [{ provider: 'mock', options: {} }],
      tts: [{ provider: 'flite', options: {} }],
      // Telephony is replaced by the mock line in simulations: whatever it is does not count.
      telephony: [{ provider: 'ringcentral', options: {} }],
    });
    expect(await timeModeFor(cfg, registry)).toEqual({ virtual: true });
    expect(await timeModeFor(cfg, registry, true)).toEqual({ virtual: false, reason: '--realtime' });
  });

  it('a network provider anywhere in a chain means real time, and says which', async () => {
    const cfg = withPlugins({ llm: [{ provider: 'mock', options: {} }, { provider: 'openai', options: {} }] });
    expect(await timeModeFor(cfg, registry)).toEqual({ virtual: false, reason: 'llm provider openai is not local (its manifest does not declare virtualTime)' });
  });
});
