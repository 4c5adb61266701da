/**
 * Flow scenarios: `flows/*.test.yaml`, run by `voicebot test`. Format
 * (documented for users in flows/README.md):
 *
 *   config: ivr.yaml            # optional: the config under test, relative to
 *                               # this file; default: the `-c` config
 *   scenarios:
 *     - name: caller picks sales by keypad
 *       flow: main              # optional: force a flow (default: routes)
 *       from: "+15550100"       # optional caller / called numbers
 *       to: "+15550199"
 *       latencyBudgetMs: 2500   # optional: every turn's e2e latency ≤ this
 *       httpMocks:              # optional: canned answers on a loopback server
 *         - { method: POST, path: /bookings, status: 200, json: { id: B1 } }
 *         - { path: /slow, delayMs: 5000, body: late }   # exercise timeouts
 *       vars:                   # optional: override config vars; {{mock.url}}
 *         BOOKING_URL: "{{mock.url}}/bookings"   # is the mock server's base URL
 *       turns:                  # what the caller does, one per time the bot listens
 *         - expect: { said: Welcome }            # first entry without an action:
 *                                                # the bot's opening
 *         - dtmf: "1"                            # or say: text / silence: true /
 *           expect:                              # hangup: true
 *             said: /sales/i                     # text (case-insensitive substring) or /regex/
 *             step: main.sales                   # reached "flow.step" (or a list, in order)
 *       expect:                 # whole-call expectations, checked after the call
 *         tool: { name: book, args: { day: monday } }   # args: subset match
 *         transferredTo: "+15550123"
 *         ended: transferred    # or caller-hangup, bot-hangup, error, true (any)
 *         http: [{ method: POST, path: /bookings, body: { day: monday } }]
 *
 * Expectation keys (turn or call level): said, notSaid, step, tool,
 * transferredTo, ended, latencyMs; `http` only at call level. A turn's
 * expectations see the events from that turn until the next turn.
 * After the last turn and the bot's answer to it the caller hangs up
 * (ended: caller-hangup) unless the flow ended the call first.
 */
import { readFile } from 'node:fs/promises';
import type { HangupReason } from '../plugins/telephony.js';
import { VoicebotError } from '../errors/index.js';
import { YamlSource, type Path } from '../config/yaml-doc.js';
import { pathLabel } from '../config/schema-errors.js';
import { closest } from '../plugins/registry.js';
import type { HttpMockRoute, RecordedRequest } from './http-mock.js';
import type { CallerTurn, ObservedEvent } from './scripted-caller.js';
import { CALLER_VOICE_HELP, parseCallerVoice, type CallerVoiceSpec } from './caller-voice.js';

export type TextMatcher = { text: string } | { regex: RegExp; source: string };

export interface ToolExpectation {
  name: string;
  args?: unknown;
}
export interface HttpExpectation {
  method?: string;
  path: string;
  body?: unknown;
}

export interface Expectation {
  said?: TextMatcher[];
  notSaid?: TextMatcher[];
  steps?: string[];
  tools?: ToolExpectation[];
  transferredTo?: string;
  ended?: HangupReason | true;
  latencyMs?: number;
  http?: HttpExpectation[];
}

export interface ScenarioTurn {
  action?: CallerTurn;
  expect?: Expectation;
}

export interface Scenario {
  name: string;
  flow?: string;
  from?: string;
  to?: string;
  callerVoice?: CallerVoiceSpec;
  latencyBudgetMs?: number;
  httpMocks: HttpMockRoute[];
  vars: Record<string, string>;
  turns: ScenarioTurn[];
  expect?: Expectation;
}

export interface ScenarioFile {
  file: string;
  /** As written (relative to the file), when given. */
  config?: string;
  scenarios: Scenario[];
  /** Scenarios that could not be read: each one fails with its error; the rest run. */
  broken: BrokenScenario[];
}

export interface BrokenScenario {
  name: string;
  error: VoicebotError;
}

const HANGUP_REASONS = ['caller-hangup', 'bot-hangup', 'transferred', 'max-duration', 'error', 'rejected', 'shutdown'];
const EXPECT_KEYS = ['said', 'notSaid', 'step', 'tool', 'transferredTo', 'ended', 'latencyMs', 'http'];
const TURN_KEYS = ['say', 'dtmf', 'silence', 'hangup', 'expect'];
const SCENARIO_KEYS = ['name', 'flow', 'from', 'to', 'callerVoice', 'latencyBudgetMs', 'httpMocks', 'vars', 'turns', 'expect'];
const FILE_KEYS = ['config', 'scenarios'];
const MOCK_KEYS = ['method', 'path', 'status', 'json', 'body', 'delayMs'];

