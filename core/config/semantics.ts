import { existsSync, readFileSync } from 'node:fs';
import { decodeWav } from '../audio/wav.js';
import { resolve } from 'node:path';
import { closest } from '../plugins/registry.js';
import { regexProblem } from '../flow/regex.js';
import type { ErrorCode } from '../errors/registry.js';
import type { ErrorParams } from '../errors/voicebot-error.js';
import { kindsOf, qualify } from './normalize.js';
import type { Step, VoicebotConfig } from './types.js';
import type { Path } from './yaml-doc.js';

type Raw = Record<string, any>;

export interface SemanticProblem {
  path: Path;
  /** Point at the key rather than the value. */
  atKey?: boolean;
  code: ErrorCode;
  params: ErrorParams;
}

interface TargetRef {
  path: Path;
  value: string;
  flow: string;
  field: string;
}

const HANDLER_KEYS = ['error', 'hangup', 'noInput', 'machine', 'human', 'unknown'];

function handlerRefs(h: Raw | undefined, path: Path, flow: string, out: TargetRef[]): void {
  if (!h || typeof h !== 'object') return;
  for (const k of HANDLER_KEYS) if (typeof h[k] === 'string') out.push({ path: [...path, k], value: h[k], flow, field: `on.${k}` });
  if (h.dtmf && typeof h.dtmf === 'object') {
    for (const [d, t] of Object.entries(h.dtmf)) if (typeof t === 'string') out.push({ path: [...path, 'dtmf', d], value: t, flow, field: `hotkey ${d}` });
  }
}

/** Every place in the raw config that names a step. */
export function targetRefs(raw: Raw): TargetRef[] {
  const out: TargetRef[] = [];
  const flows: Raw = raw.flows ?? {};
  const first = Object.keys(flows)[0];
  handlerRefs(raw.on, ['on'], first, out);
  for (const [f, flow] of Object.entries(flows)) {
    if (!flow || typeof flow !== 'object') continue;
    if (typeof flow.start === 'string') out.push({ path: ['flows', f, 'start'], value: flow.start, flow: f, field: 'start' });
    handlerRefs(flow.on, ['flows', f, 'on'], f, out);
    for (const [s, st] of Object.entries((flow.steps ?? {}) as Raw)) {
      if (!st || typeof st !== 'object') continue;
      const P: Path = ['flows', f, 'steps', s];
      const add = (p: Path, v: unknown, field: string): void => {
        if (typeof v === 'string') out.push({ path: p, value: v, flow: f, field });
      };
      add([...P, 'next'], st.next, 'next');
      handlerRefs(st.on, [...P, 'on'], f, out);
      for (const k of ['else', 'exhausted', 'onError', 'onFail']) add([...P, k], st[k], k);
      if (st.listen && typeof st.listen === 'object') for (const k of ['else', 'exhausted']) add([...P, 'listen', k], st.listen[k], k);
      const routes = (st.routes ?? st.listen?.routes) as Raw[] | undefined;
      const routesPath = st.routes ? [...P, 'routes'] : [...P, 'listen', 'routes'];
      if (Array.isArray(routes)) routes.forEach((r, i) => add([...routesPath, i, 'goto'], r?.goto, 'route goto'));
      if (Array.isArray(st.llm?.exits)) (st.llm.exits as Raw[]).forEach((e, i) => add([...P, 'llm', 'exits', i, 'goto'], e?.goto, 'exit goto'));
      if (Array.isArray(st.branch)) (st.branch as Raw[]).forEach((c, i) => add([...P, 'branch', i, 'goto'], c?.goto, 'branch goto'));
      add([...P, 'goto'], st.goto, 'goto');
    }
  }
  return out;
}

function stepExists(raw: Raw, q: string): boolean {
  const [f, s] = q.split('.', 2);
  return !!raw.flows?.[f]?.steps && Object.prototype.hasOwnProperty.call(raw.flows[f].steps, s);
}

function allStepNames(raw: Raw, flow: string): string[] {
  const out: string[] = [];
  for (const [f, fl] of Object.entries((raw.flows ?? {}) as Raw)) for (const s of Object.keys(fl?.steps ?? {})) out.push(f === flow ? s : `${f}.${s}`);
  return out;
}

/** Edges of the step graph (without handlers), from the normalized config. */
function edges(step: Step): string[] {
  const out: string[] = [];
  const push = (t: string | undefined): void => {
    if (t) out.push(t);
  };
  push(step.next);
  switch (step.kind) {
    case 'listen':
      step.routes.forEach((r) => push(r.goto));
      push(step.else);
      push(step.exhausted);
      break;
    case 'llm':
      step.exits.forEach((e) => push(e.goto));
      break;
    case 'branch':
      step.cases.forEach((c) => push(c.goto));
      push(step.else);
      break;
    case 'goto':
      push(step.target);
      break;
    case 'http':
      push(step.onError);
      break;
    case 'transfer':
    case 'dial':
      push(step.onFail);
      break;
  }
  return out;
}

