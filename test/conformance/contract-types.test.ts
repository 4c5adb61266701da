import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function typecheck(source: string): { status: number | null; out: string } {
  const dir = mkdtempSync(join(ROOT, 'test', '.tmp-contract-'));
  try {
    writeFileSync(join(dir, 'fixture.ts'), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
        files: ['fixture.ts'],
      }),
    );
    const r = spawnSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', cwd: ROOT });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('slot contracts are enforced by the type system', () => {
  it('a TTS plugin without _synthesize does not compile', () => {
    const r = typecheck(`
      import { TtsPlugin } from '../../core/plugins/tts.js';
      export class Broken extends TtsPlugin {
        readonly capabilities = { streaming: true, sampleRates: [16000], wordTimings: false };
      }
    `);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/TS2515|abstract member '_synthesize'/);
  }, 60_000);

  it('a telephony plugin without capabilities does not compile', () => {
    const r = typecheck(`
      import { TelephonyPlugin } from '../../core/plugins/telephony.js';
      export class Broken extends TelephonyPlugin {}
    `);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/capabilities/);
  }, 60_000);

  it('a complete plugin compiles (the check is not vacuous)', () => {
    const r = typecheck(`
      import { TtsPlugin, type SynthesizeRequest, type TtsChunk } from '../../core/plugins/tts.js';
      export class Fine extends TtsPlugin {
        readonly capabilities = { streaming: true, sampleRates: [16000], wordTimings: false };
        protected async *_synthesize(req: SynthesizeRequest): AsyncIterable<TtsChunk> {
          yield { samples: new Int16Array(320), sampleRate: req.sampleRate };
        }
      }
    `);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);
});
