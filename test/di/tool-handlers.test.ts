/**
 * Tool handlers run with the call's child DI container: a `handler:` module
 * resolves services from it (ctx.container, ctx.logger, ctx.http, ctx.clock),
 * and http tools use its TOKENS.HttpClient. A simulated call through the app
 * (mock line, mock STT/LLM/TTS, virtual time) with services replaced by
 * registering them in the app's container, as an embedding app would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../core/config/load.js';
import { createContainer } from '../../core/di/container.js';
import { startSimulation } from '../../core/flow/sim.js';
import { TOKENS, type HttpClient } from '../../core/plugin-api.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'voicebot-di-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

writeFileSync(
  join(dir, 'tools.js'),
  `export async function whoami(args, ctx) {
  const directory = ctx.container.resolve('acme.Directory');
  const res = await ctx.http('http://crm.invalid/people/' + encodeURIComponent(args.phone));
  return {
    name: directory.nameOf(args.phone),
    crm: await res.text(),
    at: ctx.clock.now(),
    company: ctx.container.resolve(ctx.tokens.Config).vars.company,
    log: ctx.logger.bindings(),
  };
}
`,
);

const YAML = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  tts: { provider: mock }
  llm:
    provider: mock
    script:
      - { when: "who", toolCall: { name: whoami, arguments: { phone: "+15550100" } } }
      - { when: "book", toolCall: { name: book, arguments: { day: monday } } }
      - { afterTool: true, reply: "Done." }
settings:
  timeouts: { noInput: 3s, endOfSpeech: 400ms }
vars: { company: Acme }
tools:
  whoami: { description: Who is calling, params: { phone: string }, handler: ./tools.js#whoami }
  book: { description: Book a visit, params: { day: string }, http: { method: POST, url: "http://crm.invalid/book" } }
flows:
  main:
    steps:
      chat:
        llm: { system: "Help.", tools: [whoami, book], maxTurns: 2, exits: [ { maxTurns: true, goto: bye } ] }
      bye: { hangup: "Bye." }
`;

describe('tool handlers through the call container', () => {
  it('a handler resolves a service the embedding app registered; the replaced HTTP client serves handler and http tools', async () => {
    const { config, diagnostics } = await loadConfigText(YAML, join(dir, 'voicebot.yaml'), { env: {}, registry: createDefaultRegistry() });
    expect(diagnostics).toEqual([]);
    const requests: string[] = [];
    const http: HttpClient = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      requests.push(`${init?.method ?? 'GET'} ${url}`);
      return url.endsWith('/book') ? Response.json({ booked: 'B7' }) : new Response('vip');
    };
    const container = createContainer();
    container.register(TOKENS.HttpClient, { useValue: http });
    container.register('acme.Directory', { useValue: { nameOf: (phone: string) => (phone === '+15550100' ? 'Ada' : '?') } });
    const clock = new VirtualClock({ startMs: 5000 });
    try {
      const sim = await startSimulation({ config: config!, container, clock, idleTimeoutMs: 20_000 });
      sim.caller.push({ say: 'who am I' }, { say: 'book monday' });
      sim.caller.finish();
      const res = await sim.done;
      const called = res.events.filter((e) => e.type === 'tool.called');
      expect(called).toEqual([
        expect.objectContaining({
          name: 'whoami',
          result: { name: 'Ada', crm: 'vip', at: expect.any(Number), company: 'Acme', log: expect.objectContaining({ tool: 'whoami', callId: expect.any(String) }) },
        }),
        expect.objectContaining({ name: 'book', result: { booked: 'B7' } }),
      ]);
      expect((called[0] as { result: { at: number } }).result.at).toBeGreaterThan(5000); // the virtual clock, not Date.now()
      expect(requests).toEqual(['GET http://crm.invalid/people/%2B15550100', 'POST http://crm.invalid/book']);
    } finally {
      clock.dispose();
    }
  }, 30_000);
});