function handlerTargets(h: { dtmf?: Record<string, string>; error?: string; hangup?: string; noInput?: string; machine?: string; human?: string; unknown?: string }): string[] {
  return [...Object.values(h.dtmf ?? {}), h.error, h.hangup, h.noInput, h.machine, h.human, h.unknown].filter((x): x is string => !!x);
}

const TEMPLATE = /\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*(?:\|\s*raw\s*)?\}\}/g;

function strings(v: unknown, path: Path, out: { path: Path; text: string }[]): void {
  if (typeof v === 'string') out.push({ path, text: v });
  else if (Array.isArray(v)) v.forEach((x, i) => strings(x, [...path, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) strings(x, [...path, k], out);
}

/** Flow-level checks that need the whole config: targets, reachability, cycles, slots, tools, templates. */
export function checkSemantics(raw: Raw, config: VoicebotConfig): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const flows: Raw = raw.flows ?? {};

  // Targets
  for (const ref of targetRefs(raw)) {
    const q = qualify(ref.flow, ref.value, flows);
    if (!stepExists(raw, q)) {
      const guess = closest(ref.value, allStepNames(raw, ref.flow));
      problems.push({ path: ref.path, code: 'VB_ERR_CONFIG_TARGET', params: { field: ref.field, target: ref.value, flow: ref.flow, hint: guess ? ` Did you mean "${guess}"?` : '' } });
    }
  }
  (raw.routes ?? []).forEach((r: Raw, i: number) => {
    if (r && typeof r.flow === 'string' && !(r.flow in flows)) {
      const guess = closest(r.flow, Object.keys(flows));
      problems.push({ path: ['routes', i, 'flow'], code: 'VB_ERR_CONFIG_FLOW', params: { detail: `Route to unknown flow "${r.flow}".${guess ? ` Did you mean "${guess}"?` : ''} Use a name under flows:.` } });
    }
  });

  // Reachability (warnings) and cycles that never wait for the caller (errors).
  const all = new Map<string, Step>();
  for (const f of Object.values(config.flows)) for (const s of Object.values(f.steps)) all.set(`${f.name}.${s.name}`, s);
  const roots = new Set<string>(handlerTargets(config.on));
  for (const f of Object.values(config.flows)) {
    // With a broken start (reported above), the first step stands in so the rest is not all "unreachable".
    roots.add(all.has(f.start) ? f.start : `${f.name}.${Object.keys(flows[f.name]?.steps ?? {})[0]}`);
    handlerTargets(f.on).forEach((t) => roots.add(t));
    for (const s of Object.values(f.steps)) handlerTargets(s.on).forEach((t) => roots.add(t));
  }
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const q = stack.pop()!;
    if (seen.has(q)) continue;
    seen.add(q);
    const s = all.get(q);
    if (s) stack.push(...edges(s));
    else if (stepExists(raw, q)) {
      // A step with a kind error is reported on its own; assume it falls through
      // so its successors are not reported as unreachable too.
      const [f, name] = q.split('.', 2);
      const names = Object.keys(flows[f].steps);
      const nextName = names[names.indexOf(name) + 1];
      if (nextName) stack.push(`${f}.${nextName}`);
    }
  }
  for (const [q, s] of all) {
    if (!seen.has(q)) problems.push({ path: ['flows', s.flow, 'steps', s.name], atKey: true, code: 'VB_WARN_UNREACHABLE_STEP', params: { step: s.name, flow: s.flow } });
  }
  for (const cycle of silentCycles(all)) {
    const first = all.get(cycle[0])!;
    problems.push({
      path: ['flows', first.flow, 'steps', first.name],
      atKey: true,
      code: 'VB_ERR_CONFIG_FLOW',
      params: { detail: `Steps ${[...cycle, cycle[0]].join(' → ')} loop forever without waiting for the caller. Put a listen or llm step in the loop, or end it.` },
    });
  }

  // Slots a step needs, tools, templates
  const has = (slot: keyof VoicebotConfig['plugins']): boolean => !!config.plugins[slot]?.length;
  const known = new Set<string>([...Object.keys(config.vars), 'call', 'vars']);
  for (const f of Object.values(config.flows))
    for (const s of Object.values(f.steps)) {
      if (s.kind === 'listen' && s.save) known.add(s.save);
      if (s.kind === 'http' && s.save) known.add(s.save);
      if (s.kind === 'dial' && s.save) known.add(s.save);
      if (s.kind === 'set') Object.keys(s.values).forEach((k) => known.add(k));
    }
  for (const f of Object.values(config.flows))
    for (const s of Object.values(f.steps)) {
      const P: Path = ['flows', f.name, 'steps', s.name];
      const need = (slot: 'stt' | 'llm' | 'tts', what: string): void => {
        if (!has(slot)) problems.push({ path: P, atKey: true, code: 'VB_ERR_CONFIG_MISSING_SLOT', params: { slot, detail: `Step "${s.name}" (${what})` } });
      };
      const speaks =
        s.kind === 'say' || s.kind === 'llm' || (s.kind === 'listen' && (s.prompt || s.noInput.length || s.noMatch.length)) || (s.kind === 'hangup' && s.text) || (s.kind === 'transfer' && s.announce);
      if (speaks) need('tts', `${s.kind} speaks`);
      if (s.kind === 'listen' && s.input.includes('speech')) need('stt', 'listen for speech');
      if (s.kind === 'listen' && s.routes.some((r) => r.intent)) need('llm', 'intent routes');
      if (s.kind === 'llm') {
        need('llm', 'llm step');
        need('stt', 'llm conversation');
        s.tools.forEach((t, i) => {
          if (!config.tools[t]) {
            const guess = closest(t, Object.keys(config.tools));
            problems.push({ path: [...P, 'llm', 'tools', i], code: 'VB_ERR_CONFIG_TOOL', params: { detail: `Unknown tool "${t}".${guess ? ` Did you mean "${guess}"?` : ''} Define it under tools:.` } });
          }
        });
        s.exits.forEach((e, i) => {
          if (e.tool && !s.tools.includes(e.tool)) {
            problems.push({ path: [...P, 'llm', 'exits', i, 'tool'], code: 'VB_ERR_CONFIG_TOOL', params: { detail: `Exit on tool "${e.tool}", which is not in this step's tools (${s.tools.join(', ') || 'none'}). Add it to llm.tools.` } });
          }
          if (e.intent) need('llm', 'intent exits');
        });
      }
    }
  problems.push(...stepShapeProblems(raw, config));
  problems.push(...fleetProblems(config));
  for (const [name, t] of Object.entries((raw.tools ?? {}) as Raw)) {
    if (!t || typeof t !== 'object') continue;
    if (!!t.http === !!t.handler) {
      problems.push({ path: ['tools', name], atKey: true, code: 'VB_ERR_CONFIG_TOOL', params: { detail: `Tool "${name}" needs exactly one of http or handler.` } });
    } else if (typeof t.handler === 'string') {
      const file = resolve(config.source.dir, t.handler.split('#')[0]);
      if (!existsSync(file)) problems.push({ path: ['tools', name, 'handler'], code: 'VB_ERR_CONFIG_TOOL', params: { detail: `Handler file ${file} does not exist.` } });
    }
  }
  const texts: { path: Path; text: string }[] = [];
  strings(raw.flows, ['flows'], texts);
  strings(raw.vars, ['vars'], texts);
  strings(raw.tools, ['tools'], texts);
  for (const { path, text } of texts) {
    for (const m of text.matchAll(TEMPLATE)) {
      const parts = m[1].split('.');
      const root = parts[0];
      let ok = known.has(root);
      // A tool's arguments exist only while its http request is built.
      if (root === 'args') ok = path[0] === 'tools' && parts.length > 1;
      if (root === 'tools') ok = parts.length > 1 && parts[1] in config.tools;
      if (root === 'vars') ok = parts.length > 1 && known.has(parts[1]);
      if (root === 'call') ok = parts.length === 2 && ['id', 'from', 'to', 'direction'].includes(parts[1]);
      if (!ok) problems.push({ path, code: 'VB_WARN_TEMPLATE_UNKNOWN', params: { name: m[1] } });
    }
  }
  return problems;
}

