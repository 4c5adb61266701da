import type { VoicebotConfig } from '../config/types.js';

/**
 * Which flow answers a call to `to`. Without `routes:` every call goes to the
 * first flow. With routes, an exact match wins, then `*`; no match → the call
 * is not ours (undefined) and the telephony plugin rejects or ignores it.
 * Routes are per direction (default inbound); a direction without routes
 * runs the first flow.
 */
export function routeCall(config: VoicebotConfig, to: string, direction: 'inbound' | 'outbound' = 'inbound'): string | undefined {
  const flows = Object.keys(config.flows);
  const routes = config.routes.filter((r) => (r.direction ?? 'inbound') === direction);
  if (routes.length === 0) return flows[0];
  const norm = normalizeNumber(to);
  const exact = routes.find((r) => r.to !== '*' && normalizeNumber(r.to) === norm);
  if (exact) return exact.flow;
  return routes.find((r) => r.to === '*')?.flow;
}

/** "+1 (555) 012-3" and "sip:+15550123@host" compare equal. */
export function normalizeNumber(s: string): string {
  const user = s.replace(/^sips?:/, '').replace(/@.*$/, '');
  const digits = user.replace(/[^\d+*#a-zA-Z]/g, '');
  return digits;
}
