import { definePlugin } from '../../core/plugin-api.js';
import { RingCentralLines } from './lines.js';
import { RingCentralTelephony, ringcentralOptionsSchema, type RingCentralOptions } from './plugin.js';

export { RingCentralTelephony, defaultInstanceId, type RingCentralLineOptions, type RingCentralOptions } from './plugin.js';
export { RingCentralLines } from './lines.js';

/**
 * RingCentral as a WebPhone device: JWT login, SIP over WSS, werift media.
 *
 * ```yaml
 * telephony:
 *   provider: ringcentral
 *   server: https://platform.ringcentral.com
 *   clientId: ${RC_CLIENT_ID}
 *   clientSecret: ${RC_CLIENT_SECRET}
 *   jwt: ${RC_JWT}
 * ```
 */
export default definePlugin<'telephony', RingCentralOptions>({
  slot: 'telephony',
  name: 'ringcentral',
  description: 'RingCentral WebPhone (SIP over WSS, Opus/PCMU via werift), call control over REST.',
  optionsSchema: ringcentralOptionsSchema as unknown as Record<string, unknown>,
  create: (options, ctx) => (options.lines ? new RingCentralLines({ ...options, lines: options.lines }, ctx) : new RingCentralTelephony(options, ctx)),
});
