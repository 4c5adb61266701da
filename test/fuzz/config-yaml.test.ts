/**
 * Structure-aware fuzzing of config loading: mutations of the shipped configs
 * through the real loader and validator. Every case must end in coded
 * diagnostics at file:line:col, or in a valid config — never a throw, never
 * the checker's own VB_ERR_CONFIG_CHECK_FAILED. Seeded and bounded here;
 * VOICEBOT_FUZZ_ITERATIONS=5000 (and VOICEBOT_FUZZ_SEED) runs longer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../core/config/load.js';
import { ERROR_DEFS } from '../../core/errors/registry.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';
import { ROOT } from '../cli/helpers.js';
import { iterations, mutateYaml, pick, rng, seed } from './config-gen.js';

const SOURCES = ['voicebot.yaml', ...readdirSync(join(ROOT, 'flows')).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml')).map((f) => `flows/${f}`)];
const corpus = SOURCES.map((f) => {
  const text = readFileSync(join(ROOT, f), 'utf8');
  return { file: join(ROOT, f), text, value: parse(text) as unknown };
});

describe('fuzz: config YAML through the real loader', () => {
  const n = iterations(80);
  const s = seed(0xc0f1);
  it(`${n} mutated configs (seed ${s}) end in coded file:line:col diagnostics or a valid config`, { timeout: 120_000 }, async () => {
    const r = rng(s);
    const registry = createDefaultRegistry();
    const lines = (text: string): number => text.split('\n').length;
    for (let i = 0; i < n; i++) {
      const src = pick(r, corpus);
      const text = mutateYaml(src.value, src.text, r);
      let result;
      try {
        result = await loadConfigText(text, src.file, { env: { OPENAI_API_KEY: 'sk-x' }, registry });
      } catch (e) {
        throw new Error(`case ${i} (seed ${s}) threw ${(e as Error)?.stack ?? String(e)}\n--- input ---\n${text.slice(0, 2000)}`);
      }
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length === 0) expect(result.config, `case ${i}: no errors but no config`).toBeDefined();
      else expect(result.config).toBeUndefined();
      for (const d of result.diagnostics) {
        const where = `case ${i} (seed ${s}): ${d.code} ${d.message.slice(0, 300)}\n--- input ---\n${text.slice(0, 2000)}`;
        expect(d.code in ERROR_DEFS, where).toBe(true);
        expect(d.code, where).not.toBe('VB_ERR_CONFIG_CHECK_FAILED');
        expect(d.file, where).toBe(src.file);
        expect(d.line >= 1 && d.line <= lines(text) + 1 && d.col >= 1, where).toBe(true);
        expect(d.message.length, where).toBeLessThan(5000);
      }
    }
  });
});
