import { describeTtsConformance } from '../conformance/tts.suite.js';
import { FliteEngine, FliteTts } from '../../plugins/flite/index.js';

describeTtsConformance('flite (slt, 16 kHz)', async () => {
  // A broken install (no flite.wasm) must fail as a coded, non-retryable ProviderError.
  const broken = new FliteEngine('/nonexistent/flite.wasm');
  return {
    plugin: new FliteTts({ voice: 'slt' }),
    failing: new FliteTts({}, {}, 'flite', broken),
    cleanup: () => broken.shutdown(),
  };
});

describeTtsConformance('flite (kal, 8 kHz)', async () => ({ plugin: new FliteTts({ voice: 'kal', chunkMs: 40 }) }));
