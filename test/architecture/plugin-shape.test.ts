import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AudioStreamPlugin, LlmPlugin, silentLogger, SttPlugin, TelephonyPlugin, TtsPlugin, VadPlugin, type AnyPluginManifest } from '../../core/plugin-api.js';
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

async function moduleOf(folder: string): Promise<Record<string, unknown>> {
  return (await import(/* @vite-ignore */ join(ROOT, 'plugins', folder, 'index.ts'))) as Record<string, unknown>;
}

async function manifestsOf(folder: string): Promise<AnyPluginManifest[]> {
  const mod = await moduleOf(folder);
  const found = new Set<AnyPluginManifest>();
  for (const v of Object.values(mod)) {
    if (isManifest(v)) found.add(v);
    if (Array.isArray(v)) for (const m of v) if (isManifest(m)) found.add(m);
  }
  return [...found];
}

const SLOT_BASES: readonly unknown[] = [AudioStreamPlugin, LlmPlugin, SttPlugin, TelephonyPlugin, TtsPlugin, VadPlugin];
type AnyClass = abstract new (...args: never[]) => unknown;
function isPluginClass(x: unknown): x is AnyClass {
  if (typeof x !== 'function' || SLOT_BASES.includes(x)) return false;
  for (let p = Object.getPrototypeOf(x) as unknown; p; p = Object.getPrototypeOf(p) as unknown) if (SLOT_BASES.includes(p)) return true;
  return false;
}

/** The parameter list of a class's own constructor, split at top-level commas, as the running (transpiled) code has it. */
function ctorParams(cls: AnyClass): string[] {
  const src = cls.toString();
  const at = src.indexOf('constructor(');
  if (at < 0) return [];
  let depth = 0;
  let part = '';
  const out: string[] = [];
  for (const ch of src.slice(at + 'constructor'.length)) {
    if ('([{'.includes(ch)) depth++;
    if (')]}'.includes(ch)) depth--;
    if (depth === 0) break;
    if (depth === 1 && ch === ',') (out.push(part.trim()), (part = ''));
    else if (!(depth === 1 && ch === '(')) part += ch;
  }
  if (part.trim()) out.push(part.trim());
  return out;
}

/** One constructor for every built-in provider (issue #16): `(options = {}, ctx = {}, provider = '<its name>', ...test-only extras)`. */
function expectOneSignature(cls: AnyClass, provider: string | undefined): void {
  const p = ctorParams(cls);
  expect(p.length, `${cls.name} declares its own constructor`).toBeGreaterThanOrEqual(3);
  expect(p[0], `${cls.name}: options first`).toMatch(/^_?opt(ion)?s\b/);
  expect(p[1], `${cls.name}: then the plugin context, default {}`).toMatch(/^_?ctx = \{\s*\}$/);
  expect(p[2], `${cls.name}: then the provider name, with its default`).toMatch(provider ? new RegExp(`^provider = ["']${provider}["']$`) : /^provider = ["'][a-z-]+["']$/);
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

      it('its manifests create their plugin as new Class(options, ctx), and every plugin class it exports takes (options, ctx, provider)', async () => {
        const mod = await moduleOf(folder);
        const classes = Object.values(mod).filter(isPluginClass);
        for (const m of await manifestsOf(folder)) {
          const made = [...m.create.toString().matchAll(/new (?:[\w$]+\.)?(\w+)\(([^]*?)\)/g)];
          // auto picks another provider's plugin (chooseVad) rather than constructing its own class.
          if (m.name === 'auto') {
            expect(made, 'auto constructs no class of its own').toEqual([]);
            continue;
          }
          expect(made.length, `${m.slot} ${m.name}: create() constructs its class`).toBeGreaterThan(0);
          for (const [, name, args] of made) {
            expect(args, `${m.slot} ${m.name}: new ${name}(options, ctx)`).toMatch(/options[^]*, ctx$/);
            const cls = mod[name!];
            expect(isPluginClass(cls), `${name} is exported by plugins/${folder}/index.ts`).toBe(true);
            expectOneSignature(cls as AnyClass, m.name);
          }
        }
        for (const cls of classes) expectOneSignature(cls, undefined);
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