/**
 * Per-step shape rules the schema cannot express: regexes that compile,
 * routes and branch cases that test something, llm exits that can be taken,
 * play files that exist.
 */
function stepShapeProblems(raw: Raw, config: VoicebotConfig): SemanticProblem[] {
  const out: SemanticProblem[] = [];
  const flowProblem = (path: Path, detail: string): void => {
    out.push({ path, code: 'VB_ERR_CONFIG_FLOW', params: { detail } });
  };
  for (const f of Object.values(config.flows))
    for (const s of Object.values(f.steps)) {
      const P: Path = ['flows', f.name, 'steps', s.name];
      const rawStep: Raw = raw.flows?.[f.name]?.steps?.[s.name] ?? {};
      if (s.kind === 'listen') {
        const routesPath: Path = Array.isArray(rawStep.listen?.routes) ? [...P, 'listen', 'routes'] : [...P, 'routes'];
        s.routes.forEach((r, i) => {
          const how = (['dtmf', 'regex', 'equals', 'intent'] as const).filter((k) => r[k] !== undefined);
          if (how.length === 0) flowProblem([...routesPath, i], `Route ${i + 1} of step "${s.name}" tests nothing; give it one of dtmf, regex, equals, intent (use else: for any other input).`);
          const bad = r.regex !== undefined ? regexProblem(r.regex) : undefined;
          if (bad) flowProblem([...routesPath, i, 'regex'], `Invalid regex in step "${s.name}": ${bad}.`);
          if (r.dtmf !== undefined && !s.input.includes('dtmf')) flowProblem([...routesPath, i, 'dtmf'], `Route ${i + 1} of step "${s.name}" waits for keys, but the step's input is only ${s.input.join(', ')}. Add dtmf to listen.input.`);
        });
      }
      if (s.kind === 'branch') {
        s.cases.forEach((c, i) => {
          if (c.equals === undefined && c.in === undefined && c.matches === undefined && c.exists === undefined) {
            flowProblem([...P, 'branch', i], `Branch case ${i + 1} of step "${s.name}" has no condition; give it one of equals, in, matches, exists.`);
          }
          const bad = c.matches !== undefined ? regexProblem(c.matches) : undefined;
          if (bad) flowProblem([...P, 'branch', i, 'matches'], `Invalid regex in step "${s.name}": ${bad}.`);
        });
      }
      if (s.kind === 'llm') {
        s.exits.forEach((e, i) => {
          if (e.tool === undefined && !e.maxTurns && e.intent === undefined) {
            flowProblem([...P, 'llm', 'exits', i], `Exit ${i + 1} of step "${s.name}" has no condition; give it one of tool, maxTurns: true, intent.`);
          }
          if (e.maxTurns && s.maxTurns === undefined) {
            flowProblem([...P, 'llm', 'exits', i, 'maxTurns'], `Exit on maxTurns in step "${s.name}", which has no llm.maxTurns; set maxTurns or remove the exit.`);
          }
        });
        // After maxTurns the step goes to its exit, else to its next step; with neither the call just ends.
        if (s.maxTurns !== undefined && !s.exits.some((e) => e.maxTurns) && s.next === undefined) {
          out.push({ path: [...P, 'llm', 'maxTurns'], atKey: true, code: 'VB_WARN_LLM_MAX_TURNS_END', params: { step: s.name, maxTurns: s.maxTurns } });
        }
      }
      if (s.kind === 'play') {
        if (!s.file === !s.url) flowProblem([...P, 'play'], `Step "${s.name}" plays ${s.file ? 'both a file and a url' : 'nothing'}; give play exactly one of file, url.`);
        else if (s.file && !s.file.includes('{{')) {
          const file = resolve(config.source.dir, s.file);
          if (!existsSync(file)) flowProblem([...P, 'play', 'file'], `Audio file ${file} does not exist (relative paths start at the config's directory).`);
        }
      }
    }
  return out;
}

