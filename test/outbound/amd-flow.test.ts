import { describe, it } from 'vitest';
import type { CallerSide } from '../../core/plugins/telephony.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';
import { encodeMockSpeech } from '../../plugins/mock/mock-speech.js';
import { MockTelephony } from '../../plugins/mock/telephony.js';
import { CALL_TEST_TIMEOUT, mockConfig, onFarEnd, startApp } from './helpers.js';

const CONFIG = mockConfig({
  token: 'amd-flow-token-0123456789',
  settings: '  timeouts: { endOfSpeech: 300ms }\n',
  body: `flows:
  survey:
    amd: { timeout: 4s }
    on: { human: ask, machine: vm, unknown: ask }
    steps:
      ask:
        listen: { prompt: "Do you have a minute?", input: [speech], timeout: 1500ms, retries: 0 }
        exhausted: nothing
        save: answer
        else: nothing
        routes: [ { regex: ".", goto: heard } ]
      nothing: { hangup: "No answer then." }
      heard: { hangup: "You said {{answer}}." }
      vm: { hangup: "Voicemail." }
`,
});

/** The callee's line, one 20 ms frame per 20 ms of the call's clock. */
async function say(far: CallerSide, clock: VirtualClock, text: string): Promise<void> {
  const rate = far.sampleRate;
  const pcm = encodeMockSpeech(text, rate);
  const n = rate / 50;
  for (let i = 0; i + n <= pcm.length; i += n) {
    far.write({ samples: pcm.subarray(i, i + n), sampleRate: rate, timestampMs: (i * 1000) / rate });
    await clock.sleep(20);
  }
}

/** Line silence for up to `ms`, until the call ends. */
async function silence(far: CallerSide, clock: VirtualClock, ms: number): Promise<void> {
  const rate = far.sampleRate;
  const f = new Int16Array(rate / 50);
  let over = false;
  void far.ended.then(() => (over = true));
  for (let t = 0; t < ms && !over; t += 20) {
    far.write({ samples: f, sampleRate: rate, timestampMs: t });
    await clock.sleep(20);
  }
}

/** Mock line, real frames, on a VirtualClock: every part is in-process. */
describe('AMD in a flow (mock line, real frames)', { timeout: CALL_TEST_TIMEOUT }, () => {
  it('a person says hello: on.human runs, and the greeting is not taken as the answer to the first question', async ({ expect, onTestFinished }) => {
    const clock = new VirtualClock();
    const tel = new MockTelephony({ codec: 'pcmu' }, { clock });
    let answered!: (far: CallerSide) => void;
    const dialled = new Promise<CallerSide>((r) => (answered = r));
    onFarEnd(tel, (far) => answered(far));
    const { api, said } = await startApp({ onTestFinished }, CONFIG, tel, { clock });
    const placed = api.calls.place({ to: '+15550300', flow: 'survey' });
    const far = await dialled;
    // "hello", then the pause a person leaves; then silence while the bot asks.
    await say(far, clock, 'hello');
    const line = silence(far, clock, 6000);
    const done = await api.calls.whenDone(placed.id)!;
    await line;
    expect(done.amd?.outcome).toBe('human');
    expect(said()).toEqual(['Do you have a minute?', 'No answer then.']);
  });
});
