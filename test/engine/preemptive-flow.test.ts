import { describe, expect, it } from 'vitest';
import { formatDiagnostic, loadConfigText } from '../../core/config/load.js';
import { startSimulation } from '../../core/flow/sim.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';

/** A whole call through the flow runner on the virtual clock: YAML → llm / listen steps → engine. */
async function run(yaml: string, turns: { say: string }[]) {
  const { config, diagnostics } = await loadConfigText(yaml, '/cfg/voicebot.yaml', { env: {}, registry: createDefaultRegistry() });
  expect(diagnostics.map((d) => formatDiagnostic(d, '/cfg'))).toEqual([]);
  const clock = new VirtualClock();
  try {
    const sim = await startSimulation({ config: config!, clock, idleTimeoutMs: 20_000 });
    sim.caller.push(...turns);
    sim.caller.finish();
    return (await sim.done).events;
  } finally {
    clock.dispose();
  }
}

const HEAD = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock, latencyMs: 200, interimDelayMs: 100 }
  llm: { provider: mock, latencyMs: 350 }
  tts: { provider: mock, latencyMs: 150 }
`;

describe('turn-taking through the flow runner (defaults: word-aware endpoint, preemptive reply)', () => {
  it('an llm step hands its request to the engine before the endpoint; the reply is the adopted generation', async () => {
    const events = await run(
      `${HEAD}flows:
  main:
    steps:
      talk: { llm: { system: "Be brief.", maxTurns: 1, exits: [ { maxTurns: true, goto: bye } ] } }
      bye: { hangup: "Bye." }
`,
      [{ say: 'What time is it?' }],
    );
    const said = events.filter((e) => e.type === 'bot.said').map((e) => (e.type === 'bot.said' ? e.text : ''));
    expect(said).toEqual(['You said: What time is it.', 'Bye.']);
    const m = events.find((e) => e.type === 'turn.metrics');
    expect(m).toMatchObject({ type: 'turn.metrics', preemptive: true, llmTtftMs: 350 });
    if (m?.type !== 'turn.metrics') throw new Error('no turn metrics');
    // minEndpoint, plus the wait for the interim (100 ms behind the audio) to stop changing.
    expect(m.endOfUtteranceMs!).toBeGreaterThanOrEqual(200);
    expect(m.endOfUtteranceMs!).toBeLessThan(300);
    expect(m.e2eMs!).toBeLessThan(m.endOfUtteranceMs! + 350 + 150);
    expect(events.some((e) => e.type === 'caller.interim')).toBe(true);
  });

  it('a listen step whose route the words already match ends the turn after minEndpoint', async () => {
    const events = await run(
      `${HEAD}flows:
  main:
    steps:
      menu:
        listen: { prompt: "Sales or support?", input: [speech] }
        routes: [ { equals: sales, goto: s } ]
        else: bye
      s: { say: "Sales." }
      bye: { hangup: }
`,
      [{ say: 'sales' }],
    );
    const m = events.find((e) => e.type === 'turn.metrics');
    if (m?.type !== 'turn.metrics') throw new Error('no turn metrics');
    // Matched words: minEndpoint once the lagging interim settled — not the 400 ms of words that merely look finished.
    expect(m.endOfUtteranceMs!).toBeGreaterThanOrEqual(200);
    expect(m.endOfUtteranceMs!).toBeLessThan(300);
    expect(events.filter((e) => e.type === 'bot.said').map((e) => (e.type === 'bot.said' ? e.text : ''))).toContain('Sales.');
  });
});
