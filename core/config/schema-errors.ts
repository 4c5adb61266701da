import type { ErrorObject } from './ajv.js';
import { closest } from '../plugins/registry.js';
import type { Path } from './yaml-doc.js';

/** One readable problem derived from ajv errors, still without a position. */
export interface SchemaProblem {
  kind: 'unknown-key' | 'duration' | 'schema';
  /** Where to point: the offending key (unknown-key) or value. */
  path: Path;
  key?: string;
  hint?: string;
  detail: string;
  value?: unknown;
  /** Point at the key of `path` (a missing required key is reported on its parent's key). */
  atKey?: boolean;
}

export function pointerToPath(ptr: string): Path {
  if (!ptr) return [];
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function pathLabel(path: Path): string {
  return path.length ? path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[') : 'the top level';
}

function describeSchemaType(e: ErrorObject): string {
  switch (e.keyword) {
    case 'type':
      return `must be ${String(e.params.type).replace(/,/g, ' or ')}`;
    case 'enum':
      return `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(e.params.allowedValue)}`;
    case 'required':
      return `is missing the required key "${e.params.missingProperty}"`;
    case 'anyOf':
    case 'oneOf':
      return `has the wrong shape (${e.parentSchema && typeof e.parentSchema === 'object' && 'description' in e.parentSchema ? String((e.parentSchema as { description: string }).description) : 'see the config reference'})`;
    default:
      return e.message ?? 'is invalid';
  }
}

/**
 * ajv reports one error per failed keyword, and every branch of an anyOf;
 * keep what a person needs: unknown keys with did-you-mean, bad durations,
 * and one line per other problem.
 */
export function schemaProblems(errors: readonly ErrorObject[], base: Path = []): SchemaProblem[] {
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.schemaPath.replace(/\/(anyOf|oneOf)$/, '/$1/'));
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  const add = (p: SchemaProblem): void => {
    const k = `${p.kind}|${pathLabel(p.path)}|${p.detail}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push(p);
  };
  for (const e of errors) {
    if (anyOfPaths.some((p) => e.schemaPath.startsWith(p))) continue;
    const branch = e.keyword === 'anyOf' || e.keyword === 'oneOf' ? matchingBranch(errors, e) : undefined;
    if (branch) {
      for (const p of schemaProblems(branch, base)) add(p);
      continue;
    }
    const path = [...base, ...pointerToPath(e.instancePath)];
    let p: SchemaProblem;
    if (e.keyword === 'additionalProperties') {
      const key = String(e.params.additionalProperty);
      const allowed = Object.keys(((e.parentSchema as { properties?: object }) ?? {}).properties ?? {});
      const guess = closest(key, allowed);
      p = { kind: 'unknown-key', path: [...path, key], key, hint: guess ? ` Did you mean "${guess}"?` : '', detail: pathLabel(path) };
    } else if (e.keyword === 'duration') {
      p = { kind: 'duration', path, detail: '', value: e.data };
    } else if (e.keyword === 'required') {
      p = { kind: 'schema', path, detail: `"${pathLabel(path)}" ${describeSchemaType(e)}`, atKey: true };
    } else {
      p = { kind: 'schema', path, detail: `"${pathLabel(path)}" ${describeSchemaType(e)}` };
    }
    add(p);
  }
  return out;
}

/**
 * The errors of the one anyOf/oneOf branch whose type fits the value (the
 * object form of `transfer: "+1…" | { to, mode }` for a mapping), so the
 * message names the bad key and its allowed values instead of "wrong shape".
 * Undefined when no single branch fits.
 */
function matchingBranch(errors: readonly ErrorObject[], e: ErrorObject): ErrorObject[] | undefined {
  const prefix = `${e.schemaPath}/`;
  const byBranch = new Map<string, ErrorObject[]>();
  for (const x of errors) {
    if (!x.schemaPath.startsWith(prefix)) continue;
    const i = x.schemaPath.slice(prefix.length).split('/')[0];
    byBranch.set(i, [...(byBranch.get(i) ?? []), x]);
  }
  const fitting = [...byBranch.values()].filter((errs) => !errs.some((x) => x.keyword === 'type' && x.instancePath === e.instancePath));
  return fitting.length === 1 ? fitting[0] : undefined;
}
