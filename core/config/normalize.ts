import { resolve } from 'node:path';
import { parseDuration } from './duration.js';
import type {
  AmdConfig,
  BranchCase,
  FlowConfig,
  Handlers,
  InterruptionSettings,
  ListenRoute,
  PluginsConfig,
  ProviderConfig,
  Settings,
  Step,
  StepKind,
  ToolConfig,
  VoicebotConfig,
} from './types.js';
import { STEP_KINDS } from './types.js';
import type { SlotName } from '../plugins/slots.js';
import { SLOT_NAMES } from '../plugins/slots.js';

type Raw = Record<string, any>;

/** The kind keys a raw step has. */
export function kindsOf(step: Raw): StepKind[] {
  return Object.keys(step).filter((k): k is StepKind => (STEP_KINDS as readonly string[]).includes(k));
}

/** `step` → `flow.step`, or as given when it already names a flow. */
export function qualify(flow: string, target: string, flows: Raw): string {
  if (target.includes('.')) {
    const [f, s] = target.split('.', 2);
    if (flows[f]?.steps && s in flows[f].steps) return target;
  }
  return `${flow}.${target}`;
}

function list(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

export function normalizeHandlers(flow: string, h: Raw | undefined, flows: Raw): Handlers {
  if (!h) return {};
  const out: Handlers = {};
  if (h.dtmf) out.dtmf = Object.fromEntries(Object.entries(h.dtmf as Record<string, string>).map(([d, t]) => [d, qualify(flow, t, flows)]));
  for (const k of ['error', 'hangup', 'noInput', 'machine', 'human', 'unknown', 'workerLost'] as const) if (typeof h[k] === 'string') out[k] = qualify(flow, h[k], flows);
  return out;
}

/** Default following step in file order; none after kinds that never fall through. */
function defaultNext(kind: StepKind, names: string[], i: number): string | undefined {
  if (kind === 'goto' || kind === 'hangup' || kind === 'branch') return undefined;
  return names[i + 1];
}

export const DEFAULT_TOOL_TIMEOUT_MS = 10_000;

export const DEFAULT_SETTINGS = (dir: string): Settings => ({
  language: 'en-US',
  bargeIn: { enabled: true, minSpeechMs: 250 },
  timeouts: { noInput: 6000, endOfSpeech: 600, maxCall: 900_000, shutdown: 10_000 },
  recording: { enabled: false, dir: resolve(dir, 'recordings') },
  sampleRate: 'auto',
  server: { host: '127.0.0.1', port: 8080 },
  fallback: { attemptMs: 4000, budgetMs: 8000, onAuthError: false },
  fleet: {
    keyPrefix: 'voicebot',
    capacity: 0,
    heartbeatMs: 1000,
    ttlMs: 5000,
    drainTimeoutMs: 300_000,
    drainMessage: 'Sorry, we have to end this call now. Please call again.',
    dispatchBudgetMs: 3000,
  },
});

function normalizeStep(flow: string, name: string, raw: Raw, kind: StepKind, next: string | undefined, flows: Raw): Step {
  const q = (t: unknown): string | undefined => (typeof t === 'string' ? qualify(flow, t, flows) : undefined);
  const base = { name, flow, next: raw.next !== undefined ? q(raw.next) : next ? `${flow}.${next}` : undefined, on: normalizeHandlers(flow, raw.on, flows) };
  const body = raw[kind];
  switch (kind) {
    case 'say':
      return { ...base, kind, text: String(body), ...(raw.bargeIn !== undefined ? { bargeIn: raw.bargeIn } : {}) };
    case 'play':
      return {
        ...base,
        kind,
        file: body?.file,
        url: body?.url,
        ...(body?.timeout !== undefined ? { timeoutMs: parseDuration(body.timeout) } : {}),
        ...(body?.maxBytes !== undefined ? { maxBytes: body.maxBytes } : {}),
        ...(raw.bargeIn !== undefined ? { bargeIn: raw.bargeIn } : {}),
      };
    case 'listen': {
      const b: Raw = body ?? {};
      const pick = (k: string): any => (b[k] !== undefined ? b[k] : raw[k]);
      return {
        ...base,
        kind,
        prompt: b.prompt,
        input: b.input ?? ['speech', 'dtmf'],
        numDigits: b.numDigits,
        finishOnKey: b.finishOnKey,
        timeoutMs: b.timeout !== undefined ? parseDuration(b.timeout) : undefined,
        retries: b.retries ?? 2,
        noInput: list(pick('noInput')),
        noMatch: list(pick('noMatch')),
        save: pick('save'),
        routes: ((pick('routes') ?? []) as Raw[]).map((r): ListenRoute => ({ ...r, goto: q(r.goto)! })),
        else: q(pick('else')),
        exhausted: q(pick('exhausted')),
        bargeIn: b.bargeIn,
      };
    }
    case 'llm':
      return {
        ...base,
        kind,
        system: body.system,
        tools: body.tools ?? [],
        context: body.context ?? 'append',
        maxTurns: body.maxTurns,
        say: body.say,
        exits: ((body.exits ?? []) as Raw[]).map((e) => ({ ...e, goto: q(e.goto)! })),
        bargeIn: body.bargeIn,
      };
    case 'branch':
      return { ...base, kind, cases: (body as Raw[]).map((c): BranchCase => ({ ...c, var: c.var, goto: q(c.goto)! })), else: q(raw.else)! };
    case 'set':
      return { ...base, kind, values: { ...(body ?? {}) } };
    case 'goto':
      return { ...base, kind, target: q(body)! };
    case 'http':
      return {
        ...base,
        kind,
        method: body.method ?? 'GET',
        url: body.url,
        headers: body.headers ?? {},
        body: body.body,
        timeoutMs: parseDuration(body.timeout ?? 10_000) ?? 10_000,
        ...(body.maxBytes !== undefined ? { maxBytes: body.maxBytes } : {}),
        save: raw.save,
        onError: q(raw.onError),
      };
    case 'transfer': {
      const t: Raw = typeof body === 'string' ? { to: body } : body;
      return { ...base, kind, to: String(t.to), mode: t.mode === 'warm' ? 'warm' : 'blind', ...(t.summary !== undefined ? { summary: String(t.summary) } : {}), ...(t.hold !== undefined ? { hold: String(t.hold) } : {}), ...(t.summarize !== undefined && t.summarize !== false ? { summarize: t.summarize } : {}), announce: t.announce, timeoutMs: t.timeout !== undefined ? parseDuration(t.timeout) : undefined, onFail: q(raw.onFail) };
    }
    case 'hangup':
      return { ...base, kind, text: typeof body === 'string' ? body : undefined };
    case 'dial': {
      const t: Raw = typeof body === 'string' ? { to: body } : body;
      return { ...base, kind, to: String(t.to), flowName: t.flow, vars: { ...(t.vars ?? {}) }, callerId: t.callerId, save: raw.save, onFail: q(raw.onFail) };
    }
    case 'sendDigits':
      return { ...base, kind, digits: String(body) };
  }
}

/** settings.turn.interruption with its defaults (README "Turn-taking" → "Interruptions"). */
export function normalizeInterruption(i: Raw): InterruptionSettings {
  return {
    minWords: i.minWords ?? 1,
    backchannels: i.backchannels ? i.backchannels.map(String) : ['mhm', 'uh-huh', 'yeah', 'okay', 'right'],
    falseInterruptionMs: parseDuration(i.falseInterruption) ?? 1000,
    mode: i.mode === 'duck' ? 'duck' : 'pause',
  };
}

/** `amd: true` or `amd: { timeout, beepTimeout }` → ms with defaults. */
export function normalizeAmd(a: unknown): AmdConfig {
  const o: Raw = a && typeof a === 'object' ? (a as Raw) : {};
  return { timeoutMs: parseDuration(o.timeout) ?? 5000, beepTimeoutMs: parseDuration(o.beepTimeout) ?? 20_000 };
}

function normalizeFleet(f: Raw, d: Settings['fleet'], dir: string): Settings['fleet'] {
  return {
    ...(f.redis ? { redis: String(f.redis) } : {}),
    keyPrefix: f.keyPrefix ?? d.keyPrefix,
    capacity: f.capacity ?? d.capacity,
    ...(f.advertiseUrl ? { advertiseUrl: String(f.advertiseUrl) } : {}),
    heartbeatMs: parseDuration(f.heartbeat) ?? d.heartbeatMs,
    ttlMs: parseDuration(f.ttl) ?? d.ttlMs,
    drainTimeoutMs: parseDuration(f.drainTimeout) ?? d.drainTimeoutMs,
    drainMessage: f.drainMessage ?? d.drainMessage,
    dispatchBudgetMs: parseDuration(f.dispatchBudget) ?? d.dispatchBudgetMs,
    ...(typeof f.noWorker?.play === 'string' ? { noWorker: { play: resolve(dir, f.noWorker.play) } } : {}),
  };
}

function normalizeParams(p: unknown): Record<string, unknown> {
  if (!p || typeof p !== 'object') return { type: 'object', properties: {}, additionalProperties: false };
  const o = p as Raw;
  if (o.type === 'object' || o.properties) return o;
  // Shorthand: { name: "string", count: "number" }
  const properties = Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? { type: v } : v]));
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