/** A problem at `path` of the file (the key itself when `atKey`). */
class Bad extends Error {
  constructor(
    message: string,
    readonly path: Path,
    readonly atKey = false,
  ) {
    super(message);
  }
}

const label = (path: Path): string => pathLabel(path);

/** Unknown keys of `o` → a Bad at the first one, with a did-you-mean. */
function checkKeys(o: Record<string, unknown>, allowed: readonly string[], path: Path, what: string): void {
  const extra = Object.keys(o).find((k) => !allowed.includes(k));
  if (extra === undefined) return;
  const guess = closest(extra, allowed);
  throw new Bad(`${label(path)}: unknown key "${extra}".${guess ? ` Did you mean "${guess}"?` : ''} (${what})`, [...path, extra], true);
}

function list<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function matcher(v: unknown, path: Path): TextMatcher {
  if (typeof v !== 'string' && typeof v !== 'number') throw new Bad(`${label(path)}: expected text or /regex/, got ${JSON.stringify(v)}`, path);
  const s = String(v);
  const m = /^\/(.*)\/([a-z]*)$/s.exec(s);
  if (m) {
    try {
      return { regex: new RegExp(m[1], m[2]), source: s };
    } catch (e) {
      throw new Bad(`${label(path)}: bad regex ${s}: ${(e as Error).message}`, path);
    }
  }
  return { text: s };
}

function parseExpect(v: unknown, path: Path, callLevel: boolean): Expectation {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Bad(`${label(path)}: expect must be a mapping`, path);
  const o = v as Record<string, unknown>;
  checkKeys(o, EXPECT_KEYS, path, `an expectation is one of ${EXPECT_KEYS.join(', ')}`);
  const e: Expectation = {};
  if (o.said !== undefined) e.said = list(o.said).map((x) => matcher(x, [...path, 'said']));
  if (o.notSaid !== undefined) e.notSaid = list(o.notSaid).map((x) => matcher(x, [...path, 'notSaid']));
  if (o.step !== undefined) e.steps = list(o.step).map(String);
  if (o.tool !== undefined) {
    e.tools = list(o.tool).map((t) => {
      if (typeof t === 'string') return { name: t };
      if (t && typeof t === 'object' && typeof (t as { name?: unknown }).name === 'string') return t as ToolExpectation;
      throw new Bad(`${label(path)}.tool: expected a tool name or { name, args }`, [...path, 'tool']);
    });
  }
  if (o.transferredTo !== undefined) e.transferredTo = String(o.transferredTo);
  if (o.ended !== undefined) {
    if (o.ended !== true && !HANGUP_REASONS.includes(String(o.ended))) throw new Bad(`${label(path)}.ended: one of true, ${HANGUP_REASONS.join(', ')}`, [...path, 'ended']);
    e.ended = o.ended === true ? true : (String(o.ended) as HangupReason);
  }
  if (o.latencyMs !== undefined) {
    if (typeof o.latencyMs !== 'number') throw new Bad(`${label(path)}.latencyMs: a number of ms`, [...path, 'latencyMs']);
    e.latencyMs = o.latencyMs;
  }
  if (o.http !== undefined) {
    if (!callLevel) throw new Bad(`${label(path)}.http: only in the scenario's own expect`, [...path, 'http'], true);
    e.http = list(o.http).map((h) => {
      if (!h || typeof h !== 'object' || typeof (h as { path?: unknown }).path !== 'string') throw new Bad(`${label(path)}.http: expected { method?, path, body? }`, [...path, 'http']);
      return h as HttpExpectation;
    });
  }
  return e;
}

function parseTurn(v: unknown, path: Path, first: boolean): ScenarioTurn {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Bad(`${label(path)}: a turn is a mapping like { say: hello }`, path);
  const o = v as Record<string, unknown>;
  checkKeys(o, TURN_KEYS, path, 'a turn has one of say, dtmf, silence, hangup, and expect');
  const actions = ['say', 'dtmf', 'silence', 'hangup'].filter((k) => o[k] !== undefined);
  if (actions.length > 1) throw new Bad(`${label(path)}: one action per turn (got ${actions.join(' and ')})`, [...path, actions[1]], true);
  const t: ScenarioTurn = {};
  if (o.expect !== undefined) t.expect = parseExpect(o.expect, [...path, 'expect'], false);
  const a = actions[0];
  if (a === 'say') t.action = { say: String(o.say) };
  else if (a === 'dtmf') t.action = { dtmf: String(o.dtmf) };
  else if (a === 'silence') t.action = { silence: true };
  else if (a === 'hangup') t.action = { hangup: true };
  else if (!first) throw new Bad(`${label(path)}: only the first turn may have no action (it checks the bot's opening)`, path);
  return t;
}

