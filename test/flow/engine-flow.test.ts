/**
 * Every step kind, handler and tool kind, each through a simulated call on
 * the real path: config loaded from YAML text (validation included), mock
 * telephony line (G.711), the call engine with VAD/endpointing, mock STT/TTS
 * speaking "mock speech" audio, and the scripted caller of simulate/test.
 * What the caller hears is decoded from the audio it received.
 *
 * Nothing here waits on wall-clock sleeps: the caller acts on the runner's
 * `bot.listening` event (or on `flow.step` for barge-in) and each test ends
 * when the call does. Calls run on a VirtualClock (all providers are local),
 * so frames, timers and timeouts keep their modelled timing without a core
 * of their own; the HTTP fakes are real loopback sockets the clock waits for.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, it } from 'vitest';
import { encodeWav } from '../../core/audio/wav.js';
import { formatDiagnostic, loadConfigText } from '../../core/config/load.js';
import { HttpMockServer, type HttpMockRoute } from '../../core/flow/http-mock.js';
import type { CallerTurn, ObservedEvent } from '../../core/flow/scripted-caller.js';
import { startSimulation, type Simulation } from '../../core/flow/sim.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import type { HangupReason } from '../../core/plugins/telephony.js';
import { encodeMockSpeech, MockSpeechDecoder } from '../../plugins/mock/mock-speech.js';

const dir = mkdtempSync(join(tmpdir(), 'vb-engine-flow-'));
const cleanup: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

const PLUGINS = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  bargeIn: { enabled: true, minSpeechMs: 200 }
  timeouts: { noInput: 3s, endOfSpeech: 400ms, maxCall: 2m }
`;

interface CallRun {
  events: ObservedEvent[];
  reason: HangupReason;
  /** Mock speech decoded from the audio the caller received. */
  heard: string[];
  /** flow.step events as "flow.step". */
  steps: string[];
  said: Extract<ObservedEvent, { type: 'bot.said' }>[];
  errors: string[];
}

async function mockServer(routes: HttpMockRoute[]): Promise<HttpMockServer> {
  const s = new HttpMockServer(routes);
  await s.start();
  cleanup.push(() => s.stop());
  return s;
}

/** One simulated call; `yaml` must validate without errors (warnings are returned in the failure message). */
async function simCall(
  yaml: string,
  turns: CallerTurn[],
  opts: { onEvent?: (ev: ObservedEvent, sim: Simulation) => void } = {},
): Promise<CallRun> {
  const { config, diagnostics } = await loadConfigText(yaml, join(dir, 'voicebot.yaml'), { env: {}, registry: createDefaultRegistry() });
  const problems = diagnostics.map((d) => formatDiagnostic(d, dir));
  if (!config || problems.length) throw new Error(`config has problems:\n${problems.join('\n')}`);
  const heard: string[] = [];
  let decoder: MockSpeechDecoder | undefined;
  const holder: { sim?: Simulation } = {};
  const sim = await startSimulation({
    config,
    // Virtual time, as `voicebot test` runs these providers: the same frames and timers, none of the waiting.
    clock: new VirtualClock(),
    idleTimeoutMs: 20_000,
    onEvent: (ev) => {
      if (holder.sim) opts.onEvent?.(ev, holder.sim);
    },
    onAudio: (f) => {
      decoder ??= new MockSpeechDecoder(f.sampleRate);
      decoder.push(f.samples);
      heard.push(...decoder.take());
    },
  });
  holder.sim = sim;
  sim.caller.push(...turns);
  sim.caller.finish();
  const res = await sim.done;
  const events = res.events;
  return {
    events,
    reason: res.reason,
    heard,
    steps: events.flatMap((e) => (e.type === 'flow.step' ? [`${e.flow}.${e.step}`] : [])),
    said: events.filter((e): e is Extract<ObservedEvent, { type: 'bot.said' }> => e.type === 'bot.said'),
    errors: events.flatMap((e) => (e.type === 'call.error' ? [e.code] : [])),
  };
}

const T = 90_000;

