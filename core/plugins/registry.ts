import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VoicebotError, registerErrors } from '../errors/index.js';
import type { AnyPluginManifest } from './manifest.js';
import { SLOT_NAMES, type SlotName } from './slots.js';
import { importMaybeTs } from './ts-loader.js';

/** A built-in provider, loaded on first use so unused plugins cost nothing at startup. */
export interface BuiltinEntry {
  slot: SlotName;
  name: string;
  load(): Promise<AnyPluginManifest>;
}

function isPath(provider: string): boolean {
  return provider.startsWith('./') || provider.startsWith('../') || isAbsolute(provider);
}

function isManifest(x: unknown): x is AnyPluginManifest {
  if (typeof x !== 'object' || x === null) return false;
  const m = x as Record<string, unknown>;
  return (
    typeof m.slot === 'string' &&
    (SLOT_NAMES as readonly string[]).includes(m.slot) &&
    typeof m.name === 'string' &&
    typeof m.create === 'function' &&
    typeof m.optionsSchema === 'object'
  );
}

/** A module may export one manifest (default or `plugin`) or a list (`plugins`). */
async function manifestsOf(mod: Record<string, unknown>): Promise<AnyPluginManifest[]> {
  const out: AnyPluginManifest[] = [];
  let def = mod.default;
  // `export default (api) => definePlugin(...)`: the plugin gets the API injected,
  // so a plugin file outside any npm project needs no import of voicebot.
  if (typeof def === 'function' && !isManifest(def)) def = await (def as (api: unknown) => unknown)(await import('../plugin-api.js'));
  for (const v of [def, mod.plugin, mod.plugins]) {
    if (Array.isArray(v)) out.push(...v.filter(isManifest));
    else if (isManifest(v)) out.push(v);
  }
  return out;
}

/**
 * Finds a provider by name: built-ins first, then a local path
 * (`./plugins/my-stt.js`, relative to the config file), then an npm package
 * resolved from the config's directory.
 */
export class PluginRegistry {
  private readonly builtins: readonly BuiltinEntry[];
  private readonly cache = new Map<string, Promise<AnyPluginManifest>>();

  constructor(builtins: readonly BuiltinEntry[]) {
    this.builtins = builtins;
  }

  available(slot: SlotName): string[] {
    return this.builtins.filter((b) => b.slot === slot).map((b) => b.name);
  }

  resolve(slot: SlotName, provider: string, configDir: string): Promise<AnyPluginManifest> {
    const key = `${slot}\0${provider}\0${isPath(provider) ? configDir : ''}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.load(slot, provider, configDir);
      // A failed lookup is not cached: the user may fix the file and retry in the same process (console).
      p.catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return p;
  }

  private async load(slot: SlotName, provider: string, configDir: string): Promise<AnyPluginManifest> {
    const builtin = this.builtins.find((b) => b.slot === slot && b.name === provider);
    if (builtin) return builtin.load();

    if (isPath(provider)) {
      const file = resolvePath(configDir, provider);
      if (!existsSync(file)) {
        throw this.unknown(slot, provider, ` File ${file} does not exist.`);
      }
      return await this.pick(slot, provider, file, await this.importModule(slot, provider, pathToFileURL(file).href, file, configDir));
    }

    if (this.builtins.some((b) => b.name === provider)) {
      const slots = this.builtins.filter((b) => b.name === provider).map((b) => b.slot);
      throw this.unknown(slot, provider, ` "${provider}" is a ${slots.join('/')} provider, not a ${slot} provider.`);
    }

    let specifier: string;
    try {
      specifier = createRequire(join(configDir, 'package.json')).resolve(provider);
    } catch {
      // ESM-only packages have no require condition; let import() resolve from here.
      specifier = provider;
    }
    let mod: Record<string, unknown>;
    try {
      mod = (await import(specifier.startsWith('/') ? pathToFileURL(specifier).href : specifier)) as Record<string, unknown>;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        throw this.unknown(slot, provider, '');
      }
      throw new VoicebotError('VB_ERR_PLUGIN_LOAD', { provider, from: 'npm', detail: (e as Error).message }, { cause: e });
    }
    return await this.pick(slot, provider, provider, mod);
  }

  private async importModule(slot: SlotName, provider: string, href: string, from: string, configDir: string): Promise<Record<string, unknown>> {
    try {
      return await importMaybeTs(href, from, configDir);
    } catch (e) {
      if (e instanceof VoicebotError) throw e;
      throw new VoicebotError('VB_ERR_PLUGIN_LOAD', { provider, slot, from, detail: (e as Error).message }, { cause: e });
    }
  }

  private async pick(slot: SlotName, provider: string, _from: string, mod: Record<string, unknown>): Promise<AnyPluginManifest> {
    const m = (await manifestsOf(mod)).find((x) => x.slot === slot);
    if (!m) throw new VoicebotError('VB_ERR_PLUGIN_MANIFEST', { provider, slot });
    // A plugin's own codes join the one registry before it can throw them.
    if (m.errors) registerErrors(m.errors);
    return m;
  }

  private unknown(slot: SlotName, provider: string, extra: string): VoicebotError {
    const available = this.available(slot);
    const guess = closest(provider, available);
    const hint = (guess ? ` Did you mean "${guess}"?` : '') + extra;
    return new VoicebotError('VB_ERR_CONFIG_UNKNOWN_PROVIDER', {
      slot,
      provider,
      hint,
      available: available.join(', ') || '(none)',
    });
  }
}

/** Levenshtein-nearest candidate within a third of the word's length. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.ceil(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

export function levenshtein(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

let defaultBuiltins: readonly BuiltinEntry[] = [];

/**
 * The composition root (entry/builtins.ts, imported by the `voicebot` bin and
 * package entries) hands the built-in providers to the core here; the core
 * itself never imports plugins/.
 */
export function setDefaultBuiltins(builtins: readonly BuiltinEntry[]): void {
  defaultBuiltins = builtins;
}

/** The registry with every built-in provider the composition root registered. */
export function createDefaultRegistry(): PluginRegistry {
  return new PluginRegistry(defaultBuiltins);
}
