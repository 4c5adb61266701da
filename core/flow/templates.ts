import type { VoicebotConfig } from '../config/types.js';

/**
 * `{{name}}` templates. Resolved at run time against a call's scope:
 *   call.id / call.from / call.to     the call
 *   tools.NAME.field                  the last result of tool NAME
 *   args.field                        tool arguments (inside a tool's http spec)
 *   vars.NAME                         explicit: a saved/set value or config var
 *   NAME, NAME.path.to.field          saved/set values first, then config vars
 * Unknown names render as the empty string, never as an error: a caller must
 * not hear "undefined", and a typo is visible in the transcript.
 */

/** `raw`: the `{{name|raw}}` filter — inserted into a URL as is, not encoded (see url-template.ts). */
export type Part = string | { path: string[]; raw?: boolean };
export interface CompiledTemplate {
  parts: Part[];
  /** The template is exactly one placeholder: render() keeps the value's type. */
  single?: string[];
  /** No placeholders at all. */
  literal: boolean;
}

export interface TemplateScope {
  call: { id: string; from: string; to: string; direction: 'inbound' | 'outbound' };
  /** Values saved by listen/http steps and set steps. */
  vars: Record<string, unknown>;
  /** config.vars: may contain templates themselves. */
  configVars: Record<string, string>;
  tools: Record<string, unknown>;
  args?: Record<string, unknown>;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*(\|\s*raw\s*)?\}\}/g;

export function compileTemplate(src: string): CompiledTemplate {
  const parts: Part[] = [];
  let last = 0;
  for (const m of src.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push(src.slice(last, m.index));
    parts.push(m[2] ? { path: m[1].split('.'), raw: true } : { path: m[1].split('.') });
    last = m.index + m[0].length;
  }
  if (last < src.length) parts.push(src.slice(last));
  const only = parts.length === 1 ? parts[0] : undefined;
  return {
    parts,
    literal: parts.every((p) => typeof p === 'string'),
    ...(only !== undefined && typeof only !== 'string' ? { single: only.path } : {}),
  };
}

/**
 * Compiled templates are cached per config object: a config is frozen, so
 * its strings compile once for the life of the process instead of per call
 * or per render. Strings built at run time share the same cache.
 */
const caches = new WeakMap<object, Map<string, CompiledTemplate>>();
const fallbackCache = new Map<string, CompiledTemplate>();

export class Templates {
  private readonly cache: Map<string, CompiledTemplate>;

  constructor(config?: VoicebotConfig) {
    if (!config) {
      this.cache = fallbackCache;
      return;
    }
    let c = caches.get(config);
    if (!c) {
      c = new Map();
      caches.set(config, c);
    }
    this.cache = c;
  }

  compile(src: string): CompiledTemplate {
    let t = this.cache.get(src);
    if (!t) {
      t = compileTemplate(src);
      this.cache.set(src, t);
    }
    return t;
  }

  /** Render to a string (objects as JSON, unknown as ''). */
  render(src: string, scope: TemplateScope): string {
    const t = this.compile(src);
    if (t.literal) return src;
    let out = '';
    for (const p of t.parts) out += typeof p === 'string' ? p : stringify(this.lookup(p.path, scope, 0));
    return out;
  }

  /**
   * Render a value deeply: strings are templated, and a string that is exactly
   * one placeholder keeps its value's type (a number stays a number in a JSON
   * body, an object stays an object).
   */
  renderValue(v: unknown, scope: TemplateScope): unknown {
    if (typeof v === 'string') {
      const t = this.compile(v);
      if (t.single) {
        const val = this.lookup(t.single, scope, 0);
        return val === undefined ? '' : val;
      }
      return this.render(v, scope);
    }
    if (Array.isArray(v)) return v.map((x) => this.renderValue(x, scope));
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = this.renderValue(x, scope);
      return o;
    }
    return v;
  }

  /** Resolve a dotted name ("tools.book.id", "order.total") in a scope. */
  resolve(name: string, scope: TemplateScope): unknown {
    return this.lookup(name.split('.'), scope, 0);
  }

  private lookup(path: string[], scope: TemplateScope, depth: number): unknown {
    const [head, ...rest] = path;
    let base: unknown;
    switch (head) {
      case 'call':
        base = scope.call;
        break;
      case 'tools':
        base = scope.tools;
        break;
      case 'args':
        base = scope.args;
        break;
      case 'vars':
        return rest.length ? this.lookup(rest, scope, depth) : undefined;
      default:
        if (Object.prototype.hasOwnProperty.call(scope.vars, head)) base = scope.vars[head];
        else if (Object.prototype.hasOwnProperty.call(scope.configVars, head)) {
          // Config vars may reference call facts ("{{call.from}}"); bounded depth stops a var referencing itself.
          const raw = scope.configVars[head];
          base = depth < 4 && raw.includes('{{') ? this.renderDepth(raw, scope, depth + 1) : raw;
        }
    }
    return dig(base, rest);
  }

  private renderDepth(src: string, scope: TemplateScope, depth: number): string {
    const t = this.compile(src);
    let out = '';
    for (const p of t.parts) out += typeof p === 'string' ? p : stringify(this.lookup(p.path, scope, depth));
    return out;
  }
}

function dig(base: unknown, path: readonly string[]): unknown {
  let cur = base;
  for (const k of path) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof cur === 'string' && path.length) {
      // A saved JSON text (http response served as text/plain) can still be dug into.
      try {
        cur = JSON.parse(cur) as unknown;
      } catch {
        return undefined;
      }
    }
    if (typeof cur !== 'object') return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, k) ? (cur as Record<string, unknown>)[k] : undefined;
  }
  return cur;
}

export function stringify(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}
