import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import type { Ajv as AjvInstance, ValidateFunction } from 'ajv';
import type { ToolConfig, VoicebotConfig } from '../config/types.js';
import type { CallSession } from '../engine/session-api.js';
import { VoicebotError, toVoicebotError } from '../errors/index.js';
import type { ToolSpec } from '../plugins/llm.js';
import { holdWhile, realClock, type Clock } from '../time/clock.js';
import { DEFAULT_TOOL_TIMEOUT_MS } from '../config/normalize.js';
import { withDeadline } from './deadline.js';
import { importMaybeTs } from '../plugins/ts-loader.js';
import { httpRequest } from './http.js';
import { renderUrl } from './url-template.js';
import type { TemplateScope, Templates } from './templates.js';
import type { DependencyContainer } from '../di/container.js';
import { TOKENS, type HttpClient } from '../di/tokens.js';
import { silentLogger, type Logger } from '../logging.js';
import { createContainer } from '../di/container.js';


/** What a `handler:` tool receives besides its arguments. */
export interface ToolHandlerContext {
  call: { id: string; from: string; to: string; meta: Record<string, string> };
  vars: Record<string, unknown>;
  signal: AbortSignal;
  /**
   * The call's child DI container: `container.resolve(TOKENS.X)` (or any
   * token the embedding app registered) gives the handler that service.
   */
  container: DependencyContainer;
  /** The DI tokens (TOKENS of voicebot/plugin), so a handler file needs no import of voicebot. */
  tokens: typeof TOKENS;
  /** The call's logger (TOKENS.Logger of the call), tagged with the tool name. */
  logger: Logger;
  /** TOKENS.HttpClient of the call (on a virtual clock it holds time until the response arrived). */
  http: HttpClient;
  /** TOKENS.Clock: read and wait on this, not Date/setTimeout, so simulations run in virtual time. */
  clock: Clock;
}
export type ToolHandler = (args: Record<string, unknown>, ctx: ToolHandlerContext) => unknown;

/** A call container for a flow run outside an app (unit tests, embedders driving a session themselves). */
export function standaloneCallContainer(o: { config: VoicebotConfig; logger: Logger; clock?: Clock; fetch?: HttpClient }): DependencyContainer {
  const c = createContainer();
  c.register(TOKENS.Config, { useValue: o.config });
  c.register(TOKENS.Logger, { useValue: o.logger });
  c.register(TOKENS.Clock, { useValue: o.clock ?? realClock });
  c.register(TOKENS.HttpClient, { useValue: o.fetch ?? ((input, init) => fetch(input, init)) });
  return c;
}

/** Validators and handler modules compile/load once per config, not per call. */
const validators = new WeakMap<object, Map<string, ValidateFunction>>();
const handlers = new Map<string, Promise<ToolHandler>>();
let ajv: AjvInstance | undefined;
/** ajv (CommonJS, ≈0.1 s to load) on the first tool call, not when the engine is imported. */
function toolAjv(): AjvInstance {
  if (!ajv) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    ajv = new Ajv({ allErrors: true, strict: false });
  }
  return ajv;
}

export function toolSpecs(config: VoicebotConfig, names: readonly string[]): ToolSpec[] {
  return names.map((n) => {
    const t = config.tools[n];
    if (!t) throw new VoicebotError('VB_ERR_TOOL_FAILED', { tool: n, detail: 'no such tool in tools:' });
    return { name: t.name, description: t.description, parameters: t.params };
  });
}

function validatorFor(config: VoicebotConfig, tool: ToolConfig): ValidateFunction {
  let m = validators.get(config);
  if (!m) validators.set(config, (m = new Map()));
  const cached = m.get(tool.name);
  if (cached) return cached;
  const v = toolAjv().compile(Object.keys(tool.params).length ? tool.params : { type: 'object' });
  m.set(tool.name, v);
  return v;
}

function loadHandler(config: VoicebotConfig, tool: ToolConfig): Promise<ToolHandler> {
  const spec = tool.handler!;
  const [file, exp = 'default'] = spec.split('#');
  const path = isAbsolute(file) ? file : resolve(config.source.dir, file);
  const key = `${path}#${exp}`;
  let p = handlers.get(key);
  if (!p) {
    p = importMaybeTs(pathToFileURL(path).href, path, config.source.dir).then((mod: Record<string, unknown>) => {
      const fn = mod[exp];
      if (typeof fn !== 'function') throw new Error(`${file} has no exported function "${exp}"`);
      return fn as ToolHandler;
    });
    // A failed import is not cached: fixing the file must not need a restart.
    p.catch(() => handlers.delete(key));
    handlers.set(key, p);
  }
  return p.catch((e: unknown) => {
    throw new VoicebotError('VB_ERR_TOOL_HANDLER', { tool: tool.name, handler: spec, detail: (e as Error)?.message ?? String(e) }, { cause: e });
  });
}

