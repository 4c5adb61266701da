import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeWav } from '../../core/audio/wav.js';
import { runFlow } from '../../core/flow/runner.js';
import { HttpMockServer, type HttpMockRoute } from '../../core/flow/http-mock.js';
import { compileTemplate, Templates } from '../../core/flow/templates.js';
import { silentLogger } from '../../core/logging.js';
import type { VoicebotConfig } from '../../core/config/types.js';
import { makeConfig, makeFlow } from './config-helpers.js';
import { FakeSession, type FakeOptions } from './fake-session.js';

const servers: HttpMockServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});
async function mockServer(routes: HttpMockRoute[]): Promise<HttpMockServer> {
  const s = new HttpMockServer(routes);
  servers.push(s);
  await s.start();
  return s;
}

async function run(config: VoicebotConfig, opts: FakeOptions = {}, flow = Object.keys(config.flows)[0]): Promise<FakeSession> {
  const s = new FakeSession(opts);
  await runFlow(s, { config, flow, logger: silentLogger() });
  return s;
}

describe('templates', () => {
  it('resolves call facts, saved values, dotted paths, tool results; unknown is empty', () => {
    const t = new Templates();
    const scope = {
      call: { id: 'c1', from: '+1', to: '+2', direction: 'inbound' as const },
      vars: { order: { items: [{ sku: 'A7' }], total: 12 } },
      configVars: { company: 'Acme', greeting: 'Hi {{call.from}} from {{company}}' },
      tools: { book: { id: 'B42' } },
    };
    expect(t.render('{{greeting}}. {{ order.total }} {{order.items.0.sku}} {{tools.book.id}} [{{nope}}] {{vars.company}}', scope)).toBe(
      'Hi +1 from Acme. 12 A7 B42 [] Acme',
    );
    expect(t.renderValue({ n: '{{order.total}}', s: 'x{{order.total}}' }, scope)).toEqual({ n: 12, s: 'x12' });
  });

  it('compiles each template once per config', () => {
    const cfg = makeConfig([]);
    const a = new Templates(cfg).compile('hello {{x}}');
    expect(new Templates(cfg).compile('hello {{x}}')).toBe(a);
    expect(new Templates(makeConfig([])).compile('hello {{x}}')).not.toBe(a);
    expect(compileTemplate('plain').literal).toBe(true);
  });
});

