import type { SchemaProblem } from './schema-errors.js';
import type { Path } from './yaml-doc.js';

type Raw = Record<string, any>;

/**
 * A copy of the raw config without the nodes the schema rejected, so that
 * normalize() and the semantic checks only ever see shapes they were written
 * for (a scalar where a flow map belongs, a null step…). Those nodes already
 * have their own coded diagnostic; checking them again would only crash or
 * repeat the message.
 *
 * - a rejected step becomes `{}`: a kindless step, which the later checks
 *   already treat as "reported on its own" (it exists as a target and falls
 *   through), so its neighbours get no spurious "unreachable" warnings;
 * - a rejected flow (or a rejected node directly under flows.NAME that the
 *   flow cannot do without) is dropped, and its name is returned so that
 *   references into it are not reported a second time;
 * - anything else is dropped at the exact path.
 */
export function pruneRejected(raw: Raw, problems: readonly { path: Path; atKey?: boolean; kind?: SchemaProblem['kind'] }[]): { raw: Raw; droppedFlows: Set<string> } {
  const out = structuredClone(raw) as Raw;
  const droppedFlows = new Set<string>();
  for (const p of problems) {
    const path = p.path;
    // A missing required key at the top (version, flows) leaves nothing to drop.
    if (path.length === 0) continue;
    if (path[0] === 'flows' && path.length >= 2) {
      const flow = String(path[1]);
      const flows = out.flows;
      if (!flows || typeof flows !== 'object' || !Object.hasOwn(flows, flow)) continue;
      if (path.length === 2 || (path[2] === 'steps' && path.length === 3)) {
        delete flows[flow];
        droppedFlows.add(flow);
        continue;
      }
      if (path[2] === 'steps' && path.length >= 4) {
        const steps = flows[flow]?.steps;
        if (steps && typeof steps === 'object' && Object.hasOwn(steps, String(path[3]))) steps[String(path[3])] = {};
        continue;
      }
    }
    removeAt(out, path);
  }
  return { raw: out, droppedFlows };
}

function removeAt(root: Raw, path: Path): void {
  let node: any = root;
  for (const seg of path.slice(0, -1)) {
    if (!node || typeof node !== 'object' || !Object.hasOwn(node, seg)) return;
    node = node[seg];
  }
  const last = path[path.length - 1];
  if (!node || typeof node !== 'object' || !Object.hasOwn(node, last)) return;
  // A hole in a list would shift or break every later item: drop the whole list.
  if (Array.isArray(node)) removeAt(root, path.slice(0, -1));
  else delete node[last];
}