/**
 * Runs the tools of one call. Every run — good, invalid or failed — is a
 * `tool.called` event; results land in `scope.tools[NAME]` for templates.
 * Errors are thrown as coded errors: the engine's respond() reports a thrown
 * error back to the model as the tool result, so the model can recover.
 */
export class ToolRunner {
  constructor(
    private readonly config: VoicebotConfig,
    private readonly templates: Templates,
    private readonly fetchFn: typeof fetch,
    private readonly session: CallSession,
    private readonly scope: TemplateScope,
    private readonly clock: Clock = realClock,
    /** The call's child container; handlers get it as ctx.container. */
    private readonly container: DependencyContainer = standaloneCallContainer({ config, logger: silentLogger(), clock, fetch: fetchFn }),
  ) {}

  async run(name: string, rawArgs: string | Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
    let args: unknown = rawArgs;
    try {
      const tool = this.config.tools[name];
      if (!tool) throw new VoicebotError('VB_ERR_TOOL_FAILED', { tool: name, detail: 'the model called a tool that is not configured' });
      if (typeof rawArgs === 'string') {
        try {
          args = rawArgs.trim() ? (JSON.parse(rawArgs) as unknown) : {};
        } catch {
          throw new VoicebotError('VB_ERR_TOOL_ARGS', { tool: name, detail: `(not JSON: ${rawArgs.slice(0, 100)})` });
        }
      }
      const validate = validatorFor(this.config, tool);
      if (!validate(args)) {
        const detail = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim()).join('; ');
        throw new VoicebotError('VB_ERR_TOOL_ARGS', { tool: name, detail });
      }
      // A handler that ignores its signal must not hold the call: the run settles at hangup or at the deadline.
      const timeoutMs = tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
      const result = await withDeadline((s) => this.invoke(tool, args as Record<string, unknown>, s), {
        ms: timeoutMs,
        signal,
        clock: this.clock,
        onTimeout: () => new VoicebotError('VB_ERR_TOOL_TIMEOUT', { tool: name, timeoutMs }),
      });
      this.scope.tools[name] = result;
      this.session.emit({ type: 'tool.called', name, args, result });
      return result;
    } catch (e) {
      if (signal.aborted) throw e;
      const err = toVoicebotError(e, 'VB_ERR_TOOL_FAILED', { tool: name });
      this.scope.tools[name] = { error: err.message };
      this.session.emit({ type: 'tool.called', name, args, error: `${err.code} ${err.message}` });
      throw err;
    }
  }

  private async invoke(tool: ToolConfig, args: Record<string, unknown>, signal: AbortSignal): Promise<unknown> {
    if (tool.handler) {
      // Loading the module is real I/O: virtual time must not run out the tool's deadline meanwhile.
      const fn = await holdWhile(this.clock, loadHandler(this.config, tool));
      const { id, from, to, meta } = this.session.info;
      const vars = { ...this.scope.configVars, ...this.scope.vars };
      const logger = this.container.resolve(TOKENS.Logger).child({ tool: tool.name });
      return await fn(args, { call: { id, from, to, meta }, vars, signal, container: this.container, tokens: TOKENS, logger, http: this.fetchFn, clock: this.clock });
    }
    if (tool.http) {
      const scope: TemplateScope = { ...this.scope, args };
      const h = tool.http;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(h.headers)) headers[k] = this.templates.render(v, scope);
      // Without an explicit body, the arguments are the body (or the query of a GET).
      let url = renderUrl(this.templates, h.url, scope);
      let body: unknown = h.body === undefined ? undefined : this.templates.renderValue(h.body, scope);
      if (h.body === undefined) {
        if (h.method === 'GET' || h.method === 'DELETE') {
          const u = new URL(url);
          for (const [k, v] of Object.entries(args)) u.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
          url = u.toString();
        } else body = args;
      }
      return await httpRequest({ method: h.method, url, headers, body, timeoutMs: h.timeoutMs, maxBytes: h.maxBytes }, this.fetchFn, signal);
    }
    throw new VoicebotError('VB_ERR_TOOL_FAILED', { tool: tool.name, detail: 'the tool has neither http: nor handler:' });
  }
}
