import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'vitest';
import { parse } from 'yaml';
import { startCallsApi, ROUTES, type CallsApi, type OutboundCallView } from '../../core/api/index.js';
import { VoicebotApp } from '../../core/app/app.js';
import { loadConfigText } from '../../core/config/load.js';
import { silentLogger } from '../../core/logging.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { realClock, type Clock } from '../../core/time/clock.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { outboundConfig, TOKEN } from './api.test-config.js';
import { CALL_TEST_TIMEOUT, startApp } from './helpers.js';

/**
 * A clock whose `now` stands still unless the test moves it (the minute window), timers real: the
 * rate limit's window does not depend on how long the host takes between requests.
 */
function handClock(): Clock & { advance(ms: number): void } {
  const base = realClock.now();
  let offset = 0;
  return { ...realClock, now: () => base + offset, advance: (ms) => (offset += ms) };
}

type Ctx = Pick<TestContext, 'onTestFinished' | 'expect'>;

/** One app + calls API per test (closed when it ends), so the tests run side by side. */
async function start(ctx: Ctx, clock?: Clock, tel = new MockTelephony({ codec: 'pcmu', dialOutcomes: { '+15550000486': 'busy' } })) {
  const { api } = await startApp(ctx, outboundConfig(), tel, { apiClock: clock });
  return { tel, api, url: api.url };
}

async function call(url: string, method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const r = await fetch(url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, json: text ? JSON.parse(text) : undefined };
}

/**
 * Wait for call `id` to reach `state` (the calls service's own events, no polling), then read it back over
 * HTTP: the view the API serves must show it.
 */
async function reached(ctx: Ctx, api: CallsApi, id: string, state: 'answered' | 'ended' | 'failed'): Promise<OutboundCallView> {
  if (state === 'answered') {
    await new Promise<void>((resolve) => {
      const off = api.calls.onEvent((ev) => {
        if (ev.type === 'outbound.answered' && ev.id === id) {
          off();
          resolve();
        }
      });
      if (api.calls.get(id)?.answeredAt) {
        off();
        resolve();
      }
    });
  } else await api.calls.whenDone(id);
  const r = await call(api.url, 'GET', `/v1/calls/${id}`);
  ctx.expect(r.json.state).toBe(state);
  return r.json;
}

