import { isMap, isPair, isScalar, isSeq } from 'yaml';
import type { YamlSource } from './yaml-doc.js';

export interface EnvProblem {
  name: string;
  message?: string;
  offset: number;
}

const RE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}/g;

/**
 * Docker-Compose style interpolation in scalar VALUES only (never keys):
 * ${V}, ${V:-default}, ${V-default}, ${V:?message}, and $$ for a literal $.
 * Rewrites the nodes in place so positions stay right; returns every unset
 * variable, and the paths of values that came from the environment.
 */
export function interpolateEnv(src: YamlSource, env: NodeJS.ProcessEnv): { problems: EnvProblem[]; fromEnv: Set<string> } {
  const problems: EnvProblem[] = [];
  const fromEnv = new Set<string>();
  const visit = (n: unknown, path: string): void => {
    if (isMap(n)) {
      for (const p of n.items) visit(p.value, `${path}.${isScalar(p.key) ? String(p.key.value) : '?'}`);
    } else if (isSeq(n)) n.items.forEach((x, i) => visit(x, `${path}.${i}`));
    else if (isPair(n)) visit(n.value, path);
    else if (isScalar(n) && typeof n.value === 'string' && n.value.includes('$')) {
      let usedEnv = false;
      const offset = n.range?.[0] ?? 0;
      n.value = n.value.replace(RE, (all, name?: string, defOp?: string, def?: string, errOp?: string, msg?: string) => {
        if (all === '$$') return '$';
        const v = env[name!];
        const unsetOrEmpty = (op: string | undefined): boolean => (op?.startsWith(':') ? v === undefined || v === '' : v === undefined);
        if (defOp) {
          if (unsetOrEmpty(defOp)) return def ?? '';
          usedEnv = true;
          return v!;
        }
        if (errOp) {
          if (unsetOrEmpty(errOp)) {
            problems.push({ name: name!, message: msg || undefined, offset });
            return '';
          }
          usedEnv = true;
          return v!;
        }
        if (v === undefined) {
          problems.push({ name: name!, offset });
          return '';
        }
        usedEnv = true;
        return v;
      });
      if (usedEnv) fromEnv.add(path.slice(1));
    }
  };
  visit(src.doc.contents, '');
  return { problems, fromEnv };
}
