/**
 * The softphone page's transcript for interruptions: the page script runs
 * in a node vm with a minimal DOM (no browser needed) and gets the call
 * events as the server sends them (`{ type: 'event', event }` messages).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../core/engine/events.js';
import { ROOT } from '../cli/helpers.js';

interface Stub {
  [k: string]: unknown;
}

function element(): Stub {
  return {
    dataset: {},
    style: {},
    textContent: '',
    checked: false,
    hidden: false,
    tBodies: [{ append() {} }],
    append() {},
    addEventListener() {},
    scrollIntoView() {},
  };
}

function loadPage(): { onMessage(m: unknown): void; transcript: { kind: string; who: string; text: string }[] } {
  const els = new Map<string, Stub>();
  const document = {
    getElementById: (id: string) => {
      if (!els.has(id)) els.set(id, element());
      return els.get(id);
    },
    createElement: () => {
      const e = element();
      const parts: string[] = [];
      e.append = (...n: { textContent?: string; data?: string }[]) => parts.push(...n.map((x) => x.data ?? x.textContent ?? ''));
      Object.defineProperty(e, 'text', { get: () => parts.join('') });
      return e;
    },
    createTextNode: (data: string) => ({ data }),
    addEventListener() {},
  };
  class WebSocket {
    static OPEN = 1;
    readyState = 0;
    send() {}
    close() {}
  }
  const ctx: Stub = { document, WebSocket, location: { protocol: 'http:', host: '127.0.0.1:1' }, setTimeout: () => 0, console };
  ctx.window = ctx;
  runInNewContext(readFileSync(join(ROOT, 'plugins/local/static/softphone.js'), 'utf8'), ctx);
  const state = ctx.softphone as { transcript: { kind: string; who: string; text: string }[] };
  return { onMessage: ctx.onMessage as (m: unknown) => void, transcript: state.transcript };
}

const ev = (e: Partial<CallEvent> & { type: CallEvent['type'] }) => ({ type: 'event', event: { callId: 'c1', t: 0, ...e } });

describe('softphone page: what an interruption did', () => {
  it('shows a prompt cut off before its first word instead of hiding it, a cut prompt as interrupted, and a false interruption', () => {
    const page = loadPage();
    page.onMessage(ev({ type: 'bot.said', text: '', interrupted: true }));
    page.onMessage(ev({ type: 'bot.said', text: 'Thanks for', interrupted: true }));
    page.onMessage(ev({ type: 'bot.resumed', pausedMs: 1000 }));
    page.onMessage(ev({ type: 'bot.said', text: 'Press one for sales.', interrupted: false }));
    expect(page.transcript).toEqual([
      { kind: 'bot', who: 'bot', text: '(interrupted before the first word)' },
      { kind: 'bot', who: 'bot', text: 'Thanks for …(interrupted)' },
      { kind: 'note', who: '', text: 'bot went on after 1.0 s (no words heard)' },
      { kind: 'bot', who: 'bot', text: 'Press one for sales.' },
    ]);
  });
});
