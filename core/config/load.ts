import { readFile } from 'node:fs/promises';
import { visit } from 'yaml';
import { dirname, resolve } from 'node:path';
import { VoicebotError } from '../errors/index.js';
import { SAMPLE_RATES, isSupportedRate } from '../audio/frame.js';
import type { AnyPluginManifest } from '../plugins/manifest.js';
import { SLOT_NAMES, type SlotName } from '../plugins/slots.js';
import { closest } from '../plugins/registry.js';
import { compileSchema, type ValidateFunction } from './ajv.js';
import { clipMessage, makeDiagnostic, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { interpolateEnv } from './env.js';
import { deepFreeze, kindsOf, normalize } from './normalize.js';
import { CONFIG_SCHEMA, stepSchema } from './schema.js';
import { pathLabel, schemaProblems, type SchemaProblem } from './schema-errors.js';
import { checkSemantics, type SemanticProblem } from './semantics.js';
import { pruneRejected } from './prune.js';
import { STEP_KINDS, type StepKind, type VoicebotConfig } from './types.js';
import { findDuplicateKeys, YamlSource, type Path } from './yaml-doc.js';

export { formatDiagnostic, type Diagnostic } from './diagnostics.js';

/** What the loader needs from the plugin registry (core/plugins/registry.ts). */
export interface PluginRegistryLike {
  resolve(slot: SlotName, provider: string, configDir: string): Promise<AnyPluginManifest>;
  available(slot: SlotName): string[];
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  registry: PluginRegistryLike;
}

export interface LoadResult {
  /** Deep-frozen; present only when there is no error (warnings allowed). */
  config?: VoicebotConfig;
  diagnostics: Diagnostic[];
}

// Validators on first use (precompiled ones load, others compile: core/config/ajv.ts), not at import.
let topValidator: ValidateFunction | undefined;
const validateTop = (raw: unknown): boolean => (topValidator ??= compileSchema(CONFIG_SCHEMA))(raw);
const stepValidators = new Map<StepKind, ValidateFunction>();
function validateStep(kind: StepKind): ValidateFunction {
  let v = stepValidators.get(kind);
  if (!v) stepValidators.set(kind, (v = compileSchema(stepSchema(kind))));
  return v;
}
const optionValidators = new WeakMap<object, ValidateFunction>();

export async function loadConfig(file: string, opts: LoadOptions): Promise<LoadResult> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch {
    return { diagnostics: [makeDiagnostic(abs, { line: 1, col: 1 }, 'VB_ERR_CONFIG_NOT_FOUND', { file: abs })] };
  }
  return loadConfigText(text, abs, opts);
}

