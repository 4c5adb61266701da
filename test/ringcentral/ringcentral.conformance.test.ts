import { silentLogger } from '../../core/logging.js';
import { RingCentralTelephony } from '../../plugins/ringcentral/index.js';
import { describeTelephonyConformance } from '../conformance/telephony.suite.js';
import { placeCallerSide } from '../fakes/ringcentral/caller-side.js';
import { startFakeRingCentral } from '../fakes/ringcentral/index.js';
import { pluginOptions } from './helpers.js';

// The real stack end to end: SDK login, WebPhone over WSS, werift RTP (Opus), against the local fake.
describeTelephonyConformance('ringcentral (fake platform, opus)', async () => {
  const fake = await startFakeRingCentral();
  return {
    plugin: new RingCentralTelephony(pluginOptions(fake), { logger: silentLogger() }),
    placeCall: () => placeCallerSide(fake),
    cleanup: () => fake.close(),
  };
});

describeTelephonyConformance('ringcentral (fake platform, pcmu)', async () => {
  const fake = await startFakeRingCentral();
  return {
    plugin: new RingCentralTelephony(pluginOptions(fake), { logger: silentLogger() }),
    placeCall: () => placeCallerSide(fake, { codecs: ['pcmu'] }),
    cleanup: () => fake.close(),
  };
});
