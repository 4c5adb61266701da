/**
 * Structure-aware fuzzing of scenario files (flows/*.test.yaml) through the
 * real parser: each mutation parses, or fails with a coded VB_ERR_SCENARIO
 * naming the file — never another exception. VOICEBOT_FUZZ_ITERATIONS runs longer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { VoicebotError } from '../../core/errors/index.js';
import { parseScenarios } from '../../core/flow/scenario.js';
import { ROOT } from '../cli/helpers.js';
import { iterations, mutateYaml, pick, rng, seed } from './config-gen.js';

const corpus = readdirSync(join(ROOT, 'flows'))
  .filter((f) => f.endsWith('.test.yaml'))
  .map((f) => {
    const text = readFileSync(join(ROOT, 'flows', f), 'utf8');
    return { file: join(ROOT, 'flows', f), text, value: parse(text) as unknown };
  });

describe('fuzz: scenario files through the real parser', () => {
  const n = iterations(150);
  const s = seed(0x5ce4);
  it(`${n} mutated scenario files (seed ${s}) parse or give VB_ERR_SCENARIO`, { timeout: 120_000 }, () => {
    expect(corpus.length).toBeGreaterThan(0);
    const r = rng(s);
    let parsed = 0;
    for (let i = 0; i < n; i++) {
      const src = pick(r, corpus);
      const text = mutateYaml(src.value, src.text, r);
      try {
        const f = parseScenarios(text, src.file);
        // A broken scenario is that scenario's coded failure (the others still run), never a throw.
        expect(f.scenarios.length + f.broken.length).toBeGreaterThan(0);
        for (const b of f.broken) {
          expect(b.error.code).toBe('VB_ERR_SCENARIO');
          expect(b.error.message).toContain(src.file);
        }
        parsed++;
      } catch (e) {
        if (!(e instanceof VoicebotError) || e.code !== 'VB_ERR_SCENARIO') {
          throw new Error(`case ${i} (seed ${s}) threw ${(e as Error)?.stack ?? String(e)}\n--- input ---\n${text.slice(0, 2000)}`);
        }
        expect(e.message).toContain(src.file);
      }
    }
    // The mutations must not all be rejected outright, or the fuzz would test nothing past the YAML parser.
    expect(parsed).toBeGreaterThan(0);
  });
});
