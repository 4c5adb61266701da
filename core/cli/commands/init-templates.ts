/**
 * Files `voicebot init` writes. Kept working by test/cli/init.test.ts (the
 * result validates and its scenarios pass) and test/package/ (the same from
 * the packed tarball, with `npm start` and the TypeScript plugin's own tests).
 */
export interface InitOptions {
  /** TypeScript plugin with a tsconfig, a build script and a vitest test. */
  ts: boolean;
}

const pluginFile = (o: InitOptions): string => (o.ts ? 'plugins/echo-llm.ts' : 'plugins/echo-llm.js');

function voicebotYaml(o: InitOptions): string {
  return `# yaml-language-server: $schema=./node_modules/voicebot/voicebot.schema.json
# Your bot. \`npm start\` serves a softphone page: open it, press "Call the bot",
# then type or press keys; the bot answers with an offline voice (Flite).
# Reference: node_modules/voicebot/README.md ("Config reference").
version: 1
plugins:
  telephony:   { provider: local }
  audioStream: { provider: inprocess }
  # auto: silero (tells speech from noise and beeps) when its optional packages load, else energy;
  # energy while stt is mock (the typed text is mock speech: tones, not speech, to Silero)
  vad:         { provider: auto }
  # mock hears the softphone's typed text; for your voice, offline:
  # apt-get install pocketsphinx pocketsphinx-en-us, then { provider: pocketsphinx }
  stt:         { provider: mock }
  # Your plugin: a local path, relative to this file.${o.ts ? ' A .ts file is compiled on load\n  # with your project\'s typescript; `npm run build` writes dist/ if you prefer .js.' : ''}
  llm:         { provider: ./${pluginFile(o)}, prefix: "You said" }
  tts:         { provider: flite, voice: slt }
settings:
  language: en-US
  bargeIn: { enabled: true, minSpeechMs: 250 }
  timeouts: { noInput: 8s, endOfSpeech: 600ms, maxCall: 15m }
  server: { host: 127.0.0.1, port: 8080 }
vars:
  company: Example Inc
flows:
  main:
    start: greet
    on: { dtmf: { "0": bye } }
    steps:
      greet: { say: "Hello, this is {{company}}." }
      chat:
        llm:
          system: "You are the friendly voice assistant of {{company}}."
          maxTurns: 3
          exits: [ { maxTurns: true, goto: bye } ]
      bye: { hangup: "Goodbye." }
`;
}

const SCENARIOS = `# Scenarios for ../voicebot.yaml: \`npm test\` (or \`npx voicebot test\`) runs them.
# Each one is a simulated call through the real engine (format: flows/README.md
# in node_modules/voicebot). Change the flow, then change these to match.
config: ../voicebot.yaml
scenarios:
  - name: greets and echoes what the caller says
    turns:
      - expect: { said: "Hello, this is Example Inc.", step: main.chat }
      - say: What are your opening hours
        expect: { said: "You said: What are your opening hours." }
    expect: { ended: caller-hangup }

  - name: zero says goodbye and hangs up
    turns:
      - dtmf: "0"
        expect: { step: main.bye, said: Goodbye }
    expect: { ended: bot-hangup }
`;

/** The echo plugin's chat body, shared by the JS and the TS template. */
const ECHO_BODY = `const lastUser = [...req.messages].reverse().find((m) => m.role === 'user');
const words = \`\${this.prefix}: \${lastUser ? lastUser.content : 'nothing yet'}.\`.split(' ');
for (const w of words) {
  if (req.signal?.aborted) {
    yield { type: 'done', finishReason: 'cancelled' };
    return;
  }
  yield { type: 'text', text: w + ' ' };
}
yield { type: 'done', finishReason: 'stop' };
`;

const indent = (text: string, n: number): string => text.replace(/^(?=.)/gm, ' '.repeat(n));

const JS_PLUGIN = `// A custom LLM plugin. The default export receives voicebot's plugin API,
// so this file needs no import and works from any directory.
// Slot contracts: node_modules/voicebot/README.md, "Writing a plugin".
export default (api) => {
  class EchoLlm extends api.LlmPlugin {
    capabilities = { streaming: true, toolCalls: false };

    constructor(options) {
      super('echo-llm');
      this.prefix = options.prefix ?? 'You said';
    }

    // Protected hook: the public chat() wraps it and measures time-to-first-token.
    async *_chat(req) {
${indent(ECHO_BODY, 6)}    }
  }

  return api.definePlugin({
    slot: 'llm',
    name: 'echo-llm',
    optionsSchema: {
      type: 'object',
      properties: { prefix: { type: 'string', description: 'Said before the echoed text' } },
      additionalProperties: false,
    },
    create: (options) => new EchoLlm(options),
  });
};
`;

