/** Files `voicebot init` writes. Kept valid by test/cli/init.test.ts, which validates the result. */
export const INIT_FILES: Record<string, string> = {
  'voicebot.yaml': `# yaml-language-server: $schema=https://unpkg.com/voicebot/voicebot.schema.json
# Your bot. Reference: README.md of voicebot ("Config reference").
version: 1
plugins:
  telephony:   { provider: mock }
  audioStream: { provider: inprocess }
  vad:         { provider: energy }
  stt:         { provider: mock }
  # A custom plugin: a local path, relative to this file.
  llm:         { provider: ./plugins/echo-llm.js, prefix: "You said" }
  tts:         { provider: mock }
settings:
  language: en-US
  bargeIn: { enabled: true, minSpeechMs: 300 }
  timeouts: { noInput: 6s, endOfSpeech: 600ms, maxCall: 15m }
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
`,
  'flows/main.test.yaml': `# Scenarios for ../voicebot.yaml: run them with \`npx voicebot test\`.
# Each one is a simulated call through the real engine (format: voicebot's
# flows/README.md). Change the flow, then change these to match.
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
`,
  'plugins/echo-llm.js': `// A custom LLM plugin. The default export receives voicebot's plugin API,
// so this file needs no import and works from any directory.
// Slot contracts: README.md "Writing a plugin".
export default (api) => {
  class EchoLlm extends api.LlmPlugin {
    capabilities = { streaming: true, toolCalls: false };

    constructor(options) {
      super('echo-llm');
      this.prefix = options.prefix ?? 'You said';
    }

    // Protected hook: the public chat() wraps it and measures time-to-first-token.
    async *_chat(req) {
      const lastUser = [...req.messages].reverse().find((m) => m.role === 'user');
      const words = \`\${this.prefix}: \${lastUser ? lastUser.content : 'nothing yet'}.\`.split(' ');
      for (const w of words) {
        if (req.signal?.aborted) {
          yield { type: 'done', finishReason: 'cancelled' };
          return;
        }
        yield { type: 'text', text: w + ' ' };
      }
      yield { type: 'done', finishReason: 'stop' };
    }
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
`,
};
