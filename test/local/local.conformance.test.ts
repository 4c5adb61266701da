import { describeTelephonyConformance } from '../conformance/telephony.suite.js';
import { LocalTelephony, SoftphoneClient } from '../../plugins/local/index.js';

/**
 * The local line, driven through its real WebSocket by a scriptable client
 * that speaks the browser page's protocol (no function calls into the plugin).
 */
function fixture(sampleRate: number) {
  return async () => {
    const plugin = new LocalTelephony({ host: '127.0.0.1', port: 0 });
    const clients: SoftphoneClient[] = [];
    return {
      plugin,
      placeCall: async () => {
        const c = new SoftphoneClient(plugin.wsUrl!, { sampleRate, from: 'conformance' });
        clients.push(c);
        await c.ringing;
        return c;
      },
      cleanup: async () => {
        for (const c of clients) c.close();
        await Promise.all(clients.map((c) => c.closed));
      },
    };
  };
}

describeTelephonyConformance('local (16 kHz softphone client)', fixture(16000));
describeTelephonyConformance('local (8 kHz softphone client)', fixture(8000));