/** Real HTTP to the calls API, calls on the wall clock (the `waiting` flow must still be waiting while the test acts). */
describe.concurrent('calls API on the app (mock telephony, real HTTP)', { timeout: CALL_TEST_TIMEOUT }, () => {
  it('is off without a token', async ({ expect, onTestFinished }) => {
    const { config } = await loadConfigText(outboundConfig().replace(/ {2}api: .*\n/, '  language: en-US\n'), '/tmp/o.yaml', { env: {}, registry: createDefaultRegistry() });
    expect(config!.settings.api).toBeUndefined();
    const app = await VoicebotApp.create({ config: config!, logger: silentLogger(), overrides: { telephony: new MockTelephony() } });
    onTestFinished(() => app.stop());
    expect(await startCallsApi(app)).toBeUndefined();
  });

  it('places a call through the outbound route, with vars and call.direction, and reports state and transcript', async ({ expect, onTestFinished }) => {
    const { tel, api, url } = await start({ expect, onTestFinished });
    const r = await call(url, 'POST', '/v1/calls', { to: '+15550100', vars: { name: 'Ann' }, callerId: '+15550999' });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ to: '+15550100', flow: 'reminder', state: 'dialing' });
    expect(r.json.id).toMatch(/^call_/);
    const done = await reached({ expect, onTestFinished }, api, r.json.id, 'ended');
    expect(done.endReason).toBe('bot-hangup');
    expect(done.transcript.filter((l) => l.who === 'bot').map((l) => l.text)).toEqual(['Hi Ann, outbound from +15550999.', 'Bye.']);
    expect(tel.dialled).toEqual([{ to: '+15550100', callerId: '+15550999' }]);
    const list = await call(url, 'GET', '/v1/calls');
    expect(list.json.calls.map((c: OutboundCallView) => c.id)).toEqual([r.json.id]);
  });

  it('refuses without the right bearer token, and bad requests, with coded errors', async ({ expect, onTestFinished }) => {
    const { url } = await start({ expect, onTestFinished });
    for (const token of [null, 'wrong-token-0123456789abcdef', TOKEN + 'x']) {
      const r = await call(url, 'GET', '/v1/calls', undefined, token);
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('VB_ERR_API_AUTH');
    }
    expect((await call(url, 'POST', '/v1/calls', '{"to": ')).json.error.code).toBe('VB_ERR_API_REQUEST');
    expect((await call(url, 'POST', '/v1/calls', { flow: 'reminder' })).status).toBe(400);
    expect((await call(url, 'POST', '/v1/calls', { to: '+1555', what: 1 })).json.error.message).toMatch(/unknown field "what"/);
    expect((await call(url, 'POST', '/v1/calls', { to: '+1555', flow: 'nope' })).json.error.message).toMatch(/unknown flow "nope"/);
    expect((await call(url, 'POST', '/v1/calls', { to: '+1555', vars: { a: { b: 1 } } })).status).toBe(400);
    expect((await call(url, 'GET', '/v1/calls/call_nope')).status).toBe(404);
    expect((await call(url, 'DELETE', '/v1/calls/call_nope')).json.error.code).toBe('VB_ERR_API_NOT_FOUND');
    expect((await call(url, 'GET', '/v2/things')).status).toBe(404);
    const patch = await call(url, 'PATCH', '/v1/calls');
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('POST, GET');
  });

  it('amd per call: a silent callee is "unknown" at the timeout; bad amd values are refused', async ({ expect, onTestFinished }) => {
    const { api, url } = await start({ expect, onTestFinished });
    expect((await call(url, 'POST', '/v1/calls', { to: '+1555', amd: { timeoutMs: -1 } })).json.error.message).toMatch(/amd.timeoutMs must be ms/);
    expect((await call(url, 'POST', '/v1/calls', { to: '+1555', amd: 'yes' })).status).toBe(400);
    const r = await call(url, 'POST', '/v1/calls', { to: '+15550100', amd: { timeoutMs: 800 } });
    const v = await reached({ expect, onTestFinished }, api, r.json.id, 'ended');
    expect(v.amd).toMatchObject({ outcome: 'unknown', reason: 'no greeting heard' });
    expect(v.amd!.decidedAfterMs).toBeGreaterThanOrEqual(800);
    // unknown has no handler in this flow: it starts at its start step.
    expect(v.transcript[0]?.text).toMatch(/^Hi friend/);
  });

  it('a busy line ends the call as failed with its code', async ({ expect, onTestFinished }) => {
    const { api, url } = await start({ expect, onTestFinished });
    const r = await call(url, 'POST', '/v1/calls', { to: '+15550000486' });
    const v = await reached({ expect, onTestFinished }, api, r.json.id, 'failed');
    expect(v.error?.code).toBe('VB_ERR_OUTBOUND_BUSY');
  });

  it('caps concurrent calls, hangs up on DELETE, and rate-limits per minute', async ({ expect, onTestFinished }) => {
    const clock = handClock();
    const { api, url } = await start({ expect, onTestFinished }, clock);
    const a = await call(url, 'POST', '/v1/calls', { to: '+15550101', flow: 'waiting' });
    const b = await call(url, 'POST', '/v1/calls', { to: '+15550102', flow: 'waiting' });
    expect([a.status, b.status]).toEqual([201, 201]);
    await reached({ expect, onTestFinished }, api, a.json.id, 'answered');
    const c = await call(url, 'POST', '/v1/calls', { to: '+15550103', flow: 'waiting' });
    expect(c.status).toBe(429);
    expect(c.json.error).toMatchObject({ code: 'VB_ERR_API_CONCURRENCY', retryable: true });

    const del = await call(url, 'DELETE', `/v1/calls/${a.json.id}`);
    expect(del.status).toBe(200);
    expect(del.json).toMatchObject({ state: 'ended', endReason: 'bot-hangup' });
    // One slot free, but the third call this minute is the last the limit allows.
    expect((await call(url, 'POST', '/v1/calls', { to: '+15550104', flow: 'waiting' })).status).toBe(201);
    expect((await call(url, 'DELETE', `/v1/calls/${b.json.id}`)).status).toBe(200);
    // b's slot is free once its call has ended (it may still have been dialling when DELETE came).
    await reached({ expect, onTestFinished }, api, b.json.id, 'ended');
    const d = await call(url, 'POST', '/v1/calls', { to: '+15550105', flow: 'waiting' });
    expect(d.status).toBe(429);
    expect(d.json.error.code).toBe('VB_ERR_API_RATE_LIMIT');
    // The window's clock stood still since the first call: a whole minute to wait.
    expect(Number(d.headers.get('retry-after'))).toBe(60);
    clock.advance(60_000);
    expect((await call(url, 'POST', '/v1/calls', { to: '+15550105', flow: 'waiting' })).status).toBe(201);
  });

  it('core/api/openapi.yaml describes exactly the routes the server has', async ({ expect, onTestFinished }) => {
    const doc = parse(readFileSync(new URL('../../core/api/openapi.yaml', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    const described = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).filter((k) => k !== 'parameters').map((m) => `${m.toUpperCase()} ${p}`));
    expect(described.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    // And each one answers (not 404 "no such route") on a live server.
    const { url } = await start({ expect, onTestFinished });
    const placed = await call(url, 'POST', '/v1/calls', { to: '+15550106', flow: 'waiting' });
    for (const r of ROUTES) {
      const res = await call(url, r.method, r.path.replace('{id}', placed.json.id), r.method === 'POST' ? { to: '+15550107', flow: 'waiting' } : undefined);
      expect(res.json?.error?.code, `${r.method} ${r.path}`).not.toBe('VB_ERR_API_NOT_FOUND');
    }
  });
});
