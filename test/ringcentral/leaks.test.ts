import { describe, expect, it } from 'vitest';
import { startRig } from './helpers.js';

const KINDS = ['UDPWRAP', 'TCPWRAP', 'TCPServerWrap', 'TLSWRAP', 'Timeout'];

function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of process.getActiveResourcesInfo()) if (KINDS.includes(k)) out[k] = (out[k] ?? 0) + 1;
  return out;
}

describe('ringcentral resource hygiene', () => {
  it('a full call and stop() leave no sockets, servers or timers behind', async () => {
    const before = handles();
    const rig = await startRig({ plugin: { events: 'webhook', webhook: { verificationToken: 'verify-token-123' } } });
    const call = await rig.fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    await call.pressDtmf('5');
    await leg.hangup();
    await rig.close();
    // Closing is asynchronous at the OS level; poll (bounded) rather than sleep a fixed time.
    const extra = () => {
      const now = handles();
      return Object.fromEntries(KINDS.map((k) => [k, Math.max(0, (now[k] ?? 0) - (before[k] ?? 0))]).filter(([, n]) => n !== 0));
    };
    for (let i = 0; i < 100 && Object.keys(extra()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(extra()).toEqual({});
  });
});