export async function loadConfigText(text: string, file: string, opts: LoadOptions): Promise<LoadResult> {
  const env = opts.env ?? process.env;
  const dir = dirname(resolve(file));
  const src = new YamlSource(text);
  const diags: Diagnostic[] = [];
  const at = (path: Path, atKey = false): { line: number; col: number } => (atKey ? src.keyPos(path) : src.valuePos(path));

  // The first syntax error is the one to fix: the parser's later ones are mostly its consequences.
  const yamlError = src.doc.errors[0];
  if (yamlError) {
    const at = yamlError.pos[0];
    let detail = yamlError.message.split('\n')[0].replace(/ at line \d+, column \d+.*$/, '');
    if (text[at] === '{' && text[at - 1] === '$') detail += '. A value starting with ${NAME} inside { … } must be quoted: "${NAME}"';
    const more = src.doc.errors.length - 1;
    if (more > 0) detail += ` (${more} more syntax error${more > 1 ? 's' : ''} may follow from this one)`;
    return { diagnostics: [makeDiagnostic(file, src.pos(at), 'VB_ERR_CONFIG_YAML', { detail })] };
  }
  findDuplicateKeys(src, (key, offset) => diags.push(makeDiagnostic(file, src.pos(offset), 'VB_ERR_CONFIG_DUPLICATE_KEY', { key })));

  const { problems, fromEnv } = interpolateEnv(src, env);
  for (const p of problems) diags.push(makeDiagnostic(file, src.pos(p.offset), 'VB_ERR_CONFIG_ENV_UNSET', { name: p.name, detail: p.message ? ` (${p.message})` : '' }));

  let raw: Record<string, any>;
  try {
    raw = (src.doc.toJS({ maxAliasCount: 100 }) ?? {}) as Record<string, any>;
  } catch (e) {
    // An alias bomb (yaml refuses excessive alias expansion) or a too-deep document.
    const detail = e instanceof RangeError ? 'the document is nested too deeply' : ((e as Error)?.message ?? String(e)).replace(/\.$/, '');
    return { diagnostics: [...diags, makeDiagnostic(file, src.pos(firstAliasOffset(src)), 'VB_ERR_CONFIG_YAML', { detail })] };
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    diags.push(makeDiagnostic(file, { line: 1, col: 1 }, 'VB_ERR_CONFIG_SCHEMA', { detail: 'The config must be a mapping with version, plugins, flows…' }));
    return { diagnostics: diags };
  }

  const rejected: SchemaProblem[] = [];
  const report = (ps: SchemaProblem[]): void => {
    rejected.push(...ps);
    for (const p of ps) {
      if (p.kind === 'unknown-key') diags.push(makeDiagnostic(file, at(p.path, true), 'VB_ERR_CONFIG_UNKNOWN_KEY', { key: p.key, where: p.detail, hint: p.hint }));
      else if (p.kind === 'duration') diags.push(makeDiagnostic(file, at(p.path), 'VB_ERR_CONFIG_DURATION', { value: String(p.value) }));
      else diags.push(makeDiagnostic(file, at(p.path, p.atKey), 'VB_ERR_CONFIG_SCHEMA', { detail: p.detail }));
    }
  };
  if (!validateTop(raw)) report(schemaProblems(topValidator?.errors ?? []));

  // Steps: find the one kind key first, then validate against that kind's schema.
  for (const [f, flow] of Object.entries((raw.flows ?? {}) as Record<string, any>)) {
    if (!flow || typeof flow !== 'object' || !flow.steps || typeof flow.steps !== 'object') continue;
    for (const [s, step] of Object.entries(flow.steps as Record<string, any>)) {
      const P: Path = ['flows', f, 'steps', s];
      if (!step || typeof step !== 'object' || Array.isArray(step)) continue;
      const kinds = kindsOf(step);
      if (kinds.length === 1) {
        const v = validateStep(kinds[0]);
        if (!v(step)) report(schemaProblems(v.errors ?? [], P));
        continue;
      }
      const kindList = STEP_KINDS.join(', ');
      if (kinds.length > 1) {
        diags.push(makeDiagnostic(file, at(P, true), 'VB_ERR_CONFIG_STEP_KIND', { step: s, detail: `has several kinds (${kinds.join(', ')})`, kinds: kindList }));
      } else {
        const unknown = Object.keys(step).filter((k) => !['next', 'on', 'save', 'routes', 'else', 'exhausted', 'onError', 'onFail', 'bargeIn', 'noInput', 'noMatch'].includes(k));
        const guess = unknown.map((k) => [k, closest(k, STEP_KINDS)] as const).find(([, g]) => g);
        const detail = guess
          ? `has unknown kind "${guess[0]}" (did you mean "${guess[1]}"?)`
          : unknown.length
            ? `has unknown kind "${unknown[0]}"`
            : 'has no kind';
        const p = guess ? [...P, guess[0]] : unknown.length ? [...P, unknown[0]] : P;
        diags.push(makeDiagnostic(file, at(p, true), 'VB_ERR_CONFIG_STEP_KIND', { step: s, detail, kinds: kindList }));
      }
    }
  }

  // From here on, only shapes the schema accepted: a rejected node has its diagnostic already.
  const { raw: checked, droppedFlows } = pruneRejected(raw, rejected);
  const secretVars = Object.keys(checked.vars ?? {}).filter((k) => fromEnv.has(`vars.${k}`));
  let config: VoicebotConfig;
  try {
    config = normalize(checked, file, dir, secretVars);
  } catch (e) {
    return { diagnostics: sortDiagnostics([...diags, checkFailed(file, e)]) };
  }

  // Providers: known, options valid against the plugin's own schema, audio rates convertible.
  for (const slot of SLOT_NAMES) {
    const v = raw.plugins?.[slot];
    if (!v || typeof v !== 'object') continue;
    const entries: any[] = Array.isArray(v) ? v : [v];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (!e || typeof e.provider !== 'string') continue;
      const P: Path = Array.isArray(v) ? ['plugins', slot, i] : ['plugins', slot];
      let manifest: AnyPluginManifest;
      try {
        manifest = await opts.registry.resolve(slot, e.provider, dir);
      } catch (err) {
        if (err instanceof VoicebotError) {
          const code = err.code === 'VB_ERR_CONFIG_UNKNOWN_PROVIDER' ? err.code : err.code;
          diags.push({ ...makeDiagnostic(file, at([...P, 'provider']), code, err.params), message: clipMessage(err.message) });
        } else diags.push(makeDiagnostic(file, at([...P, 'provider']), 'VB_ERR_PLUGIN_LOAD', { provider: e.provider, from: dir, detail: String(err) }));
        continue;
      }
      const { provider: _p, ...options } = e;
      let validate = optionValidators.get(manifest.optionsSchema);
      if (!validate) {
        validate = compileSchema(manifest.optionsSchema);
        optionValidators.set(manifest.optionsSchema, validate);
      }
      if (!validate(options)) {
        for (const p of schemaProblems(validate.errors ?? [], P)) {
          const rel = p.path.slice(P.length);
          const detail =
            p.kind === 'unknown-key'
              ? `"${p.key}" is not an option.${p.hint} Options: ${Object.keys((manifest.optionsSchema as { properties?: object }).properties ?? {}).join(', ') || 'none'}.`
              : p.kind === 'duration'
                ? `"${pathLabel(rel)}" must be a duration like 600ms or 6s.`
                : p.detail.replace(`"${pathLabel(p.path)}"`, `"${pathLabel(rel)}"`);
          diags.push(makeDiagnostic(file, at(p.path, p.kind === 'unknown-key'), 'VB_ERR_CONFIG_PLUGIN_OPTIONS', { provider: e.provider, slot, detail }));
        }
        continue;
      }
      for (const err of manifest.checkOptions?.(options as never, env) ?? []) {
        diags.push({ ...makeDiagnostic(file, at([...P, 'provider']), err.code, err.params), message: clipMessage(err.message) });
      }
      const rates = typeof manifest.sampleRates === 'function' ? manifest.sampleRates(options as never) : manifest.sampleRates;
      if (rates && rates.length && !rates.some(isSupportedRate)) {
        const verb = slot === 'tts' ? 'produces' : 'accepts';
        diags.push(
          makeDiagnostic(file, at([...P, 'provider']), 'VB_ERR_CONFIG_AUDIO_FORMAT', { detail: `${e.provider} (${slot}) ${verb} only ${rates.join('/')} Hz`, rates: SAMPLE_RATES.join('/') }),
        );
      }
    }
  }

  try {
    for (const p of checkSemantics(checked, config)) {
      if (pointsIntoDropped(p, checked, droppedFlows)) continue;
      diags.push(makeDiagnostic(file, at(p.path, p.atKey), p.code, p.params));
    }
  } catch (e) {
    diags.push(checkFailed(file, e));
  }

  const sorted = sortDiagnostics(dedupe(withoutEnvEchoes(diags)));
  const failed = sorted.some((d) => d.severity === 'error');
  return { config: failed ? undefined : deepFreeze(config), diagnostics: sorted };
}

