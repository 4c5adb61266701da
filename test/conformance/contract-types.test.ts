import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const FIXTURES = {
  'tts-broken.ts': `
      import { TtsPlugin } from '../../core/plugins/tts.js';
      export class Broken extends TtsPlugin {
        readonly capabilities = { streaming: true, sampleRates: [16000], wordTimings: false };
      }
    `,
  'telephony-broken.ts': `
      import { TelephonyPlugin } from '../../core/plugins/telephony.js';
      export class Broken extends TelephonyPlugin {}
    `,
  'tts-fine.ts': `
      import { TtsPlugin, type SynthesizeRequest, type TtsChunk } from '../../core/plugins/tts.js';
      export class Fine extends TtsPlugin {
        readonly capabilities = { streaming: true, sampleRates: [16000], wordTimings: false };
        protected async *_synthesize(req: SynthesizeRequest): AsyncIterable<TtsChunk> {
          yield { samples: new Int16Array(320), sampleRate: req.sampleRate };
        }
      }
    `,
};
type Fixture = keyof typeof FIXTURES;

/**
 * One tsc run over all fixtures (each fixture is its own module, so one's
 * errors cannot hide or cause another's): checking core's types once instead
 * of once per fixture is most of this file's time. Diagnostics are split by
 * the file tsc names at the start of each one.
 */
function typecheckAll(): { status: number | null; signal: NodeJS.Signals | null; out: string; byFile: Map<string, string> } {
  const dir = mkdtempSync(join(ROOT, 'test', '.tmp-contract-'));
  try {
    for (const [name, source] of Object.entries(FIXTURES)) writeFileSync(join(dir, name), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], pretty: false },
        files: Object.keys(FIXTURES),
      }),
    );
    const r = spawnSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', cwd: ROOT });
    const out = r.stdout + r.stderr;
    const byFile = new Map<string, string>();
    let current = '';
    for (const line of out.split('\n')) {
      const m = /^(\S[^(]*)\(\d+,\d+\): /.exec(line);
      if (m) current = m[1]!.split('/').pop()!.replace(/\\/g, '/');
      if (line) byFile.set(current, (byFile.get(current) ?? '') + line + '\n');
    }
    return { status: r.status, signal: r.signal, out, byFile };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('slot contracts are enforced by the type system', () => {
  let result: ReturnType<typeof typecheckAll>;
  const errorsOf = (f: Fixture): string => result.byFile.get(f) ?? '';
  beforeAll(() => {
    result = typecheckAll();
  }, 180_000);

  it('tsc reports errors in the broken fixtures only (nothing elsewhere, nothing unattributed)', () => {
    // A tsc killed (or crashed) says nothing about the fixtures: fail with what it printed.
    expect({ signal: result.signal, out: result.out.slice(0, 2000) }).toMatchObject({ signal: null });
    expect(result.status).not.toBe(0);
    expect([...result.byFile.keys()].sort()).toEqual(['telephony-broken.ts', 'tts-broken.ts']);
  });

  it('a TTS plugin without _synthesize does not compile', () => {
    expect(errorsOf('tts-broken.ts')).toMatch(/TS2515|abstract member '_synthesize'/);
  });

  it('a telephony plugin without capabilities does not compile', () => {
    expect(errorsOf('telephony-broken.ts')).toMatch(/capabilities/);
  });

  it('a complete plugin compiles (the check is not vacuous)', () => {
    expect(errorsOf('tts-fine.ts')).toBe('');
  });
});
