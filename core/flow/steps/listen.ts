import type { ListenRoute, ListenStep } from '../../config/types.js';
import type { ListenResult } from '../../engine/session-api.js';
import { configRegex } from '../regex.js';
import { findHandler, qualified, render, throwIfAborted, waitForCaller, type RunContext, type StepExecutor } from '../context.js';

/** Counted prompts (VoiceXML style): the n-th retry uses the n-th message, the last one repeats. */
export function pickMessage(list: readonly string[], count: number): string | undefined {
  if (list.length === 0) return undefined;
  return list[Math.min(count, list.length) - 1];
}

/** "Sales." / " sales " / "SALES!" compare equal: STT punctuation and case are noise here. */
export function normalizeSpeech(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s#*]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

async function matchRoute(rc: RunContext, routes: readonly ListenRoute[], res: Exclude<ListenResult, { type: 'timeout' }>, signal: AbortSignal): Promise<string | undefined> {
  const value = res.type === 'speech' ? res.text : res.digits;
  let intent: string | null | undefined;
  for (const r of routes) {
    if (r.dtmf !== undefined && !(res.type === 'dtmf' && res.digits === r.dtmf)) continue;
    if (r.regex !== undefined && !configRegex(r.regex).test(value)) continue;
    if (r.equals !== undefined && normalizeSpeech(value) !== normalizeSpeech(r.equals)) continue;
    if (r.intent !== undefined) {
      if (res.type !== 'speech') continue;
      // One classification for all intent routes of the step, asked only when an intent route is reached.
      if (intent === undefined) {
        const intents = routes.filter((x) => x.intent !== undefined).map((x) => x.intent!);
        intent = await rc.session.classifyIntent(value, intents, signal);
      }
      if (intent !== r.intent) continue;
    }
    return r.goto;
  }
  return undefined;
}

/**
 * Words a recognizer may favour: `equals` routes, and regex routes that are
 * plain alternations of words (`(?i)support|help`). Anything cleverer in a
 * regex is left out rather than guessed.
 */
export function routeHints(step: Pick<ListenStep, 'routes'>): string[] {
  const out = new Set<string>();
  for (const r of step.routes) {
    if (r.equals) out.add(r.equals);
    else if (r.regex) {
      const body = r.regex.replace(/^\(\?i\)/, '').replace(/\\b/g, '');
      const plain = body.replace(/^\^?\(?(.*?)\)?\$?$/, '$1');
      if (/^[A-Za-z' ]+(\|[A-Za-z' ]+)*$/.test(plain)) for (const w of plain.split('|')) if (w.trim()) out.add(w.trim());
    }
  }
  return [...out];
}

/** The words already pick a route (regex/equals ones; intent needs the model): the engine's endpointing ends the turn sooner. */
export function routesMatch(step: Pick<ListenStep, 'routes'>): ((text: string) => boolean) | undefined {
  const rs = step.routes.filter((r) => r.dtmf === undefined && r.intent === undefined && (r.regex !== undefined || r.equals !== undefined));
  if (rs.length === 0) return undefined;
  return (text) => rs.some((r) => (r.regex === undefined || configRegex(r.regex).test(text)) && (r.equals === undefined || normalizeSpeech(text) === normalizeSpeech(r.equals)));
}

export const runListen: StepExecutor<ListenStep> = async (step, rc, signal) => {
  const key = qualified(step);
  let c = rc.counters.get(key);
  if (!c || rc.previous !== key) {
    c = { noInput: 0, noMatch: 0 };
    rc.counters.set(key, c);
  }
  const exhausted = (last: 'noInput' | 'noMatch'): string | undefined =>
    step.exhausted ?? (last === 'noInput' ? findHandler(rc.config, step, 'noInput') : undefined) ?? step.else;
  const hints = routeHints(step);
  const complete = routesMatch(step);
  let prompt = step.prompt;
  for (;;) {
    if (prompt) {
      const text = render(rc, prompt);
      if (text.trim()) await rc.session.say(text, { bargeIn: step.bargeIn, signal });
    }
    throwIfAborted(signal);
    const res = await waitForCaller(rc, step, {
      input: step.input,
      timeoutMs: step.timeoutMs ?? rc.config.settings.timeouts.noInput,
      numDigits: step.numDigits,
      finishOnKey: step.finishOnKey,
      hints,
      signal,
      ...(step.endpoint ? { endpoint: step.endpoint } : {}),
      ...(complete ? { complete } : {}),
    });
    if (res.type === 'timeout') {
      c.noInput++;
      if (c.noInput + c.noMatch > step.retries) return exhausted('noInput');
      prompt = pickMessage(step.noInput, c.noInput) ?? step.prompt;
      continue;
    }
    if (step.save) rc.scope.vars[step.save] = res.type === 'speech' ? res.text : res.digits;
    if (step.routes.length === 0) return undefined;
    const target = await matchRoute(rc, step.routes, res, signal);
    if (target) return target;
    if (step.else) return step.else;
    c.noMatch++;
    if (c.noMatch + c.noInput > step.retries) return exhausted('noMatch');
    prompt = pickMessage(step.noMatch, c.noMatch) ?? step.prompt;
  }
};