describe.concurrent('flows through the engine (mock line, real audio frames)', () => {
  it(
    'say, set, goto, branch (equals/in/matches/exists/else) and hangup without text',
    async ({ expect }) => {
      const r = await simCall(
        `${PLUGINS}vars: { company: Acme }
flows:
  main:
    steps:
      hi: { say: "Hi {{company}}." }
      s: { set: { n: 3, who: "{{call.from}}", tag: vip } }
      g: { goto: b1 }
      skipped: { hangup: "Never." }
      b1:
        branch: [ { var: n, equals: 4, goto: skipped }, { var: n, in: [1, 3], goto: b2 } ]
        else: skipped
      b2:
        branch: [ { var: who, matches: "(?i)^\\\\+1555", goto: b3 } ]
        else: skipped
      b3:
        branch: [ { var: missing, exists: true, goto: skipped }, { var: tag, equals: VIP, goto: b4 } ]
        else: skipped
      b4:
        branch: [ { var: missing, exists: true, goto: skipped } ]
        else: done
      done: { say: "Tag {{tag}}, n {{n}}." }
      bye: { hangup: }
`,
        [],
      );
      expect(r.steps).toEqual(['main.hi', 'main.s', 'main.g', 'main.b1', 'main.b2', 'main.b3', 'main.b4', 'main.done', 'main.bye']);
      expect(r.heard).toEqual(['Hi Acme.', 'Tag vip, n 3.']);
      expect(r.said.map((s) => s.text)).toEqual(['Hi Acme.', 'Tag vip, n 3.']);
      expect(r.reason).toBe('bot-hangup');
    },
    T,
  );

  it(
    'say: bargeIn false keeps a prompt whole, the default lets the caller cut in; the cut-in words reach the next listen',
    async ({ expect }) => {
      const r = await simCall(
        `${PLUGINS}flows:
  main:
    steps:
      hi: { say: "Hi." }
      firm: { say: "Please listen to this whole message now.", bargeIn: false }
      soft: { say: "You may cut this message short at any time you like." }
      ask:
        listen: { input: [speech] }
        save: words
      done: { hangup: "You said {{words}}." }
`,
        [],
        {
          onEvent: (ev, sim) => {
            if (ev.type === 'flow.step' && ev.step === 'firm') void sim.caller.interrupt('stop now');
            if (ev.type === 'flow.step' && ev.step === 'soft') void sim.caller.interrupt('hold on');
          },
        },
      );
      expect(r.said.map((s) => [s.text, s.interrupted])).toEqual([
        ['Hi.', false],
        ['Please listen to this whole message now.', false],
        // What the caller heard before cutting in: a prefix (maybe empty: the caller starts with the prompt).
        [expect.any(String), true],
        ['You said hold on.', false],
      ]);
      // Speech over a prompt that could not be interrupted is not a turn.
      expect(r.events.filter((e) => e.type === 'caller.said').map((e) => (e as { text: string }).text)).not.toContain('stop now');
      expect(r.heard).toContain('Please listen to this whole message now.');
      const full = 'You may cut this message short at any time you like.';
      expect(full.startsWith(r.said[2].text) && r.said[2].text.length < full.length).toBe(true);
      expect(r.heard).not.toContain(full);
    },
    T,
  );

  it(
    'play: a WAV file next to the config and one from a url, resampled onto the line',
    async ({ expect }) => {
      writeFileSync(join(dir, 'chime.wav'), encodeWav(encodeMockSpeech('chime', 16000), 16000));
      const wav = encodeWav(encodeMockSpeech('bell', 24000), 24000);
      const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'audio/wav' }).end(wav));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bell.wav`;
      const r = await simCall(
        `${PLUGINS}vars: { SOUNDS: "${url}" }
flows:
  main:
    steps:
      a: { play: { file: chime.wav } }
      b: { play: { url: "{{SOUNDS}}" } }
      c: { hangup: "Done." }
`,
        [],
      );
      expect(r.heard).toEqual(['chime', 'bell', 'Done.']);
      expect(r.steps).toEqual(['main.a', 'main.b', 'main.c']);
    },
    T,
  );

  it(
    'listen: counted noInput/noMatch prompts (the last repeats), numDigits, timeout, retries, then exhausted',
    async ({ expect }) => {
      const r = await simCall(
        `${PLUGINS}flows:
  main:
    steps:
      ask:
        listen:
          prompt: "Key?"
          input: [dtmf]
          numDigits: 1
          timeout: 700ms
          retries: 3
          noInput: ["None A.", "None B."]
          noMatch: "Bad."
        routes: [ { dtmf: "1", goto: one } ]
        exhausted: out
      one: { hangup: "One." }
      out: { hangup: "Out." }
`,
        [{ silence: true }, { dtmf: '7' }, { silence: true }, { silence: true }],
      );
      expect(r.heard).toEqual(['Key?', 'None A.', 'Bad.', 'None B.', 'Out.']);
      expect(r.steps).toEqual(['main.ask', 'main.out']);
      expect(r.reason).toBe('bot-hangup');
    },
    T,
  );

  it(
    'listen: finishOnKey and save, a regex route on digits, else on anything else',
    async ({ expect }) => {
      const yaml = `${PLUGINS}flows:
  main:
    steps:
      ask:
        listen: { prompt: "Code?", input: [dtmf], finishOnKey: "#" }
        save: code
        routes: [ { regex: "^\\\\d{3}$", goto: ok } ]
        else: bad
      ok: { hangup: "Code {{code}}." }
      bad: { hangup: "Bad {{code}}." }
`;
      const [good, bad] = await Promise.all([simCall(yaml, [{ dtmf: '123#' }]), simCall(yaml, [{ dtmf: '12#' }])]);
      expect(good.heard).toEqual(['Code?', 'Code 123.']);
      expect(bad.heard).toEqual(['Code?', 'Bad 12.']);
      expect(bad.steps).toEqual(['main.ask', 'main.bad']);
    },
    T,
  );

  it(
    'listen: speech routes equals, (?i)regex and intent (classified by the llm slot), else',
    async ({ expect }) => {
      const r = await simCall(
        `${PLUGINS}flows:
  main:
    steps:
      ask:
        listen: { prompt: "Say.", input: [speech] }
        save: words
        routes:
          - { equals: sales, goto: sales }
          - { regex: "(?i)MONEY BACK", goto: refund }
          - { intent: "billing question", goto: billing }
        else: other
      sales: { say: "S.", next: ask }
      refund: { say: "R.", next: ask }
      billing: { say: "B.", next: ask }
      other: { hangup: "Other {{words}}." }
`,
        [{ say: 'Sales!' }, { say: 'my money back' }, { say: 'bill question' }, { say: 'hello' }],
      );
      expect(r.steps).toEqual(['main.ask', 'main.sales', 'main.ask', 'main.refund', 'main.ask', 'main.billing', 'main.ask', 'main.other']);
      expect(r.heard.at(-1)).toBe('Other hello.');
    },
    T,
  );

  it(
    'intent routes with a model without structured output: it reads the listed intents; a chatty JSON answer is understood',
    async ({ expect }) => {
      // Like a real chat model, this one only has the instruction: it picks the listed intent
      // ("- …" lines) sharing a word with the caller, and wraps its answer in prose and a fence.
      writeFileSync(
        join(dir, 'chatty-llm.js'),
        `export default (api) => {
  class ChattyLlm extends api.LlmPlugin {
    capabilities = { streaming: true, toolCalls: false };
    constructor() { super('chatty-llm'); }
    async *_chat(req) {
      const sys = req.messages.find((m) => m.role === 'system')?.content ?? '';
      const said = req.messages.at(-1).content.toLowerCase();
      const listed = [...sys.matchAll(/^- (.+)$/gm)].map((m) => m[1]);
      const hit = listed.find((i) => i.toLowerCase().split(' ').some((w) => w.length > 3 && said.includes(w))) ?? 'none';
      yield { type: 'text', text: 'Sure! Here it is: \x60\x60\x60json ' };
      yield { type: 'text', text: JSON.stringify({ intent: hit }) + ' \x60\x60\x60' };
      yield { type: 'done', finishReason: 'stop' };
    }
  }
  return api.definePlugin({ slot: 'llm', name: 'chatty-llm', optionsSchema: { type: 'object' }, create: () => new ChattyLlm() });
};
`,
      );
      const r = await simCall(
        `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  tts: { provider: mock }
  llm: { provider: ./chatty-llm.js }
settings:
  timeouts: { noInput: 3s, endOfSpeech: 400ms }
flows:
  main:
    steps:
      ask:
        listen: { prompt: "Say.", input: [speech] }
        routes:
          - { intent: "billing question", goto: billing }
          - { intent: "technical support", goto: support }
        else: other
      billing: { say: "B.", next: ask }
      support: { say: "T.", next: ask }
      other: { hangup: "Other." }
`,
        [{ say: 'a question about my billing' }, { say: 'technical trouble' }, { say: 'hello' }],
      );
      expect(r.steps).toEqual(['main.ask', 'main.billing', 'main.ask', 'main.support', 'main.ask', 'main.other']);
    },
    T,
  );

  it(
    'llm: first line, handler and http tools, {{tools.NAME.field}}, exit on a tool, then exit on an intent',
    async ({ expect }) => {
      const api = await mockServer([{ method: 'POST', path: '/book', json: { id: 'B7', day: 'Monday' } }]);
      writeFileSync(join(dir, 'tools.js'), 'export function lookup(args, ctx) { return { name: "Ada", phone: args.phone, from: ctx.call.from }; }\n');
      const r = await simCall(
        `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  tts: { provider: mock }
  llm:
    provider: mock
    script:
      - { when: "person", intent: "talk to a person" }
      - { when: "who", toolCall: { name: lookup, arguments: { phone: "+15550100" } } }
      - { afterTool: true, when: "who", reply: "Found you." }
      - { when: "book", toolCall: { name: book, arguments: { day: monday } } }
settings:
  timeouts: { noInput: 3s, endOfSpeech: 400ms }
vars: { API: "${api.url}", company: Acme }
tools:
  lookup: { description: Find the caller, params: { phone: string }, handler: ./tools.js#lookup }
  book:
    description: Book a visit
    params: { day: string }
    http: { method: POST, url: "{{API}}/book", headers: { x-key: "k-{{call.to}}" }, timeout: 2s }
flows:
  main:
    steps:
      chat:
        llm:
          system: "You book visits for {{company}}."
          say: "Hello."
          tools: [lookup, book]
          exits: [ { tool: book, goto: booked } ]
      booked: { say: "Booked {{tools.book.id}} for {{tools.lookup.name}}." }
      more:
        llm:
          system: "Anything else?"
          exits: [ { intent: "talk to a person", goto: human } ]
      human: { transfer: "+15550111" }
`,
        [{ say: 'who am I' }, { say: 'book monday' }, { say: 'a person please' }],
      );
      expect(r.heard).toEqual(['Hello.', 'Found you.', 'Booked B7 for Ada.']);
      const tools = r.events.filter((e) => e.type === 'tool.called');
      expect(tools).toEqual([
        expect.objectContaining({ name: 'lookup', args: { phone: '+15550100' }, result: { name: 'Ada', phone: '+15550100', from: '+15550100' } }),
        expect.objectContaining({ name: 'book', args: { day: 'monday' }, result: { id: 'B7', day: 'Monday' } }),
      ]);
      expect(api.requests).toEqual([expect.objectContaining({ method: 'POST', path: '/book', body: { day: 'monday' }, headers: expect.objectContaining({ 'x-key': 'k-+15550199' }) })]);
      expect(r.steps).toEqual(['main.chat', 'main.booked', 'main.more', 'main.human']);
      expect(r.events.find((e) => e.type === 'call.transferred')).toMatchObject({ to: '+15550111' });
      expect(r.reason).toBe('transferred');
    },
    T,
  );

  it(
    'llm: context append keeps the conversation across steps, reset drops it; maxTurns exits',
    async ({ expect }) => {
      // A custom llm (a local plugin file) that tells what it was given.
      writeFileSync(
        join(dir, 'history-llm.js'),
        `export default (api) => {
  class HistoryLlm extends api.LlmPlugin {
    capabilities = { streaming: true, toolCalls: false };
    constructor() { super('history-llm'); }
    async *_chat(req) {
      const sys = req.messages.find((m) => m.role === 'system');
      const users = req.messages.filter((m) => m.role === 'user').length;
      yield { type: 'text', text: (sys ? sys.content : 'none') + ' ' + users + ' from you.' };
      yield { type: 'done', finishReason: 'stop' };
    }
  }
  return api.definePlugin({ slot: 'llm', name: 'history-llm', optionsSchema: { type: 'object' }, create: () => new HistoryLlm() });
};
`,
      );
      const r = await simCall(
        `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  tts: { provider: mock }
  llm: { provider: ./history-llm.js }
settings:
  timeouts: { noInput: 3s, endOfSpeech: 400ms }
vars: { company: Acme }
flows:
  main:
    steps:
      a:
        llm: { system: "First at {{company}},", maxTurns: 1, exits: [ { maxTurns: true, goto: b } ] }
      b:
        llm: { system: "Second,", context: append, maxTurns: 1, exits: [ { maxTurns: true, goto: c } ] }
      c:
        llm: { system: "Third,", context: reset, maxTurns: 2, exits: [ { maxTurns: true, goto: bye } ] }
      bye: { hangup: "Bye." }
`,
        [{ say: 'one' }, { say: 'two' }, { say: 'three' }, { say: 'four' }],
      );
      expect(r.heard).toEqual(['First at Acme, 1 from you.', 'Second, 2 from you.', 'Third, 1 from you.', 'Third, 2 from you.', 'Bye.']);
      expect(r.steps).toEqual(['main.a', 'main.b', 'main.c', 'main.bye']);
    },
    T,
  );

  it(
    'http: templated method/url/headers/body, save and dig in; timeout and failures take onError',
    async ({ expect }) => {
      const api = await mockServer([
        { method: 'POST', path: '/lookup', json: { customer: { name: 'Ada' } } },
        { path: '/slow', delayMs: 10_000, json: {} },
        { path: '/down', status: 503, body: 'down' },
      ]);
      const r = await simCall(
        `${PLUGINS}vars: { API: "${api.url}" }
flows:
  main:
    steps:
      n: { set: { n: 2 } }
      h1:
        http: { method: POST, url: "{{API}}/lookup", headers: { x-caller: "{{call.from}}" }, body: { from: "{{call.from}}", n: "{{n}}" }, timeout: 2s }
        save: res
      hi: { say: "Hi {{res.customer.name}}." }
      h2:
        http: { url: "{{API}}/slow", timeout: 300ms }
        save: slow
        onError: h3
      never: { hangup: "Never." }
      h3:
        http: { method: GET, url: "{{API}}/down" }
        onError: sorry
      never2: { hangup: "Never." }
      sorry: { hangup: "Sorry {{res.customer.name}}." }
`,
        [],
      );
      expect(r.heard).toEqual(['Hi Ada.', 'Sorry Ada.']);
      expect(r.steps).toEqual(['main.n', 'main.h1', 'main.hi', 'main.h2', 'main.h3', 'main.sorry']);
      expect(api.requests[0]).toMatchObject({ method: 'POST', path: '/lookup', body: { from: '+15550100', n: 2 }, headers: { 'x-caller': '+15550100' } });
      expect(api.requests.map((q) => `${q.method} ${q.path}`)).toEqual(['POST /lookup', 'GET /slow', 'GET /down']);
    },
    T,
  );

  it(
    'transfer: announce, a failed transfer takes onFail, the string form transfers; the mock line records it',
    async ({ expect }) => {
      const r = await simCall(
        `version: 1
plugins:
  telephony: { provider: mock, failTransfersTo: ["+15550999"] }
  stt: { provider: mock }
  tts: { provider: mock }
vars: { BAD: "+15550999" }
flows:
  main:
    steps:
      t1:
        transfer: { to: "{{BAD}}", mode: blind, announce: "Trying.", timeout: 5s }
        onFail: t2
      never: { hangup: "Never." }
      t2: { transfer: "+15550888" }
`,
        [],
      );
      expect(r.heard).toEqual(['Trying.']);
      expect(r.steps).toEqual(['main.t1', 'main.t2']);
      expect(r.events.filter((e) => e.type === 'call.transferred').map((e) => (e as { to: string }).to)).toEqual(['+15550888']);
      expect(r.reason).toBe('transferred');
    },
    T,
  );

  it(
    'on.dtmf hotkeys: step over flow over global, active while the bot waits',
    async ({ expect }) => {
      const r = await simCall(
        `${PLUGINS}on: { dtmf: { "9": main.g, "0": main.g } }
flows:
  main:
    on: { dtmf: { "0": f } }
    steps:
      a:
        listen: { prompt: "A.", input: [speech] }
        on: { dtmf: { "0": s } }
      s:
        listen: { prompt: "S.", input: [speech] }
      f:
        listen: { prompt: "F.", input: [speech] }
      g: { hangup: "G." }
`,
        [{ dtmf: '0' }, { dtmf: '0' }, { dtmf: '9' }],
      );
      expect(r.steps).toEqual(['main.a', 'main.s', 'main.f', 'main.g']);
      expect(r.heard).toEqual(['A.', 'S.', 'F.', 'G.']);
    },
    T,
  );

  it(
    'on.error: step → flow → global, for step failures and for a failing slot',
    async ({ expect }) => {
      const api = await mockServer([{ path: '/down', status: 500, body: 'no' }]);
      const [steps, slot] = await Promise.all([
        simCall(
          `${PLUGINS}vars: { API: "${api.url}" }
on: { error: other.gerr }
flows:
  main:
    on: { error: ferr }
    steps:
      e1:
        http: { url: "{{API}}/down" }
        on: { error: serr }
      serr: { say: "Step handler.", next: e2 }
      e2: { http: { url: "{{API}}/down" } }
      ferr: { say: "Flow handler.", next: other.e3 }
  other:
    steps:
      e3: { http: { url: "{{API}}/down" } }
      gerr: { hangup: "Global handler." }
`,
          [],
        ),
        simCall(
          `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  tts: { provider: mock }
  llm: { provider: mock, failAfter: 0, retryable: false }
settings:
  timeouts: { endOfSpeech: 400ms }
flows:
  main:
    on: { error: sorry }
    steps:
      chat: { llm: { system: "Help." } }
      sorry: { hangup: "Sorry." }
`,
          [{ say: 'hello' }],
        ),
      ]);
      expect(steps.heard).toEqual(['Step handler.', 'Flow handler.', 'Global handler.']);
      expect(steps.steps).toEqual(['main.e1', 'main.serr', 'main.e2', 'main.ferr', 'other.e3', 'other.gerr']);
      expect(steps.errors).toEqual(['VB_ERR_FLOW_HTTP', 'VB_ERR_FLOW_HTTP', 'VB_ERR_FLOW_HTTP']);
      expect(steps.reason).toBe('bot-hangup');
      expect(slot.steps).toEqual(['main.chat', 'main.sorry']);
      expect(slot.heard).toEqual(['Sorry.']);
      expect(slot.errors.length).toBeGreaterThan(0);
      expect(slot.reason).toBe('bot-hangup');
    },
    T,
  );

  it(
    'on.hangup: the caller hangs up mid-flow and the handler logs the call over http, without audio',
    async ({ expect }) => {
      const api = await mockServer([{ method: 'POST', path: '/calls', json: { ok: true } }]);
      const r = await simCall(
        `${PLUGINS}vars: { API: "${api.url}" }
flows:
  main:
    on: { hangup: log }
    steps:
      ask:
        listen: { prompt: "Message?", input: [speech] }
        save: msg
      thanks: { hangup: "Thanks." }
      log:
        http: { method: POST, url: "{{API}}/calls", body: { from: "{{call.from}}", msg: "{{msg}}", status: hung-up } }
      after: { say: "Nobody hears this." }
`,
        [{ hangup: true }],
      );
      expect(r.reason).toBe('caller-hangup');
      expect(r.heard).toEqual(['Message?']);
      // The handler's steps run after call.ended; the engine drops events of an ended call, so the request is the evidence.
      expect(r.steps).toEqual(['main.ask']);
      expect(api.requests).toEqual([expect.objectContaining({ method: 'POST', path: '/calls', body: { from: '+15550100', msg: '', status: 'hung-up' } })]);
    },
    T,
  );
});