/** Builds the engine's config from a raw config that passed the schema. Skips steps whose kind is unknown. */
export function normalize(raw: Raw, file: string, dir: string, secretVars: string[]): VoicebotConfig {
  const flowsRaw: Raw = raw.flows ?? {};
  const plugins: PluginsConfig = {};
  for (const slot of SLOT_NAMES) {
    const v = raw.plugins?.[slot];
    if (!v) continue;
    plugins[slot as SlotName] = (Array.isArray(v) ? v : [v]).map(({ provider, ...options }: Raw): ProviderConfig => ({ provider, options }));
  }
  const d = DEFAULT_SETTINGS(dir);
  const s: Raw = raw.settings ?? {};
  const settings: Settings = {
    language: s.language ?? d.language,
    bargeIn: { ...d.bargeIn, ...s.bargeIn },
    ...(s.turn?.interruption ? { turn: { interruption: normalizeInterruption(s.turn.interruption) } } : {}),
    timeouts: {
      noInput: parseDuration(s.timeouts?.noInput) ?? d.timeouts.noInput,
      endOfSpeech: parseDuration(s.timeouts?.endOfSpeech) ?? d.timeouts.endOfSpeech,
      maxCall: parseDuration(s.timeouts?.maxCall) ?? d.timeouts.maxCall,
      shutdown: parseDuration(s.timeouts?.shutdown) ?? d.timeouts.shutdown,
    },
    recording: { enabled: s.recording?.enabled ?? false, dir: s.recording?.dir ? resolve(dir, s.recording.dir) : d.recording.dir },
    sampleRate: s.sampleRate ?? d.sampleRate,
    server: { ...d.server, ...s.server },
    fallback: {
      attemptMs: parseDuration(s.fallback?.attempt) ?? d.fallback!.attemptMs,
      budgetMs: parseDuration(s.fallback?.budget) ?? d.fallback!.budgetMs,
      onAuthError: s.fallback?.onAuthError ?? d.fallback!.onAuthError,
    },
    ...(s.hold ? { hold: { ...(s.hold.file ? { file: resolve(dir, s.hold.file) } : {}), afterMs: parseDuration(s.hold.after) ?? 800 } } : {}),
    ...(s.api?.token
      ? {
          api: {
            token: s.api.token,
            host: s.api.host ?? '127.0.0.1',
            port: s.api.port ?? 8090,
            outbound: {
              maxConcurrent: s.api.outbound?.maxConcurrent ?? 5,
              perMinute: s.api.outbound?.perMinute ?? 30,
              ringTimeoutMs: parseDuration(s.api.outbound?.ringTimeout) ?? 30_000,
            },
          },
        }
      : {}),
    ...(s.ops ? { ops: { host: s.ops.host ?? '127.0.0.1', port: s.ops.port ?? 9464 } } : {}),
    fleet: normalizeFleet(s.fleet ?? {}, d.fleet, dir),
  };
  const tools: Record<string, ToolConfig> = {};
  for (const [name, t] of Object.entries((raw.tools ?? {}) as Raw)) {
    tools[name] = {
      name,
      description: t.description,
      params: normalizeParams(t.params),
      ...(t.http ? { http: { method: t.http.method ?? 'POST', url: t.http.url, headers: t.http.headers ?? {}, body: t.http.body, timeoutMs: parseDuration(t.http.timeout ?? 10_000) ?? 10_000, ...(t.http.maxBytes !== undefined ? { maxBytes: t.http.maxBytes } : {}) } } : {}),
      ...(t.handler ? { handler: t.handler } : {}),
      timeoutMs: parseDuration(t.timeout ?? DEFAULT_TOOL_TIMEOUT_MS) ?? DEFAULT_TOOL_TIMEOUT_MS,
    };
  }
  const flows: Record<string, FlowConfig> = {};
  for (const [fname, f] of Object.entries(flowsRaw)) {
    const names = Object.keys(f.steps ?? {});
    const steps: Record<string, Step> = {};
    names.forEach((n, i) => {
      const r: Raw = f.steps[n];
      const kinds = kindsOf(r ?? {});
      if (kinds.length !== 1) return;
      steps[n] = normalizeStep(fname, n, r, kinds[0], defaultNext(kinds[0], names, i), flowsRaw);
    });
    flows[fname] = { name: fname, start: qualify(fname, f.start ?? names[0], flowsRaw), on: normalizeHandlers(fname, f.on, flowsRaw), steps, ...(f.amd ? { amd: normalizeAmd(f.amd) } : {}) };
  }
  const firstFlow = Object.keys(flows)[0];
  return {
    version: 1,
    plugins,
    settings,
    vars: Object.fromEntries(Object.entries((raw.vars ?? {}) as Raw).map(([k, v]) => [k, String(v)])),
    tools,
    flows,
    routes: ((raw.routes ?? []) as Raw[]).map((r) => ({ to: String(r.to), flow: r.flow, ...(r.direction ? { direction: r.direction } : {}) })),
    on: normalizeHandlers(firstFlow, raw.on, flowsRaw),
    source: { file, dir },
    secretVars,
  };
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}