function parseScenario(s: unknown, path: Path): Scenario {
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw new Bad(`${label(path)}: must be a mapping`, path);
  const o = s as Record<string, unknown>;
  if (typeof o.name !== 'string' || !o.name) throw new Bad(`${label(path)}: name: is required`, path);
  checkKeys(o, SCENARIO_KEYS, path, `a scenario has ${SCENARIO_KEYS.join(', ')}`);
  if (!Array.isArray(o.turns)) throw new Bad(`${label(path)} (${o.name}): turns: must be a list`, [...path, 'turns']);
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries((o.vars as Record<string, unknown> | undefined) ?? {})) vars[k] = String(v);
  const httpMocks = list(o.httpMocks as HttpMockRoute[] | undefined);
  for (const [j, m] of httpMocks.entries()) {
    const mp: Path = [...path, 'httpMocks', j];
    if (!m || typeof m !== 'object' || typeof m.path !== 'string') throw new Bad(`${label(mp)}: path: is required`, mp);
    checkKeys(m as unknown as Record<string, unknown>, MOCK_KEYS, mp, `use ${MOCK_KEYS.join(', ')}`);
    if (m.delayMs !== undefined && typeof m.delayMs !== 'number') throw new Bad(`${label(mp)}.delayMs: a number of ms`, [...mp, 'delayMs']);
  }
  const voice = o.callerVoice === undefined ? undefined : parseCallerVoice(o.callerVoice);
  if (o.callerVoice !== undefined && !voice) throw new Bad(`${label(path)}.callerVoice: ${CALLER_VOICE_HELP}`, [...path, 'callerVoice']);
  return {
    name: o.name,
    flow: o.flow === undefined ? undefined : String(o.flow),
    from: o.from === undefined ? undefined : String(o.from),
    to: o.to === undefined ? undefined : String(o.to),
    callerVoice: voice,
    latencyBudgetMs: typeof o.latencyBudgetMs === 'number' ? o.latencyBudgetMs : undefined,
    httpMocks,
    vars,
    turns: o.turns.map((t: unknown, j: number) => parseTurn(t, [...path, 'turns', j], j === 0)),
    expect: o.expect === undefined ? undefined : parseExpect(o.expect, [...path, 'expect'], true),
  };
}

/**
 * Reads a scenario file. A problem in one scenario (a typo'd key…) is that
 * scenario's failure, at its line:col (`broken`); the others still run. A
 * problem with the file itself throws VB_ERR_SCENARIO. `shown` is how the
 * file is named in messages (default: `file`).
 */