/** settings.fleet.noWorker.play is read when no worker is left: a missing or unreadable file must show at load, not then. */
function fleetProblems(config: VoicebotConfig): SemanticProblem[] {
  const file = config.settings.fleet.noWorker?.play;
  if (!file) return [];
  const at: Path = ['settings', 'fleet', 'noWorker', 'play'];
  if (!existsSync(file)) return [{ path: at, code: 'VB_ERR_CONFIG_AUDIO_FILE', params: { file, detail: 'does not exist' } }];
  try {
    decodeWav(readFileSync(file));
  } catch (e) {
    return [{ path: at, code: 'VB_ERR_CONFIG_AUDIO_FILE', params: { file, detail: `cannot be played (${(e as Error).message})` } }];
  }
  return [];
}

/** Strongly connected components (Tarjan) in which no step waits for the caller. */
function silentCycles(all: Map<string, Step>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const on = new Set<string>();
  const st: string[] = [];
  const out: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    st.push(v);
    on.add(v);
    for (const w of edges(all.get(v)!)) {
      if (!all.has(w)) continue;
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = st.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      const selfLoop = comp.length === 1 && edges(all.get(v)!).includes(v);
      if ((comp.length > 1 || selfLoop) && !comp.some((q) => ['listen', 'llm'].includes(all.get(q)!.kind))) {
        const order = [...all.keys()];
        comp.sort((a, b) => order.indexOf(a) - order.indexOf(b));
        out.push(comp);
      }
    }
  };
  for (const v of all.keys()) if (!idx.has(v)) strong(v);
  return out;
}

export { kindsOf };
