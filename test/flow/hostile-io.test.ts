import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeWav } from '../../core/audio/wav.js';
import type { VoicebotConfig } from '../../core/config/types.js';
import { runFlow } from '../../core/flow/runner.js';
const playCache = { size: 0 };
import { PLAY_CACHE_MAX_ENTRIES, BoundedCache } from '../../core/flow/steps/play-source.js';
import { Templates, type TemplateScope } from '../../core/flow/templates.js';
import { ToolRunner } from '../../core/flow/tools.js';
import { silentLogger } from '../../core/logging.js';
import { makeConfig, makeFlow } from './config-helpers.js';
import { FakeSession, type FakeOptions } from './fake-session.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A real HTTP server on 127.0.0.1:0 that records each raw request target. */
async function server(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; targets: string[] }> {
  const targets: string[] = [];
  const s = createServer((req, res) => {
    targets.push(req.url ?? '');
    handler(req, res);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, targets };
}

async function run(config: VoicebotConfig, opts: FakeOptions = {}): Promise<FakeSession> {
  const s = new FakeSession(opts);
  await runFlow(s, { config, flow: Object.keys(config.flows)[0], logger: silentLogger() });
  return s;
}

const errorOf = (s: FakeSession) => s.events.find((e) => e.type === 'call.error') as { code: string; message: string } | undefined;
const wav = (n: number): Buffer => Buffer.from(encodeWav(new Int16Array(n).fill(500), 8000));

/** Caller input saved as `choice`, then the step under test. */
function afterChoice(step: Record<string, unknown> & { kind: never | string }) {
  return makeFlow('m', [{ name: 'ask', kind: 'listen', save: 'choice', routes: [], else: 'm.x' }, { name: 'x', ...step } as never, { name: 'end', kind: 'hangup' }]);
}

describe('play: { file } with templates stays inside its directory', () => {
  function sounds() {
    const dir = mkdtempSync(join(tmpdir(), 'vb-contain-'));
    mkdirSync(join(dir, 'cfg', 'sounds'), { recursive: true });
    writeFileSync(join(dir, 'cfg', 'sounds', 'menu.wav'), wav(80));
    writeFileSync(join(dir, 'outside-secret.wav'), wav(160));
    writeFileSync(join(dir, 'cfg', 'config-secret.wav'), wav(240));
    return { dir, cfg: join(dir, 'cfg') };
  }

  it('a caller-chosen ../ path is refused with VB_ERR_FLOW_PLAY_PATH; nothing is played', async () => {
    const { dir, cfg } = sounds();
    const flow = afterChoice({ kind: 'play', file: './sounds/{{choice}}.wav' });
    for (const said of ['../../outside-secret', '../config-secret', '../sounds/../../outside-secret']) {
      const s = await run(makeConfig([flow], { dir: cfg }), { turns: [{ say: said }] });
      expect(s.played).toEqual([]);
      expect(errorOf(s)).toMatchObject({ code: 'VB_ERR_FLOW_PLAY_PATH' });
    }
    const ok = await run(makeConfig([flow], { dir: cfg }), { turns: [{ say: 'menu' }] });
    expect(ok.played.map((a) => a.samples.length)).toEqual([80]);
    // A value that is a whole absolute path is not written in the config: refused too.
    const whole = afterChoice({ kind: 'play', file: '{{choice}}' });
    const abs = await run(makeConfig([whole], { dir: cfg }), { turns: [{ say: join(dir, 'outside-secret.wav') }] });
    expect(abs.played).toEqual([]);
    expect(errorOf(abs)).toMatchObject({ code: 'VB_ERR_FLOW_PLAY_PATH' });
  });

  it('a path written literally in the config may point anywhere, absolute or ../', async () => {
    const { dir, cfg } = sounds();
    const flow = makeFlow('m', [{ name: 'a', kind: 'play', file: join(dir, 'outside-secret.wav') }, { name: 'b', kind: 'play', file: '../outside-secret.wav' }]);
    const s = await run(makeConfig([flow], { dir: cfg }));
    expect(s.played.map((a) => a.samples.length)).toEqual([160, 160]);
  });

  it('the decoded-file cache is bounded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vb-cache-'));
    const n = PLAY_CACHE_MAX_ENTRIES + 10;
    for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}.wav`), wav(8));
    const flow = afterChoice({ kind: 'play', file: '{{choice}}.wav' });
    for (let i = 0; i < n; i++) {
      const s = await run(makeConfig([flow], { dir }), { turns: [{ say: `f${i}` }] });
      expect(s.played).toHaveLength(1);
    }
    expect(playCache.size).toBeLessThanOrEqual(PLAY_CACHE_MAX_ENTRIES);
  });

  it('BoundedCache drops the least recently used entry by count and by bytes', () => {
    const c = new BoundedCache<string>(2, 10);
    c.set('a', 'A', 4);
    c.set('b', 'B', 4);
    c.get('a');
    c.set('c', 'C', 4);
    expect([c.get('a'), c.get('b'), c.get('c'), c.bytes]).toEqual(['A', undefined, 'C', 8]);
    c.set('d', 'D', 11);
    expect(c.get('d')).toBeUndefined();
  });
});

describe('URL templates are encoded', () => {
  it('http step: a value cannot add a query, a fragment or a path segment', async () => {
    const srv = await server((_req, res) => res.end('{}'));
    const flow = afterChoice({ kind: 'http', method: 'GET', url: '{{API}}/users/{{choice}}/info?q={{choice}}', headers: {}, timeoutMs: 2000 });
    const s = await run(makeConfig([flow], { vars: { API: srv.url } }), { turns: [{ say: 'x&admin=1#frag/../y' }] });
    expect(errorOf(s)).toBeUndefined();
    expect(srv.targets).toEqual(['/users/x%26admin%3D1%23frag%2F..%2Fy/info?q=x%26admin%3D1%23frag%2F..%2Fy']);
  });

  it('http step: a dot segment from a template is refused (VB_ERR_FLOW_URL), and {{x|raw}} opts out', async () => {
    const srv = await server((_req, res) => res.end('{}'));
    const flow = afterChoice({ kind: 'http', method: 'GET', url: '{{API}}/users/{{choice}}/info', headers: {}, timeoutMs: 2000 });
    const s = await run(makeConfig([flow], { vars: { API: srv.url } }), { turns: [{ say: '..' }] });
    expect(errorOf(s)).toMatchObject({ code: 'VB_ERR_FLOW_URL' });
    const raw = afterChoice({ kind: 'http', method: 'GET', url: '{{API}}/{{PREFIX|raw}}/{{choice}}', headers: {}, timeoutMs: 2000 });
    await run(makeConfig([raw], { vars: { API: srv.url, PREFIX: 'v2/items' } }), { turns: [{ say: 'a b' }] });
    expect(srv.targets).toEqual(['/v2/items/a%20b']);
  });

  it('http tool: arguments in the URL are encoded', async () => {
    const srv = await server((_req, res) => res.end('{"ok":true}'));
    const flow = makeFlow('m', [{ name: 'a', kind: 'hangup' }]);
    const config = makeConfig([flow], {
      vars: { API: srv.url },
      tools: { look: { description: 'd', params: {}, http: { method: 'POST', url: '{{API}}/users/{{args.id}}', headers: {}, body: {}, timeoutMs: 2000 } } },
    });
    const scope: TemplateScope = { call: { id: 'c', from: '1', to: '2', direction: 'inbound' }, vars: {}, configVars: config.vars, tools: {} };
    const runner = new ToolRunner(config, new Templates(config), globalThis.fetch, new FakeSession(), scope);
    expect(await runner.run('look', { id: 'a/b?admin=1' }, new AbortController().signal)).toEqual({ ok: true });
    expect(srv.targets).toEqual(['/users/a%2Fb%3Fadmin%3D1']);
  });
});

describe('response bodies: a timeout that covers the body, and a byte cap', () => {
  const stall = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"partial":');
  };
  const flood = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    const more = (): void => {
      while (sent < 64 && res.write(chunk)) sent++;
      if (sent < 64) res.once('drain', more);
      else res.end();
    };
    more();
  };

  it('http step: headers then a stalled body is VB_ERR_FLOW_HTTP at the step timeout, and onError is taken', async () => {
    const srv = await server(stall);
    const flow = makeFlow('m', [
      { name: 'h', kind: 'http', method: 'GET', url: `${srv.url}/slow`, headers: {}, timeoutMs: 300, save: 'r' },
      { name: 'end', kind: 'hangup' },
    ]);
    const s = await run(makeConfig([flow]));
    expect(errorOf(s)).toMatchObject({ code: 'VB_ERR_FLOW_HTTP', message: expect.stringContaining('within 300 ms') });
    const routed = makeFlow('m', [
      { name: 'h', kind: 'http', method: 'GET', url: `${srv.url}/slow`, headers: {}, timeoutMs: 300, onError: 'm.sorry' },
      { name: 'end', kind: 'hangup' },
      { name: 'sorry', kind: 'hangup', text: 'Sorry.' },
    ]);
    expect((await run(makeConfig([routed]))).said).toEqual(['Sorry.']);
  });

  it('http step: a body past maxBytes is VB_ERR_FLOW_HTTP (default 1 MiB)', async () => {
    const srv = await server(flood);
    const flow = makeFlow('m', [{ name: 'h', kind: 'http', method: 'GET', url: `${srv.url}/big`, headers: {}, timeoutMs: 5000 }, { name: 'end', kind: 'hangup' }]);
    const s = await run(makeConfig([flow]));
    expect(errorOf(s)).toMatchObject({ code: 'VB_ERR_FLOW_HTTP', message: expect.stringContaining('larger than 1048576 bytes') });
    const small = makeFlow('m', [{ name: 'h', kind: 'http', method: 'GET', url: `${srv.url}/big`, headers: {}, timeoutMs: 5000, maxBytes: 1000 }, { name: 'end', kind: 'hangup' }]);
    expect(errorOf(await run(makeConfig([small])))).toMatchObject({ message: expect.stringContaining('larger than 1000 bytes') });
  });

  it('play: { url } that stalls mid-body, or is too large, is a coded VB_ERR_FLOW_PLAY', async () => {
    const slow = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/wav' });
      res.write(wav(8000).subarray(0, 100));
    });
    const big = await server(flood);
    const s1 = await run(makeConfig([makeFlow('m', [{ name: 'p', kind: 'play', url: `${slow.url}/a.wav`, timeoutMs: 300 }])]));
    expect(errorOf(s1)).toMatchObject({ code: 'VB_ERR_FLOW_PLAY', message: expect.stringContaining('within 300 ms') });
    const s2 = await run(makeConfig([makeFlow('m', [{ name: 'p', kind: 'play', url: `${big.url}/a.wav`, maxBytes: 100_000 }])]));
    expect(errorOf(s2)).toMatchObject({ code: 'VB_ERR_FLOW_PLAY', message: expect.stringContaining('larger than 100000 bytes') });
    expect(s1.played).toEqual([]);
  });
});
