/** The config the outbound API and CLI tests share (short prompts: mock speech is 120 ms a character, played in real time). */
export const TOKEN = 'test-token-0123456789abcdef';

export function outboundConfig(extra = ''): string {
  return `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
settings:
  api: { token: "${TOKEN}", port: 0, outbound: { maxConcurrent: 2, perMinute: 3 } }
vars:
  name: friend
routes:
  - { to: "*", flow: main }
  - { to: "*", flow: reminder, direction: outbound }
flows:
  main:
    steps:
      hi: { hangup: "This is the inbound line." }
  reminder:
    steps:
      hello: { say: "Hi {{vars.name}}, {{call.direction}} from {{call.from}}." }
      bye: { hangup: "Bye." }
  waiting:
    steps:
      ask: { listen: { input: [dtmf], timeout: 20s }, else: bye }
      bye: { hangup: "Bye." }
${extra}`;
}
