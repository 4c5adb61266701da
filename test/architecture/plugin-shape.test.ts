import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger, type AnyPluginManifest } from '../../core/plugin-api.js';
import { BUILTIN_PLUGINS } from '../../plugins/builtin.js';

/**
 * Every built-in plugin folder has one shape (issue #16): index.ts exporting its manifest(s),
 * README.md with an options table naming every option of its schema,
 * test/<folder>/<folder>.conformance.test.ts, and its sample rates declared once.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const FOLDERS = readdirSync(join(ROOT, 'plugins'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

function isManifest(x: unknown): x is AnyPluginManifest {
  return typeof x === 'object' && x !== null && 'slot' in x && 'name' in x && typeof (x as { create?: unknown }).create === 'function';
}

async function manifestsOf(folder: string): Promise<AnyPluginManifest[]> {
  const mod = (await import(/* @vite-ignore */ join(ROOT, 'plugins', folder, 'index.ts'))) as Record<string, unknown>;
  const found = new Set<AnyPluginManifest>();
  for (const v of Object.values(mod)) {
    if (isManifest(v)) found.add(v);
    if (Array.isArray(v)) for (const m of v) if (isManifest(m)) found.add(m);
  }
  return [...found];
}

describe('plugin folders have one shape', () => {
  it('there are plugin folders to check', () => {
    expect(FOLDERS.length).toBeGreaterThanOrEqual(11);
  });

  for (const folder of FOLDERS) {
    describe(`plugins/${folder}`, () => {
      it('index.ts exports every manifest of the folder that builtin.ts registers, and builtin.ts loads it from there', async () => {
        const manifests = await manifestsOf(folder);
        expect(manifests.length, 'manifests exported by index.ts').toBeGreaterThan(0);
        const builtin = readFileSync(join(ROOT, 'plugins', 'builtin.ts'), 'utf8');
        const loads = [...builtin.matchAll(/import\('\.\/([^/]+)\/([^']+)'\)/g)].filter((m) => m[1] === folder);
        expect(loads.length, 'builtin.ts entries').toBeGreaterThan(0);
        for (const m of loads) expect(m[2], `builtin.ts imports ./${folder}/${m[2]}`).toBe('index.js');
        for (const entry of BUILTIN_PLUGINS.filter((e) => manifests.some((m) => m.slot === e.slot && m.name === e.name))) {
          expect(manifests).toContain(await entry.load());
        }
      });

      it('README.md has an options table naming every option of its schema', async () => {
        const file = join(ROOT, 'plugins', folder, 'README.md');
        expect(existsSync(file), file).toBe(true);
        const readme = readFileSync(file, 'utf8');
        expect(readme).toMatch(/^\| *option *\|/m);
        for (const m of await manifestsOf(folder)) {
          const props = Object.keys(((m.optionsSchema as { properties?: Record<string, unknown> }).properties ?? {}) as object);
          for (const key of props) expect(readme, `${m.slot} ${m.name}: option ${key}`).toMatch(new RegExp(`^\\|[^\\n]*\`${key}[\`.]`, 'm'));
        }
      });

      it(`has test/${folder}/${folder}.conformance.test.ts`, () => {
        expect(existsSync(join(ROOT, 'test', folder, `${folder}.conformance.test.ts`))).toBe(true);
      });
    });
  }

  it("declares sample rates once: a manifest's rates are its plugin's capabilities", async () => {
    const checked: string[] = [];
    for (const folder of FOLDERS) {
      for (const m of await manifestsOf(folder)) {
        if (!m.sampleRates || typeof m.sampleRates === 'function') continue;
        // Instances that need nothing but their options (no keys, models or sockets to create).
        if (!['energy', 'fvad', 'mock', 'silero'].includes(m.name)) continue;
        const plugin = (await m.create({} as never, { configDir: ROOT, logger: silentLogger(), language: 'en-US' })) as {
          capabilities: { sampleRates?: readonly number[] };
        };
        expect([...(plugin.capabilities.sampleRates ?? [])], `${m.slot} ${m.name}`).toEqual([...m.sampleRates]);
        checked.push(`${m.slot}:${m.name}`);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(4);
  });
});
