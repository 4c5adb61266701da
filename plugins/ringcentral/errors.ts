import { defineErrors } from '../../core/plugin-api.js';

/** The ringcentral telephony plugin. */
export const RINGCENTRAL_ERRORS = defineErrors({
  VB_ERR_RC_AUTH: {
    message:
      'RingCentral login failed ({detail}). Check clientId/clientSecret and the JWT (set RC_JWT; a JWT credential belongs to one app and one user). Rejected credentials are not retried.',
  },
  VB_ERR_RC_PROVISION: {
    message: 'RingCentral SIP provisioning failed ({detail}). The app needs the VoIP Calling permission and the user a WebPhone-capable line.',
  },
  VB_ERR_RC_SIP: {
    message: 'RingCentral SIP registration via {proxy} failed ({detail}). Check network access to the outbound proxy; voicebot keeps retrying with backoff.',
    retryable: true,
  },
  VB_WARN_RC_SIP_DROPPED: {
    message:
      'Dropped a malformed SIP message from {proxy} ({detail}); a request was answered 400 Bad Request. Other calls are not affected; if it repeats, report it with this line.',
    severity: 'warning',
  },
  VB_ERR_RC_WEBHOOK: {
    message: 'RingCentral webhook setup failed ({detail}). webhook.publicUrl must reach this host on webhook.port and webhook.path.',
  },
});
