/**
 * A small seeded generator for structure-aware fuzzing of YAML inputs
 * (configs, scenario files): mutations of a parsed document (drop keys,
 * scalars for maps, wrong types, nulls, deep nesting, huge strings) and of
 * its text (broken YAML, aliases, odd characters). Deterministic per seed.
 */
import { stringify } from 'yaml';

export type Rng = () => number;

/** mulberry32: tiny, fast, good enough to pick mutations. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const int = (r: Rng, n: number): number => Math.floor(r() * n);
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];

/** Iterations per fuzz test: small in `npm test`, more with VOICEBOT_FUZZ_ITERATIONS. */
export function iterations(defaultCount: number): number {
  const n = Number(process.env.VOICEBOT_FUZZ_ITERATIONS);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : defaultCount;
}

/** Seed: fixed by default (reproducible), overridable with VOICEBOT_FUZZ_SEED. */
export function seed(defaultSeed: number): number {
  const n = Number(process.env.VOICEBOT_FUZZ_SEED);
  return Number.isFinite(n) ? n : defaultSeed;
}

type Path = (string | number)[];

function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (out.length > 2000) return out;
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function nest(depth: number, leaf: unknown, r: Rng): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = r() < 0.5 ? { [pick(r, ['steps', 'flows', 'a', 'on', 'listen'])]: v } : [v];
  return v;
}

const STRINGS = ['', ' ', '{{', '}}', '{{x}}', '{{ call.from }}', '{{a|raw}}', '${HOME}', '${UNSET_VAR:?boom}', '$$', '../../etc/passwd', '/etc/passwd', 'null', '~', 'yes', '0x1F', '1e999', '-', '?', '#', '\u0000', '\ud800', 'é', '🙂', '(?i)(a+)+$', '[', '*', 'main.nope', 'flow.step.extra'];

function randomValue(r: Rng): unknown {
  switch (int(r, 12)) {
    case 0:
      return null;
    case 1:
      return pick(r, STRINGS);
    case 2:
      return int(r, 3) === 0 ? -1 : r() * 1e6;
    case 3:
      return r() < 0.5;
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return nest(1 + int(r, 120), pick(r, [null, 'x', 1, {}]), r);
    case 7:
      return 'x'.repeat(1 + int(r, 20_000));
    case 8:
      return [pick(r, STRINGS), null, { goto: pick(r, STRINGS) }];
    case 9:
      return { say: pick(r, STRINGS), next: pick(r, STRINGS) };
    case 10:
      return Number.MAX_SAFE_INTEGER;
    default:
      return { [pick(r, ['say', 'listen', 'llm', 'goto', 'http', 'play', 'branch', 'hangup', 'provider'])]: randomValue(r) };
  }
}

function getAt(root: unknown, p: Path): unknown {
  let v = root as Record<string | number, unknown>;
  for (const s of p) v = v?.[s] as Record<string | number, unknown>;
  return v;
}

/** One structural mutation, in place; returns the (possibly new) root. */
function mutateOnce(root: unknown, r: Rng): unknown {
  const ps = paths(root);
  const p = pick(r, ps);
  if (p.length === 0) return r() < 0.2 ? randomValue(r) : root;
  const parent = getAt(root, p.slice(0, -1)) as Record<string | number, unknown>;
  const key = p[p.length - 1];
  switch (int(r, 6)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 1: {
      // Rename: a near-miss of the key (dropped character), keeping the value.
      if (!Array.isArray(parent) && typeof key === 'string' && key.length > 1) {
        const i = int(r, key.length);
        parent[key.slice(0, i) + key.slice(i + 1)] = parent[key];
        delete parent[key];
      }
      break;
    }
    case 2:
      // Copy a sibling's value here (a step where a flow goes, a list where a map goes…).
      parent[key] = structuredClone(getAt(root, pick(r, ps)) ?? null);
      break;
    default:
      parent[key] = randomValue(r);
  }
  return root;
}

export function mutateValue(v: unknown, r: Rng): unknown {
  let root = structuredClone(v);
  const n = 1 + int(r, 3);
  for (let i = 0; i < n; i++) root = mutateOnce(root, r);
  return root;
}

const JUNK = [':', ': ', '{', '}', '[', ']', '&a ', '*a', '*b', '!!binary ', '!tag ', '|', '>', "'", '"', '%YAML 1.2\n', '---\n', '...\n', '\t', '\n', '  ', '- ', '? ', '@', '`', '\u0000', '\r', '#'];

/** One text mutation: broken YAML in the ways people (and attackers) write it. */
export function mutateText(text: string, r: Rng): string {
  const at = int(r, text.length + 1);
  switch (int(r, 8)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + pick(r, JUNK) + text.slice(at);
    case 2: {
      const lines = text.split('\n');
      const i = int(r, lines.length);
      lines.splice(i, 0, lines[i] ?? '');
      return lines.join('\n');
    }
    case 3: {
      const lines = text.split('\n');
      const i = int(r, lines.length);
      lines[i] = (r() < 0.5 ? ' ' : '') + (lines[i] ?? '').replace(/^ {1,2}/, r() < 0.5 ? '' : '   ');
      return lines.join('\n');
    }
    case 4:
      // Alias bomb (billion laughs) appended as a var.
      return `${text}\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n${Array.from({ length: 8 }, (_, i) => `x${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]`).join('\n')}\n`;
    case 5:
      // Deep flow-collection nesting.
      return `${text}\ndeep: ${'['.repeat(1 + int(r, 1000))}${']'.repeat(int(r, 1000))}\n`;
    case 6:
      return text.slice(0, at) + text.slice(at + 1 + int(r, 40));
    default:
      return text.replace(/: /g, (m) => (r() < 0.05 ? ':' : m));
  }
}

/** A mutated document as YAML text. */
export function mutateYaml(value: unknown, text: string, r: Rng): string {
  if (r() < 0.35) return mutateText(text, r);
  const v = mutateValue(value, r);
  const out = stringify(v, { aliasDuplicateObjects: false, lineWidth: 0 });
  return r() < 0.2 ? mutateText(out, r) : out;
}
