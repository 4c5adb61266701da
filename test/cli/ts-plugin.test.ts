import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliAsync } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'voicebot-ts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files: Record<string, string> = {
  'voicebot.yaml': [
    'version: 1',
    'plugins:',
    '  telephony: { provider: mock }',
    '  stt: { provider: mock }',
    '  llm: { provider: ./echo.ts, prefix: Heard }',
    '  tts: { provider: mock }',
    'tools:',
    '  shout:',
    '    description: Upper-cases a word.',
    '    params: { word: string }',
    '    handler: ./tools.ts#shout',
    'flows:',
    '  main:',
    '    start: chat',
    '    steps:',
    '      chat: { llm: { system: "Echo.", maxTurns: 1, exits: [ { maxTurns: true, goto: bye } ] } }',
    '      bye: { hangup: "Bye." }',
    '',
  ].join('\n'),
  // A NodeNext-style relative import: './words.js' names words.ts.
  'echo.ts': `import { words } from './words.js';
interface Req { messages: { role: string; content: string }[] }
export default (api: any) => {
  class Echo extends api.LlmPlugin {
    capabilities = { streaming: true, toolCalls: true };
    private readonly prefix: string;
    constructor(o: { prefix?: string }) { super('echo-ts'); this.prefix = o.prefix ?? 'You said'; }
    async *_chat(req: Req) {
      const tool = req.messages.find((m) => m.role === 'tool');
      if (!tool) { yield { type: 'tool_call', call: { id: 't1', name: 'shout', arguments: { word: 'hi' } } }; yield { type: 'done', finishReason: 'tool_calls' }; return; }
      const last = [...req.messages].reverse().find((m) => m.role === 'user');
      for (const w of words(\`\${this.prefix} \${last?.content ?? ''} \${tool.content}\`)) yield { type: 'text', text: w };
      yield { type: 'done', finishReason: 'stop' };
    }
  }
  return api.definePlugin({ slot: 'llm', name: 'echo-ts', optionsSchema: { type: 'object', properties: { prefix: { type: 'string' } } }, create: (o: { prefix?: string }) => new Echo(o) });
};
`,
  'words.ts': `export const words = (s: string): string[] => s.split(' ').map((w, i) => (i ? ' ' : '') + w);\n`,
  'tools.ts': `export function shout(args: { word: string }): string { return args.word.toUpperCase(); }\n`,
  'main.test.yaml': [
    'config: voicebot.yaml',
    'scenarios:',
    '  - name: the TypeScript plugin and tool answer',
    '    turns:',
    '      - say: hello there',
          // "HI" comes from the tool handler in tools.ts, "Heard" from the plugin's options.
    '        expect: { said: "HI" }',
    '',
  ].join('\n'),
};

describe('a TypeScript plugin and tool handler (compiled on load with the typescript package)', () => {
  it('validates and runs its scenario through the real CLI', async () => {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    // Two independent processes over the same files: at the same time.
    const [v, t] = await Promise.all([cliAsync(['validate'], { cwd: dir }), cliAsync(['test'], { cwd: dir })]);
    expect(v.stderr).toBe('');
    expect(v.stdout).toMatch(/ok/);
    expect(t.stdout + t.stderr).toMatch(/1 passed/);
    expect(t.status).toBe(0);
  }, 120_000);
});
