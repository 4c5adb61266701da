import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layering, checked statically over the sources: core/ never reaches
 * plugins/ (built-ins are handed to it by the composition root, entry/), and a
 * plugin imports nothing of core/ but the public plugin API — the same one a
 * third-party plugin gets as `voicebot/plugin`.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PLUGIN_API = join(ROOT, 'core/plugin-api.ts');
const TESTING_API = join(ROOT, 'core/testing/index.ts');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Every relative module specifier in a file (static imports, re-exports, import() and import types), resolved to a .ts path. */
export function relativeImports(file: string, source = readFileSync(file, 'utf8')): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of source.matchAll(re)) out.push(resolve(dirname(file), m[1]).replace(/\.js$/, '.ts'));
  return out;
}

const rel = (p: string): string => relative(ROOT, p);
const inside = (p: string, dir: string): boolean => !relative(join(ROOT, dir), p).startsWith('..');

/** Offending `file → import` pairs. */
export function coreToPlugins(): string[] {
  return tsFiles(join(ROOT, 'core')).flatMap((f) => relativeImports(f).filter((i) => inside(i, 'plugins')).map((i) => `${rel(f)} → ${rel(i)}`));
}

export function pluginsToCoreInternals(): string[] {
  return tsFiles(join(ROOT, 'plugins')).flatMap((f) =>
    relativeImports(f)
      .filter((i) => inside(i, 'core') && i !== PLUGIN_API && !(f.endsWith('.test.ts') && i === TESTING_API))
      .map((i) => `${rel(f)} → ${rel(i)}`),
  );
}

describe('import layering', () => {
  it('the scanner sees every import form (so an empty result means something)', () => {
    const f = join(ROOT, 'core/x.ts');
    const found = relativeImports(f, [
      "import { a } from '../plugins/mock/llm.js';",
      "import type { B } from '../plugins/base.js';",
      "export * from '../plugins/x.js';",
      "import '../plugins/side-effect.js';",
      "const m = await import('../plugins/lazy.js');",
      "import { ok } from './plugins/registry.js';",
    ].join('\n'));
    expect(found.map(rel)).toEqual(['plugins/mock/llm.ts', 'plugins/base.ts', 'plugins/x.ts', 'plugins/side-effect.ts', 'plugins/lazy.ts', 'core/plugins/registry.ts']);
    expect(found.filter((i) => inside(i, 'plugins')).length).toBe(5);
  });

  it('no file under core/ imports from plugins/', () => {
    expect(coreToPlugins()).toEqual([]);
  });

  it('a built-in plugin imports only core/plugin-api.ts of core/', () => {
    expect(pluginsToCoreInternals()).toEqual([]);
  });
});
