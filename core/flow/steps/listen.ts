import type { ListenRoute, ListenStep } from '../../config/types.js';
import type { ListenResult } from '../../engine/session-api.js';
import { splitSentences } from '../../engine/sentence-splitter.js';
import { configRegex } from '../regex.js';
import { findHandler, qualified, render, throwIfAborted, waitForCaller, type RunContext, type StepExecutor } from '../context.js';

/** Counted prompts (VoiceXML style): the n-th retry uses the n-th message, the last one repeats. */
export function pickMessage(list: readonly string[], count: number): string | undefined {
  if (list.length === 0) return undefined;
  return list[Math.min(count, list.length) - 1];
}

/** A prompt cut off by a caller who then said nothing is gone on with at most this often per step. */
const MAX_CONTINUES = 2;

/**
 * What is left of `text` after the caller heard `played` of it: from the
 * first sentence they did not hear whole (a cut sentence is said again from
 * its start, not from the middle of a word). '' when all of it was heard.
 */
export function unheardRest(text: string, played: string): string {
  const pieces = splitSentences(text);
  let heard = '';
  for (let i = 0; i < pieces.length; i++) {
    const next = heard ? `${heard} ${pieces[i]}` : pieces[i];
    if (!played.startsWith(next)) return pieces.slice(i).join(' ');
    heard = next;
  }
  return '';
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
  let prompt = step.prompt;
  // The rest of a prompt the caller cut off without a word: said next instead of `prompt`.
  let rest: string | undefined;
  let continues = 0;
  for (;;) {
    let cut: { text: string; played: string } | undefined;
    const text = rest ?? (prompt ? render(rc, prompt) : '');
    rest = undefined;
    if (text.trim()) {
      const r = await rc.session.say(text, { bargeIn: step.bargeIn, signal });
      if (r.interrupted) cut = { text, played: r.playedText };
    }
    throwIfAborted(signal);
    const res = await waitForCaller(rc, step, {
      input: step.input,
      timeoutMs: step.timeoutMs ?? rc.config.settings.timeouts.noInput,
      numDigits: step.numDigits,
      finishOnKey: step.finishOnKey,
      hints,
      ...(cut ? { cutOff: true } : {}),
      signal,
    });
    if (res.type === 'timeout' && res.cutOff && cut && continues < MAX_CONTINUES) {
      // Cut off by noise or a cough, not by words: the caller never heard the rest. Not a retry.
      continues++;
      rest = unheardRest(cut.text, cut.played);
      continue;
    }
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
