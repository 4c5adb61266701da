import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from '../core/audio/g711.js';
import { Resampler } from '../core/audio/resampler.js';
import { median, round, table } from './stats.js';

const require = createRequire(import.meta.url);

export interface DspResult {
  name: string;
  oursNsPerFrame: number;
  theirsNsPerFrame: number;
  /** theirs / ours: above 1 means ours is faster. */
  ratio: number;
  theirsName: string;
}

/** ns per call of fn, median of `runs` timed batches after a warm-up. */
function nsPer(fn: () => void, iterations: number, runs: number): number {
  for (let i = 0; i < iterations; i++) fn();
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  return median(samples);
}

function sine(rate: number, ms: number): Int16Array {
  const n = (rate * ms) / 1000;
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return s;
}

/** G.711 and resampling per 20 ms frame, ours vs. well-known npm implementations, in one run. */
export async function runDspBench(opts: { quick: boolean }): Promise<DspResult[]> {
  const iterations = opts.quick ? 2000 : 20000;
  const runs = opts.quick ? 5 : 11;
  const alawmulaw = require('alawmulaw') as {
    mulaw: { encode(s: Int16Array): Uint8Array; decode(b: Uint8Array): Int16Array };
    alaw: { encode(s: Int16Array): Uint8Array; decode(b: Uint8Array): Int16Array };
  };
  const out: DspResult[] = [];
  const frame8k = sine(8000, 20);
  const bytes = mulawEncode(frame8k);
  const abytes = alawEncode(frame8k);
  const encOut = new Uint8Array(160);
  const decOut = new Int16Array(160);
  const row = (name: string, ours: number, theirs: number, theirsName: string): void => {
    out.push({ name, oursNsPerFrame: round(ours, 0), theirsNsPerFrame: round(theirs, 0), ratio: round(theirs / ours, 2), theirsName });
  };
  row('μ-law encode 20 ms @8k', nsPer(() => mulawEncode(frame8k, encOut), iterations, runs), nsPer(() => alawmulaw.mulaw.encode(frame8k), iterations, runs), 'alawmulaw');
  row('μ-law decode 20 ms @8k', nsPer(() => mulawDecode(bytes, decOut), iterations, runs), nsPer(() => alawmulaw.mulaw.decode(bytes), iterations, runs), 'alawmulaw');
  row('A-law encode 20 ms @8k', nsPer(() => alawEncode(frame8k, encOut), iterations, runs), nsPer(() => alawmulaw.alaw.encode(frame8k), iterations, runs), 'alawmulaw');
  row('A-law decode 20 ms @8k', nsPer(() => alawDecode(abytes, decOut), iterations, runs), nsPer(() => alawmulaw.alaw.decode(abytes), iterations, runs), 'alawmulaw');

  const mod = (await import('@alexanderolsen/libsamplerate-js')) as unknown as { default?: unknown };
  const { create, ConverterType } = (mod.default ?? mod) as {
    create(ch: number, from: number, to: number, o: { converterType: number }): Promise<{ full(d: Float32Array): Float32Array; destroy(): void }>;
    ConverterType: Record<string, number>;
  };
  const pairs: [number, number][] = [
    [8000, 16000],
    [16000, 8000],
    [16000, 48000],
    [48000, 16000],
    [24000, 16000],
    [48000, 8000],
  ];
  for (const [from, to] of pairs) {
    const pcm = sine(from, 20);
    const f32 = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) f32[i] = pcm[i] / 32768;
    const ours = new Resampler(from, to);
    // SRC_SINC_FASTEST is the lightest of libsamplerate's band-limited converters, the fair match for ours.
    const theirs = await create(1, from, to, { converterType: ConverterType.SRC_SINC_FASTEST });
    const itR = Math.max(200, iterations / 10);
    row(
      `resample ${from / 1000}k→${to / 1000}k 20 ms`,
      nsPer(() => ours.process(pcm), itR, runs),
      nsPer(() => theirs.full(f32), itR, runs),
      'libsamplerate-js SINC_FASTEST',
    );
    theirs.destroy();
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(table((await runDspBench({ quick: process.argv.includes('--quick') })) as never));
}