const TS_PLUGIN = `// A custom LLM plugin. Slot contracts: node_modules/voicebot/README.md, "Writing a plugin".
import { definePlugin, LlmPlugin, ProviderError, type ChatRequest, type LlmCapabilities, type LlmEvent } from 'voicebot/plugin';

export interface EchoOptions {
  prefix?: string;
  /** For tests: fail every request (the conformance suite checks the error shape). */
  fail?: boolean;
}

export class EchoLlm extends LlmPlugin {
  readonly capabilities: LlmCapabilities = { streaming: true, toolCalls: false };
  private readonly prefix: string;
  private readonly fail: boolean;

  constructor(options: EchoOptions = {}) {
    super('echo-llm');
    this.prefix = options.prefix ?? 'You said';
    this.fail = options.fail ?? false;
  }

  // Protected hook: the public chat() wraps it and measures time-to-first-token.
  protected async *_chat(req: ChatRequest): AsyncIterable<LlmEvent> {
    if (this.fail) throw new ProviderError({ slot: 'llm', provider: 'echo-llm', detail: 'configured to fail', retryable: false });
${indent(ECHO_BODY, 4)}  }
}

export default definePlugin({
  slot: 'llm',
  name: 'echo-llm',
  optionsSchema: {
    type: 'object',
    properties: {
      prefix: { type: 'string', description: 'Said before the echoed text' },
      fail: { type: 'boolean', description: 'For tests: fail every request' },
    },
    additionalProperties: false,
  },
  create: (options: EchoOptions) => new EchoLlm(options),
});
`;

const TS_PLUGIN_TEST = `// The same conformance suite every built-in LLM passes: \`npm test\` runs it.
import { describeLlmConformance } from 'voicebot/testing';
import { EchoLlm } from './echo-llm.js';

describeLlmConformance(
  'echo-llm',
  async () => ({ plugin: new EchoLlm({ prefix: 'Echo' }), failing: new EchoLlm({ fail: true }) }),
  { 'emits a tool call with JSON arguments when tools are given': 'echo-llm has no tool calls' },
);
`;

const TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "skipLibCheck": true,
    "types": ["node"],
    "outDir": "dist",
    "rootDir": "."
  },
  "include": ["plugins/**/*.ts"]
}
`;

const GITIGNORE = ['node_modules/', 'dist/', '.voicebot/', '/recordings/'];

/** Files written as they are (an existing one is an error: init never overwrites). */
export function initFiles(o: InitOptions): Record<string, string> {
  const files: Record<string, string> = {
    'voicebot.yaml': voicebotYaml(o),
    'flows/main.test.yaml': SCENARIOS,
  };
  if (o.ts) {
    files['plugins/echo-llm.ts'] = TS_PLUGIN;
    files['plugins/echo-llm.test.ts'] = TS_PLUGIN_TEST;
    files['tsconfig.json'] = TSCONFIG;
  } else {
    files['plugins/echo-llm.js'] = JS_PLUGIN;
  }
  return files;
}

/** Lines `.gitignore` gets (appended to an existing one when missing). */
export const GITIGNORE_LINES: readonly string[] = GITIGNORE;

export interface PackageJson {
  name?: string;
  private?: boolean;
  type?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [k: string]: unknown;
}

/** What package.json must have; an existing file keeps its values and gets the missing ones. */
export function packageAdditions(o: InitOptions, voicebotVersion: string): Required<Pick<PackageJson, 'type' | 'scripts' | 'dependencies' | 'devDependencies'>> {
  return {
    type: 'module',
    scripts: o.ts
      ? { start: 'voicebot run', test: 'voicebot test && vitest run', validate: 'voicebot validate', build: 'tsc -p tsconfig.json', typecheck: 'tsc -p tsconfig.json --noEmit' }
      : { start: 'voicebot run', test: 'voicebot test', validate: 'voicebot validate' },
    dependencies: { voicebot: `^${voicebotVersion}` },
    devDependencies: o.ts ? { typescript: '^5.9.3', vitest: '^4.1.0', '@types/node': '^20.17.0' } : {},
  };
}
