import { describe, expect, it } from 'vitest';
import { HEADER, lines } from '../config/helpers.js';

/** Line numbers below count from HEADER (6 lines) — each case states the line it breaks. */
const cfg = (body: string) => `${HEADER}${body}`;

describe('voicebot validate: the outbound keys, with file:line:col', () => {
  it('accepts a full outbound config and normalizes it', async () => {
    const { lines: l, result } = await lines(
      cfg(`settings:
  api: { token: "0123456789abcdef0123", outbound: { maxConcurrent: 3, perMinute: 10, ringTimeout: 20s } }
routes:
  - { to: "*", flow: main, direction: outbound }
flows:
  main:
    amd: { timeout: 4s }
    on: { human: hi, machine: vm, unknown: hi }
    steps:
      hi: { say: "Hi {{call.direction}}", next: keys }
      keys: { sendDigits: "1w2#", next: cb }
      cb: { dial: { to: "+15550100", flow: main, vars: { a: "{{call.from}}" } }, save: cbId, onFail: vm }
      vm: { say: "Message {{cbId}}" }
`),
    );
    expect(l).toEqual([]);
    const c = result.config!;
    expect(c.settings.api).toEqual({ token: '0123456789abcdef0123', host: '127.0.0.1', port: 8090, outbound: { maxConcurrent: 3, perMinute: 10, ringTimeoutMs: 20000 } });
    expect(c.flows.main!.amd).toEqual({ timeoutMs: 4000, beepTimeoutMs: 20000 });
    expect(c.flows.main!.on).toEqual({ human: 'main.hi', machine: 'main.vm', unknown: 'main.hi' });
    expect(c.routes).toEqual([{ to: '*', flow: 'main', direction: 'outbound' }]);
    expect(c.flows.main!.steps.cb).toMatchObject({ kind: 'dial', to: '+15550100', flowName: 'main', save: 'cbId', onFail: 'main.vm' });
    expect(c.flows.main!.steps.keys).toMatchObject({ kind: 'sendDigits', digits: '1w2#' });
  });

  it('points at each bad outbound key', async () => {
    const { lines: l } = await lines(
      cfg(`settings:
  api: { token: short }
routes:
  - { to: "*", flow: main, direction: sideways }
flows:
  main:
    amd: { timeout: 5 parsecs }
    on: { machine: nowhere }
    steps:
      keys: { sendDigits: "12x" }
      cb: { dial: { flow: main } }
`),
    );
    expect(l).toEqual([
      'voicebot.yaml:8:17 error VB_ERR_CONFIG_SCHEMA "settings.api.token" must NOT have fewer than 16 characters',
      'voicebot.yaml:10:39 error VB_ERR_CONFIG_SCHEMA "routes[0].direction" must be one of "inbound", "outbound"',
      expect.stringMatching(/^voicebot\.yaml:13:21 error VB_ERR_CONFIG_DURATION Invalid duration "5 parsecs"/),
      'voicebot.yaml:14:20 error VB_ERR_CONFIG_TARGET on.machine target "nowhere" does not exist in flow "main". Use a step name or flow.step.',
      'voicebot.yaml:16:27 error VB_ERR_CONFIG_SCHEMA "flows.main.steps.keys.sendDigits" must match pattern "^[0-9*#A-Dw]+$"',
      'voicebot.yaml:17:13 error VB_ERR_CONFIG_SCHEMA "flows.main.steps.cb.dial" is missing the required key "to"',
    ]);
  });
});
