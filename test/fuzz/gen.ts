/**
 * A tiny seeded generator for structure-aware fuzz tests: it starts from a
 * valid message and breaks it the way hostile or buggy peers do (dropped or
 * duplicated fields, wrong types, huge strings, deep nesting, truncation,
 * random bytes). Same seed, same cases: a failure names its seed and index.
 *
 * VOICEBOT_FUZZ_ITERATIONS scales every fuzz test (default: the small budget
 * each test names, so `npm test` stays quick); VOICEBOT_FUZZ_SEED picks
 * another sequence.
 */

export interface Gen {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  bytes(n: number): Buffer;
  /** A short string of printable, control or non-ASCII characters. */
  str(max?: number): string;
}

/** mulberry32: small, fast, good enough to spread fuzz cases. */
export function gen(seed: number): Gen {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\r', '\t', '\0', '{', '}', '[', ':', ',', 'é', '€', '😀', '\u202e', '\ud800', '%', '<', '>', ';', '='];
  return {
    next,
    int,
    pick: (items) => items[int(items.length)],
    chance: (p) => next() < p,
    bytes: (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = int(256);
      return b;
    },
    str: (max = 12) => Array.from({ length: int(max + 1) }, () => CHARS[int(CHARS.length)]).join(''),
  };
}

export const FUZZ_SEED = Number(process.env.VOICEBOT_FUZZ_SEED ?? 20261201);

/** The iteration budget: `base` in `npm test`, VOICEBOT_FUZZ_ITERATIONS when set. */
export function iterations(base: number): number {
  const n = Number(process.env.VOICEBOT_FUZZ_ITERATIONS);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : base;
}

/** A value of some JSON type, often the wrong one for the field it replaces. */
export function anyValue(g: Gen, depth = 0): unknown {
  switch (g.int(depth > 2 ? 7 : 9)) {
    case 0:
      return null;
    case 1:
      return g.pick([0, -1, 1, 1.5, 1e308, -0, 2 ** 53, 16000, 8000, 48000]);
    case 2:
      return g.str();
    case 3:
      return g.chance(0.5);
    case 4:
      return 'x'.repeat(g.pick([256, 4096, 70_000]));
    case 5:
      return '';
    case 6:
      return g.pick(['hello', 'say', 'dtmf', 'start', 'stop', '__proto__', 'constructor', 'NaN']);
    case 7:
      return [anyValue(g, depth + 1), anyValue(g, depth + 1)];
    default:
      return { [g.pick(['type', 'a', '__proto__', ''])]: anyValue(g, depth + 1) };
  }
}

/** A structural mutation of `valid` (an object): fields dropped, retyped, added, nested. */
export function mutateValue(g: Gen, valid: Record<string, unknown>): unknown {
  const v: Record<string, unknown> = structuredClone(valid);
  const keys = Object.keys(v);
  const rounds = 1 + g.int(3);
  for (let i = 0; i < rounds; i++) {
    const k = keys.length ? g.pick(keys) : 'type';
    switch (g.int(7)) {
      case 0:
        delete v[k];
        break;
      case 1:
        v[k] = anyValue(g);
        break;
      case 2:
        v[g.str(6) || 'extra'] = anyValue(g);
        break;
      case 3:
        v[k] = deep(g.pick([10, 200, 1000]));
        break;
      case 4:
        v[k] = typeof v[k] === 'string' ? (v[k] as string) + g.str(4) : String(v[k]);
        break;
      case 5:
        if (Array.isArray(v[k])) v[k] = [...(v[k] as unknown[]), anyValue(g), ...(v[k] as unknown[])];
        else v[k] = [v[k]];
        break;
      default:
        return g.pick([null, 0, 'str', true, [], [v], anyValue(g)]);
    }
  }
  return v;
}

function deep(n: number): unknown {
  let x: unknown = 1;
  for (let i = 0; i < n; i++) x = i % 2 ? [x] : { a: x };
  return x;
}

/** Text-level damage to a serialized message: truncation, duplicated keys, junk bytes, deep raw nesting. */
export function mutateText(g: Gen, text: string): string {
  switch (g.int(6)) {
    case 0:
      return text.slice(0, g.int(text.length + 1));
    case 1: {
      // JSON.stringify cannot produce duplicate keys; the wire can.
      const m = /^\{("[^"]*":[^,}]*)/.exec(text);
      return m ? `{${m[1]},${text.slice(1)}` : text + text;
    }
    case 2: {
      const at = g.int(text.length + 1);
      return text.slice(0, at) + g.str(8) + text.slice(at);
    }
    case 3:
      return '['.repeat(g.pick([100, 10_000, 100_000])) + ']'.repeat(g.int(2) ? 0 : 100);
    case 4:
      return text.replace(/[0-9]/g, () => g.pick(['1e999', '-', '0x10', 'NaN', '9'.repeat(400)]));
    default:
      return g.pick(['', ' ', 'null', 'undefined', '{', '}', '"', text.toUpperCase()]);
  }
}

/** One fuzz input for a JSON text protocol: mostly structure-aware, sometimes raw text or bytes. */
export function fuzzJson(g: Gen, valid: Record<string, unknown>): string | Buffer {
  const r = g.next();
  if (r < 0.6) return JSON.stringify(mutateValue(g, valid)) ?? 'null';
  if (r < 0.9) return mutateText(g, JSON.stringify(valid));
  return g.bytes(g.pick([0, 1, 7, 640, 4096]));
}

/** Line-level damage to a text protocol (SIP, HTTP-like): lines dropped, doubled, split, bloated, reordered. */
export function mutateLines(g: Gen, text: string, eol = '\r\n'): string {
  const lines = text.split(eol);
  const rounds = 1 + g.int(3);
  for (let r = 0; r < rounds; r++) {
    const i = g.int(lines.length);
    switch (g.int(8)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[i] ?? '');
        break;
      case 2:
        lines[i] = (lines[i] ?? '').replace(': ', g.pick([':', ' ', '', ': : ']));
        break;
      case 3:
        lines[i] = (lines[i] ?? '') + 'x'.repeat(g.pick([100, 10_000, 60_000]));
        break;
      case 4:
        lines[i] = g.str(20);
        break;
      case 5:
        lines[i] = (lines[i] ?? '').slice(0, g.int((lines[i] ?? '').length + 1));
        break;
      case 6: {
        const j = g.int(lines.length);
        [lines[i], lines[j]] = [lines[j], lines[i]];
        break;
      }
      default:
        lines.splice(i, 0, `${g.pick(['Call-Id', 'CSeq', 'To', 'From', 'Via', 'P-rc', 'Content-Length', 'p-rc-api-ids', 'X'])}: ${g.str(16)}`);
    }
  }
  return g.chance(0.1) ? lines.join('\n') : lines.join(eol);
}