describe('runFlow with a fake session', () => {
  it('say: templated text, flow.step events, next defaults, then ends', async () => {
    const cfg = makeConfig([makeFlow('main', [{ name: 'hi', kind: 'say', text: 'Hello {{call.from}}, this is {{company}}' }, { name: 'bye', kind: 'say', text: 'Bye' }])], {
      vars: { company: 'Acme' },
    });
    const s = await run(cfg);
    expect(s.said).toEqual(['Hello +15550001, this is Acme', 'Bye']);
    expect(s.stepsRun).toEqual(['main.hi', 'main.bye']);
    expect(s.events.find((e) => e.type === 'flow.step')).toMatchObject({ kind: 'say' });
  });

  it('listen: dtmf, equals, regex, intent routes and save', async () => {
    const flow = makeFlow('m', [
      {
        name: 'ask',
        kind: 'listen',
        prompt: 'Say sales or support',
        save: 'choice',
        routes: [
          { dtmf: '1', goto: 'm.sales' },
          { equals: 'support', goto: 'm.support' },
          { regex: '^order \\d+$', goto: 'm.order' },
          { intent: 'billing question', goto: 'm.billing' },
        ],
      },
      { name: 'sales', kind: 'hangup', text: 'sales {{choice}}' },
      { name: 'support', kind: 'hangup', text: 'support {{choice}}' },
      { name: 'order', kind: 'hangup', text: 'order {{choice}}' },
      { name: 'billing', kind: 'hangup', text: 'billing' },
    ]);
    const cfg = makeConfig([flow]);
    expect((await run(cfg, { turns: [{ dtmf: '1' }] })).said.at(-1)).toBe('sales 1');
    expect((await run(cfg, { turns: [{ say: 'Support!' }] })).said.at(-1)).toBe('support Support!');
    expect((await run(cfg, { turns: [{ say: 'order 55' }] })).said.at(-1)).toBe('order order 55');
    const s = await run(cfg, { turns: [{ say: 'my invoice is wrong' }], classify: (t, i) => (t.includes('invoice') ? i[0] : null) });
    expect(s.said.at(-1)).toBe('billing');
    expect(s.listens[0]).toMatchObject({ input: ['speech', 'dtmf'], timeoutMs: 1000 });
  });

  it('listen: counted noInput/noMatch messages, the last repeats, then exhausted', async () => {
    const flow = makeFlow('m', [
      {
        name: 'ask',
        kind: 'listen',
        prompt: 'Press 1',
        retries: 3,
        noInput: ['I did not hear you.', 'Please press 1.'],
        noMatch: ['That is not 1.'],
        routes: [{ dtmf: '1', goto: 'm.ok' }],
        exhausted: 'm.agent',
      },
      { name: 'ok', kind: 'hangup', text: 'ok' },
      { name: 'agent', kind: 'transfer', to: '+1999', announce: 'Connecting you.' },
    ]);
    const s = await run(makeConfig([flow]), { turns: [{ silent: true }, { dtmf: '7' }, { silent: true }, { silent: true }] });
    expect(s.said).toEqual(['Press 1', 'I did not hear you.', 'That is not 1.', 'Please press 1.', 'Connecting you.']);
    expect(s.transfers).toEqual(['+1999']);
    expect(s.endReason).toBe('transferred');
  });

  it('listen: counters reset when entered from another step, kept on a self-loop', async () => {
    const flow = makeFlow('m', [
      { name: 'intro', kind: 'say', text: 'intro' },
      { name: 'ask', kind: 'listen', retries: 1, noInput: ['again'], routes: [{ dtmf: '9', goto: 'm.intro' }, { dtmf: '5', goto: 'm.ask' }], exhausted: 'm.end' },
      { name: 'end', kind: 'hangup', text: 'end' },
    ]);
    // silent (1 fail), 9 → intro → ask fresh: silent (1 fail, not 2) → again, 5 → self: silent → 2 fails → end.
    const s = await run(makeConfig([flow]), { turns: [{ silent: true }, { dtmf: '9' }, { silent: true }, { dtmf: '5' }, { silent: true }] });
    expect(s.said).toEqual(['intro', 'again', 'intro', 'again', 'end']);
  });

  it('listen: else takes any unmatched input', async () => {
    const flow = makeFlow('m', [
      { name: 'ask', kind: 'listen', routes: [{ dtmf: '1', goto: 'm.a' }], else: 'm.b' },
      { name: 'a', kind: 'hangup', text: 'a' },
      { name: 'b', kind: 'hangup', text: 'b' },
    ]);
    expect((await run(makeConfig([flow]), { turns: [{ say: 'hmm' }] })).said).toEqual(['b']);
  });

  it('branch: equals, in, matches, exists, else; set and goto', async () => {
    const flow = makeFlow('m', [
      { name: 's', kind: 'set', values: { n: 3, who: '{{call.from}}', obj: { k: 'v' } } },
      { name: 'g', kind: 'goto', target: 'm.b1' },
      { name: 'never', kind: 'say', text: 'never' },
      { name: 'b1', kind: 'branch', cases: [{ var: 'n', equals: '4', goto: 'm.never' }, { var: 'n', in: [1, 3], goto: 'm.b2' }], else: 'm.never' },
      { name: 'b2', kind: 'branch', cases: [{ var: 'who', matches: '^\\+1555', goto: 'm.b3' }], else: 'm.never' },
      { name: 'b3', kind: 'branch', cases: [{ var: 'missing', exists: true, goto: 'm.never' }, { var: 'obj.k', equals: 'v', goto: 'm.b4' }], else: 'm.never' },
      { name: 'b4', kind: 'branch', cases: [{ var: 'missing', exists: true, goto: 'm.never' }], else: 'm.done' },
      { name: 'done', kind: 'hangup', text: 'n={{n}} {{obj.k}}' },
    ]);
    const s = await run(makeConfig([flow]));
    expect(s.stepsRun).toEqual(['m.s', 'm.g', 'm.b1', 'm.b2', 'm.b3', 'm.b4', 'm.done']);
    expect(s.said).toEqual(['n=3 v']);
  });

  it('http: templated request, JSON saved and dug into; onError on failure', async () => {
    const srv = await mockServer([
      { method: 'POST', path: '/lookup', json: { customer: { name: 'Ada' } } },
      { path: '/down', status: 503, body: 'down' },
    ]);
    const flow = makeFlow('m', [
      { name: 'h', kind: 'http', method: 'POST', url: '{{API}}/lookup', headers: { 'x-caller': '{{call.from}}' }, body: { from: '{{call.from}}', n: '{{n}}' }, save: 'res' },
      { name: 'say', kind: 'say', text: 'Hi {{res.customer.name}}' },
      { name: 'h2', kind: 'http', url: '{{API}}/down', onError: 'm.sorry', save: 'r2' },
      { name: 'never', kind: 'say', text: 'never' },
      { name: 'sorry', kind: 'hangup', text: 'sorry' },
    ]);
    const s = await run(makeConfig([flow], { vars: { API: srv.url } }));
    expect(s.said).toEqual(['Hi Ada', 'sorry']);
    expect(srv.requests[0]).toMatchObject({ method: 'POST', path: '/lookup', body: { from: '+15550001', n: '' }, headers: { 'x-caller': '+15550001' } });
  });

  it('transfer: announce then transfer; onFail when it fails', async () => {
    const flow = makeFlow('m', [
      { name: 't', kind: 'transfer', to: '{{DESK}}', announce: 'Transferring', onFail: 'm.fail' },
      { name: 'fail', kind: 'hangup', text: 'nobody there' },
    ]);
    const ok = await run(makeConfig([flow], { vars: { DESK: '+1777' } }));
    expect(ok.transfers).toEqual(['+1777']);
    expect(ok.endReason).toBe('transferred');
    const bad = await run(makeConfig([flow], { vars: { DESK: '+1777' } }), { transferFails: true });
    expect(bad.said).toEqual(['Transferring', 'nobody there']);
    expect(bad.endReason).toBe('bot-hangup');
  });

  it('play: a WAV file resolved against the config dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vb-play-'));
    writeFileSync(join(dir, 'hi.wav'), encodeWav(new Int16Array(800).fill(1000), 8000));
    const flow = makeFlow('m', [{ name: 'p', kind: 'play', file: 'hi.wav' }]);
    const s = await run(makeConfig([flow], { dir }));
    expect(s.played).toHaveLength(1);
    expect(s.played[0]).toMatchObject({ sampleRate: 8000 });
    expect(s.played[0].samples.length).toBe(800);
  });

  it('play: a missing file is a coded step error that ends the call with reason error', async () => {
    const flow = makeFlow('m', [{ name: 'p', kind: 'play', file: 'nope.wav' }]);
    const s = await run(makeConfig([flow], { dir: tmpdir() }));
    expect(s.endReason).toBe('error');
    expect(s.events.find((e) => e.type === 'call.error')).toMatchObject({ code: 'VB_ERR_FLOW_PLAY' });
  });

  it('error handler: step → flow → global lookup', async () => {
    const steps = [
      { name: 'p', kind: 'play' as const, file: 'nope.wav' },
      { name: 'flowErr', kind: 'hangup' as const, text: 'flow handler' },
      { name: 'stepErr', kind: 'hangup' as const, text: 'step handler' },
      { name: 'globalErr', kind: 'hangup' as const, text: 'global handler' },
    ];
    const g = makeConfig([makeFlow('m', steps)], { dir: tmpdir(), on: { error: 'm.globalErr' } });
    expect((await run(g)).said).toEqual(['global handler']);
    const f = makeConfig([makeFlow('m', steps, { error: 'm.flowErr' })], { dir: tmpdir(), on: { error: 'm.globalErr' } });
    expect((await run(f)).said).toEqual(['flow handler']);
    const st = makeConfig([makeFlow('m', [{ ...steps[0], on: { error: 'm.stepErr' } }, ...steps.slice(1)], { error: 'm.flowErr' })], { dir: tmpdir() });
    expect((await run(st)).said).toEqual(['step handler']);
  });

  it('dtmf hotkeys: abort the current wait and jump; step overrides global', async () => {
    const flow = makeFlow('m', [
      { name: 'ask', kind: 'listen', prompt: 'Tell me', routes: [] },
      { name: 'after', kind: 'hangup', text: 'after' },
      { name: 'op', kind: 'hangup', text: 'operator' },
      { name: 'menu', kind: 'hangup', text: 'menu' },
    ]);
    const cfg = makeConfig([flow], { on: { dtmf: { '0': 'm.op' } } });
    const s = await run(cfg, { turns: [{ hotkey: '0' }] });
    expect(s.said).toEqual(['Tell me', 'operator']);
    // During a say, too: the prompt is cut and the jump happens.
    const s2 = await run(cfg, { hotkeyDuringSay: { nth: 1, digit: '0' } });
    expect(s2.said).toEqual(['Tel', 'operator']);
    const flow2 = makeFlow('m', [{ name: 'ask', kind: 'listen', routes: [], on: { dtmf: { '0': 'm.menu' } } }, ...Object.values(flow.steps).slice(1).map((x) => ({ ...x }))]);
    expect((await run(makeConfig([flow2], { on: { dtmf: { '0': 'm.op' } } }), { turns: [{ hotkey: '0' }] })).said).toEqual(['menu']);
  });

  it('hangup handler: runs http without audio when the caller hangs up', async () => {
    const srv = await mockServer([{ method: 'POST', path: '/calls', json: { ok: true } }]);
    const flow = makeFlow(
      'm',
      [
        { name: 'ask', kind: 'listen', prompt: 'Leave a message', save: 'msg', routes: [] },
        { name: 'thanks', kind: 'hangup', text: 'thanks' },
        { name: 'bye', kind: 'say', text: 'you will not hear this' },
        { name: 'log', kind: 'http', method: 'POST', url: '{{API}}/calls', body: { from: '{{call.from}}', msg: '{{msg}}' } },
      ],
      { hangup: 'm.bye' },
    );
    const s = await run(makeConfig([flow], { vars: { API: srv.url } }), { turns: [{ hangup: true }] });
    expect(s.endReason).toBe('caller-hangup');
    expect(s.said).toEqual(['Leave a message']);
    expect(srv.requests).toEqual([expect.objectContaining({ method: 'POST', path: '/calls', body: { from: '+15550001', msg: '' } })]);
    // The flow's own hangup does not run the handler.
    const s2 = await run(makeConfig([flow], { vars: { API: srv.url } }), { turns: [{ say: 'call me back' }] });
    expect(s2.said).toEqual(['Leave a message', 'thanks']);
    expect(srv.requests).toHaveLength(1);
  });

  it('a runaway loop ends the call with VB_ERR_FLOW_LOOP', async () => {
    const flow = makeFlow('m', [
      { name: 'a', kind: 'goto', target: 'm.b' },
      { name: 'b', kind: 'goto', target: 'm.a' },
    ]);
    const s = await run(makeConfig([flow]));
    expect(s.endReason).toBe('error');
    expect(s.events.find((e) => e.type === 'call.error')).toMatchObject({ code: 'VB_ERR_FLOW_LOOP' });
  });

  it('llm: first line, tools (validated), exit on tool, context kept across steps', async () => {
    const srv = await mockServer([{ method: 'POST', path: '/book', json: { id: 'B7', time: '10:00' } }]);
    const flow = makeFlow('m', [
      { name: 'chat', kind: 'llm', system: 'Book for {{call.from}}', say: 'How can I help?', tools: ['book'], exits: [{ tool: 'done', goto: 'm.confirm' }] },
      { name: 'confirm', kind: 'llm', system: 'Confirm', context: 'append', maxTurns: 1, exits: [{ maxTurns: true, goto: 'm.bye' }] },
      { name: 'bye', kind: 'hangup', text: 'Booked {{tools.book.id}} at {{tools.book.time}}' },
    ]);
    const tools = {
      book: { description: 'Book', params: { type: 'object', properties: { day: { type: 'string' } }, required: ['day'] }, http: { method: 'POST' as const, url: '{{API}}/book', headers: {}, timeoutMs: 2000 } },
      done: { description: 'Finish', params: { type: 'object', properties: {} }, handler: undefined as string | undefined },
    };
    tools.done.handler = './done.js#done';
    const dir = mkdtempSync(join(tmpdir(), 'vb-tool-'));
    writeFileSync(join(dir, 'done.js'), 'export function done(args, ctx) { return { ok: true, from: ctx.call.from }; }\n');
    let round = 0;
    const s = await run(makeConfig([flow], { vars: { API: srv.url }, tools, dir }), {
      turns: [{ say: 'book me monday' }, { say: 'thanks' }],
      llm: (messages) => {
        round++;
        const lastMsg = messages.at(-1)!;
        if (round === 1) return { toolCalls: [{ name: 'book', args: { when: 'monday' } }] }; // invalid: missing day
        if (round === 2) {
          expect(lastMsg.role === 'tool' && lastMsg.content).toMatch(/VB_ERR_TOOL_ARGS|required/);
          return { toolCalls: [{ name: 'book', args: { day: 'monday' } }] };
        }
        if (round === 3) return { toolCalls: [{ name: 'done', args: {} }] };
        return { text: 'Anything else?' };
      },
    });
    expect(s.said).toEqual(['How can I help?', 'Anything else?', 'Booked B7 at 10:00']);
    const called = s.events.filter((e) => e.type === 'tool.called');
    expect(called.map((e) => [e.name, e.error ? 'error' : 'ok'])).toEqual([
      ['book', 'error'],
      ['book', 'ok'],
      ['done', 'ok'],
    ]);
    expect(srv.requests[0].body).toEqual({ day: 'monday' });
    expect(s.respondCalls[0].messages[0]).toEqual({ role: 'system', content: 'Book for +15550001' });
    expect(s.respondCalls[0].tools?.map((t) => t.name)).toEqual(['book', 'done']);
    // context append: the second step sees the first step's conversation under its own system prompt.
    const second = s.respondCalls.at(-1)!.messages;
    expect(second[0]).toEqual({ role: 'system', content: 'Confirm' });
    expect(second.some((m) => m.role === 'user' && m.content === 'book me monday')).toBe(true);
  });

  it('llm: intent exit and context reset', async () => {
    const flow = makeFlow('m', [
      { name: 'a', kind: 'llm', maxTurns: 1, exits: [{ maxTurns: true, goto: 'm.b' }] },
      { name: 'b', kind: 'llm', context: 'reset', exits: [{ intent: 'wants a human', goto: 'm.human' }] },
      { name: 'human', kind: 'transfer', to: '+1000' },
    ]);
    const s = await run(makeConfig([flow]), {
      turns: [{ say: 'hello' }, { say: 'what time is it' }, { say: 'give me a person' }],
      llm: () => ({ text: 'ok' }),
      classify: (t, i) => (t.includes('person') ? i[0] : null),
    });
    expect(s.transfers).toEqual(['+1000']);
    const bCall = s.respondCalls[1].messages;
    expect(bCall.map((m) => m.role)).toEqual(['system', 'user']);
  });
});
