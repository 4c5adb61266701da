import type { VoicebotApp } from '../app/app.js';
import type { Logger } from '../logging.js';
import type { Clock } from '../time/clock.js';
import { OutboundCalls } from './outbound-calls.js';
import { ApiServer } from './server.js';

export { OutboundCalls, OutboundState, type OutboundCallView, type OutboundEvent } from './outbound-calls.js';
export { ApiServer, ROUTES, parseCallRequest } from './server.js';

export interface CallsApi {
  calls: OutboundCalls;
  server: ApiServer;
  url: string;
  close(): Promise<void>;
}

/**
 * The calls API next to a started app, when settings.api is configured (it is
 * only with a token). `voicebot run` calls this after app.start().
 */
export async function startCallsApi(app: VoicebotApp, opts: { logger?: Logger; clock?: Clock } = {}): Promise<CallsApi | undefined> {
  const api = app.config.settings.api;
  if (!api) return undefined;
  const calls = new OutboundCalls(app, api.outbound, { clock: opts.clock });
  const server = new ApiServer(api, calls, opts.logger);
  try {
    await server.listen();
  } catch (e) {
    calls.close();
    throw e;
  }
  return {
    calls,
    server,
    url: server.url!,
    close: async () => {
      await server.close();
      calls.close();
    },
  };
}