/**
 * An unset variable leaves its value empty, so the value's own checks fail
 * too ("token" too short); the unset variable is the one cause to report.
 */
function withoutEnvEchoes(diags: Diagnostic[]): Diagnostic[] {
  const unset = new Set(diags.filter((d) => d.code === 'VB_ERR_CONFIG_ENV_UNSET').map((d) => `${d.line}:${d.col}`));
  return unset.size ? diags.filter((d) => d.code === 'VB_ERR_CONFIG_ENV_UNSET' || !unset.has(`${d.line}:${d.col}`)) : diags;
}

/** A reference to a flow the schema rejected is not a second problem: the flow's own diagnostic says what to fix. */
function pointsIntoDropped(p: SemanticProblem, raw: Record<string, any>, dropped: Set<string>): boolean {
  if (!dropped.size) return false;
  if (p.code === 'VB_ERR_CONFIG_TARGET') {
    const target = String(p.params.target);
    return target.includes('.') && dropped.has(target.split('.')[0]);
  }
  if (p.path[0] === 'routes' && p.path[2] === 'flow') return dropped.has(String(raw.routes?.[p.path[1]]?.flow));
  return false;
}

/** A check that threw is a bug in the checker, still reported as a coded line rather than a crash. */
function checkFailed(file: string, e: unknown): Diagnostic {
  return makeDiagnostic(file, { line: 1, col: 1 }, 'VB_ERR_CONFIG_CHECK_FAILED', { detail: (e as Error)?.message ?? String(e) });
}

function firstAliasOffset(src: YamlSource): number {
  let at = 0;
  visit(src.doc, {
    Alias(_k, node) {
      at = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return at;
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.line}:${d.col}:${d.code}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Masks values that came from the environment (secrets) in log or error text. */
export function redact(text: string, config: Pick<VoicebotConfig, 'vars' | 'secretVars'>): string {
  let out = text;
  for (const name of config.secretVars) {
    const v = config.vars[name];
    if (v && v.length >= 3) out = out.split(v).join('***');
  }
  return out;
}