export function parseScenarios(text: string, file: string, shown = file): ScenarioFile {
  const src = new YamlSource(text);
  const fail = (e: Bad): VoicebotError => {
    const pos = e.atKey ? src.keyPos(e.path) : src.valuePos(e.path);
    return new VoicebotError('VB_ERR_SCENARIO', { file: shown, detail: e.message }, { location: { file: shown, line: pos.line, col: pos.col } });
  };
  try {
    const yamlError = src.doc.errors[0];
    if (yamlError) {
      const pos = src.pos(yamlError.pos[0]);
      throw new VoicebotError('VB_ERR_SCENARIO', { file: shown, detail: `not valid YAML: ${yamlError.message.split('\n')[0]}` }, { location: { file: shown, ...pos } });
    }
    let doc: unknown;
    try {
      doc = src.doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      // An alias bomb (yaml refuses excessive alias expansion) or a too-deep document: the file's problem, coded.
      const detail = e instanceof RangeError ? 'the document is nested too deeply' : ((e as Error)?.message ?? String(e)).replace(/\.$/, '');
      throw new VoicebotError('VB_ERR_SCENARIO', { file: shown, detail: `not valid YAML: ${detail}` }, { location: { file: shown, line: 1, col: 1 } });
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Bad('expected a mapping with scenarios:', []);
    const d = doc as Record<string, unknown>;
    checkKeys(d, FILE_KEYS, [], 'a scenario file has config and scenarios');
    if (!Array.isArray(d.scenarios) || d.scenarios.length === 0) throw new Bad('scenarios: must be a non-empty list', ['scenarios']);
    const scenarios: Scenario[] = [];
    const broken: BrokenScenario[] = [];
    d.scenarios.forEach((s: unknown, i: number) => {
      try {
        scenarios.push(parseScenario(s, ['scenarios', i]));
      } catch (e) {
        if (!(e instanceof Bad)) throw e;
        const name = (s as { name?: unknown } | null)?.name;
        broken.push({ name: typeof name === 'string' && name ? name : `scenarios[${i}]`, error: fail(e) });
      }
    });
    return { file, config: typeof d.config === 'string' ? d.config : undefined, scenarios, broken };
  } catch (e) {
    if (e instanceof Bad) throw fail(e);
    throw e;
  }
}

export async function loadScenarioFile(file: string, shown = file): Promise<ScenarioFile> {
  return parseScenarios(await readFile(file, 'utf8'), file, shown);
}

/** One failed expectation, printed as a -expected/+actual pair. */
export interface Failure {
  where: string;
  what: string;
  expected: string;
  actual: string;
}

export interface Observed {
  events: ObservedEvent[];
  reason?: HangupReason;
  http: RecordedRequest[];
}

function describeAction(a: CallerTurn | undefined): string {
  if (!a) return 'opening';
  if ('say' in a) return `say ${JSON.stringify(a.say)}`;
  if ('dtmf' in a) return `dtmf ${JSON.stringify(a.dtmf)}`;
  return 'silence' in a ? 'silence' : 'hangup';
}

function showMatcher(m: TextMatcher): string {
  return 'regex' in m ? m.source : JSON.stringify(m.text);
}

function matches(m: TextMatcher, s: string): boolean {
  return 'regex' in m ? m.regex.test(s) : s.toLowerCase().includes(m.text.toLowerCase());
}

/** `actual` contains everything `expected` has (objects recursively; scalars compared as text). */
export function subsetMatch(expected: unknown, actual: unknown): boolean {
  if (expected === null || typeof expected !== 'object') {
    if (actual === null || typeof actual === 'object') return expected === actual;
    return String(expected).toLowerCase() === String(actual).toLowerCase();
  }
  if (Array.isArray(expected)) return Array.isArray(actual) && expected.length === actual.length && expected.every((x, i) => subsetMatch(x, actual[i]));
  if (!actual || typeof actual !== 'object') return false;
  return Object.entries(expected).every(([k, v]) => subsetMatch(v, (actual as Record<string, unknown>)[k]));
}

/** Each expected item found after the previous one. */
function inOrder<T, E>(expected: readonly E[], actual: readonly T[], ok: (e: E, a: T) => boolean): E | undefined {
  let from = 0;
  for (const e of expected) {
    const i = actual.findIndex((a, j) => j >= from && ok(e, a));
    if (i < 0) return e;
    from = i + 1;
  }
  return undefined;
}

function checkExpectation(exp: Expectation, events: ObservedEvent[], where: string, out: Failure[], http?: RecordedRequest[]): void {
  const said = events.flatMap((e) => (e.type === 'bot.said' ? [e.text] : []));
  const saidList = said.length ? said.map((s) => JSON.stringify(s)).join('\n             ') : '(nothing)';
  if (exp.said) {
    const miss = inOrder(exp.said, said, (m, s) => matches(m, s));
    if (miss) out.push({ where, what: 'bot said', expected: showMatcher(miss), actual: saidList });
  }
  for (const m of exp.notSaid ?? []) {
    const hit = said.find((s) => matches(m, s));
    if (hit !== undefined) out.push({ where, what: 'bot did not say', expected: `not ${showMatcher(m)}`, actual: JSON.stringify(hit) });
  }
  if (exp.steps) {
    const steps = events.flatMap((e) => (e.type === 'flow.step' ? [`${e.flow}.${e.step}`] : []));
    const miss = inOrder(exp.steps, steps, (x, s) => x === s || (!x.includes('.') && s.endsWith(`.${x}`)));
    if (miss) out.push({ where, what: 'reached step', expected: miss, actual: steps.length ? steps.join(' → ') : '(no steps)' });
  }
  if (exp.tools) {
    const calls = events.filter((e): e is ObservedEvent & { type: 'tool.called' } => e.type === 'tool.called');
    for (const t of exp.tools) {
      const hit = calls.some((c) => c.name === t.name && (t.args === undefined || subsetMatch(t.args, c.args)));
      if (!hit) {
        out.push({
          where,
          what: 'tool called',
          expected: `${t.name}(${t.args === undefined ? '…' : JSON.stringify(t.args)})`,
          actual: calls.length ? calls.map((c) => `${c.name}(${JSON.stringify(c.args)})${c.error ? ` → ${c.error}` : ''}`).join(', ') : '(no tool calls)',
        });
      }
    }
  }
  if (exp.transferredTo !== undefined) {
    const tr = events.flatMap((e) => (e.type === 'call.transferred' ? [e.to] : []));
    if (!tr.includes(exp.transferredTo)) out.push({ where, what: 'transferred to', expected: exp.transferredTo, actual: tr.length ? tr.join(', ') : '(no transfer)' });
  }
  if (exp.ended !== undefined) {
    const end = events.find((e) => e.type === 'call.ended');
    const reason = end?.type === 'call.ended' ? end.reason : undefined;
    if (!reason || (exp.ended !== true && reason !== exp.ended)) {
      out.push({ where, what: 'call ended', expected: exp.ended === true ? 'ended' : exp.ended, actual: reason ?? '(still up)' });
    }
  }
  if (exp.latencyMs !== undefined) {
    for (const e of events) {
      if (e.type === 'turn.metrics' && e.e2eMs !== undefined && e.e2eMs > exp.latencyMs) {
        out.push({ where, what: 'e2e latency', expected: `≤ ${exp.latencyMs} ms`, actual: `${Math.round(e.e2eMs)} ms (turn ${e.turn})` });
      }
    }
  }
  if (exp.http && http) {
    for (const h of exp.http) {
      const hit = http.some((r) => (!h.method || r.method === h.method.toUpperCase()) && r.path === h.path && (h.body === undefined || subsetMatch(h.body, r.body)));
      if (!hit) {
        out.push({
          where,
          what: 'http request',
          expected: `${h.method ?? 'ANY'} ${h.path}${h.body === undefined ? '' : ' ' + JSON.stringify(h.body)}`,
          actual: http.length ? http.map((r) => `${r.method} ${r.path} ${JSON.stringify(r.body)}`).join('\n             ') : '(no requests)',
        });
      }
    }
  }
}

/** Compare what happened on the call with what the scenario expects. Pure: unit-testable without a call. */
export function checkScenario(sc: Scenario, obs: Observed): Failure[] {
  const out: Failure[] = [];
  let actionNo = -1;
  const delivered = Math.max(-1, ...obs.events.map((e) => e.callerTurn));
  sc.turns.forEach((t, i) => {
    if (t.action) actionNo++;
    const window = t.action ? actionNo : -1;
    const where = `turn ${i + 1} (${describeAction(t.action)})`;
    const exp: Expectation = { ...t.expect };
    if (sc.latencyBudgetMs !== undefined && exp.latencyMs === undefined) exp.latencyMs = sc.latencyBudgetMs;
    if (t.action && window > delivered) {
      if (t.expect) out.push({ where, what: 'turn happened', expected: 'the bot listens for this turn', actual: `call ended before it (${obs.reason ?? 'unknown'})` });
      return;
    }
    checkExpectation(exp, obs.events.filter((e) => e.callerTurn === window), where, out);
  });
  if (sc.expect) {
    const exp: Expectation = { ...sc.expect };
    checkExpectation(exp, obs.events, 'call', out, obs.http);
  }
  return out;
}

export function formatFailures(failures: readonly Failure[], indent = '    '): string {
  return failures
    .map((f) => `${indent}${f.where}: ${f.what}\n${indent}  - expected: ${f.expected}\n${indent}  + actual:   ${f.actual.replace(/\n/g, `\n${indent}`)}`)
    .join('\n');
}

/** Bot/caller lines of a call, for the report of a failed scenario. */
export function formatTranscript(events: readonly ObservedEvent[], indent = '      '): string {
  const lines: string[] = [];
  for (const e of events) {
    if (e.type === 'bot.said') lines.push(`bot:    ${e.text}${e.interrupted ? ' [interrupted]' : ''}`);
    else if (e.type === 'caller.said' && e.final) lines.push(`caller: ${e.text}`);
    else if (e.type === 'dtmf') lines.push(`caller: [keys ${e.digits}]`);
    else if (e.type === 'flow.step') lines.push(`  · ${e.flow}.${e.step} (${e.kind})`);
    else if (e.type === 'tool.called') lines.push(`  ⚙ ${e.name}(${JSON.stringify(e.args)})${e.error ? ` ✗ ${e.error}` : ''}`);
    else if (e.type === 'call.transferred') lines.push(`  ↪ transferred to ${e.to}`);
    else if (e.type === 'call.error') lines.push(`  ! ${e.code} ${e.message}`);
    else if (e.type === 'call.ended') lines.push(`  ■ ended (${e.reason})`);
  }
  return lines.map((l) => indent + l).join('\n');
}
