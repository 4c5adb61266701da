/**
 * Issue #12, "the class, not the instances": one real `voicebot run` process,
 * real softphone WebSockets on loopback, all at once. Two healthy callers
 * talk through the flow while other callers break their own call in each of
 * the ways the issue found (a `null` frame and other non-object JSON, a
 * 2,000-`say` flood, a tool that never answers, an http server that never
 * answers or answers too much, a caller-chosen `../` sound path, a caller
 * value with URL syntax). The healthy calls must keep getting bot audio at
 * the 20 ms frame rate and end normally; every broken call ends (or is
 * refused) with its coded error or its on.error path; the process takes a
 * fresh call afterwards and exits 0 on SIGTERM.
 *
 * What a healthy caller got is checked by media and by order, not by the
 * clock: its long answer was playing before the first hostile byte and still
 * playing after the last hostile call was over; it arrived as exactly its own
 * frames (placed between the call's events on the same socket), and all the
 * audio the caller received decodes to everything the bot said. No frame gap
 * or frame rate is measured against wall time: a loaded machine delays frames
 * by itself (this checks isolation, not performance).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../core/audio/wav.js';
import type { CallEvent } from '../../core/engine/events.js';
import { SoftphoneClient } from '../../plugins/local/index.js';
import { MockSpeechDecoder, mockSpeechDurationMs } from '../../plugins/mock/mock-speech.js';
import { cliBackground } from '../cli/helpers.js';
import { rawClient, until } from '../websocket/helpers.js';

const RATE = 8000;
const FRAME_MS = 20;
/** The healthy calls' long sentence: ≈ 18 s of mock speech, long enough to span every hostile call. */
const LONG = 'This is a long answer that keeps playing while other callers try to break the line, and it must reach you at an even pace.';
const NAMES = ['Alice', 'Bob'];
/** Hang guard for each wait on a loaded machine (not a measure of anything). */
const WAIT = 60_000;

const root = mkdtempSync(join(tmpdir(), 'vb-isolation-'));
const cfgDir = join(root, 'cfg');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The http server the flow's http steps call: /slow never answers, /big never stops, /users/… records the target. */
function apiServer(): Promise<{ server: Server; url: string; targets: string[] }> {
  const targets: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    targets.push(req.url ?? '');
    if (req.url === '/slow') return; // headers never come
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(16 * 1024, 1);
      let sent = 0;
      const more = (): void => {
        while (sent < 256 && res.write(chunk)) sent++;
        if (sent < 256) res.once('drain', more);
        else res.end();
      };
      res.on('error', () => {});
      return more();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"name":"someone"}');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, targets })));
}

function writeConfig(api: string): string {
  mkdirSync(join(cfgDir, 'sounds'), { recursive: true });
  const wav = (n: number): Buffer => Buffer.from(encodeWav(new Int16Array(n).fill(4000), RATE));
  writeFileSync(join(cfgDir, 'sounds', 'menu.wav'), wav(800));
  writeFileSync(join(root, 'outside.wav'), wav(8000)); // what ../../outside would reach
  writeFileSync(join(cfgDir, 'hang.js'), 'export function hang() { return new Promise(() => {}); }\n');
  const file = join(cfgDir, 'voicebot.yaml');
  writeFileSync(
    file,
    `version: 1
plugins:
  telephony: { provider: local }
  audioStream: { provider: inprocess }
  vad: { provider: energy }
  stt: { provider: mock }
  tts: { provider: mock }
  llm:
    provider: mock
    script:
      - { when: "hours", toolCall: { name: stuck } }
      - { afterTool: true, reply: "The tool did not answer." }
settings:
  timeouts: { noInput: 8s, endOfSpeech: 400ms, maxCall: 2m, shutdown: 3s }
  server: { host: 127.0.0.1, port: 0 }
vars:
  API: "${api}"
tools:
  stuck: { description: never answers, handler: ./hang.js#hang, timeout: 1s }
flows:
  main:
    start: menu
    on: { error: sorry }
    steps:
      menu:
        listen: { prompt: "Key?", input: [dtmf], numDigits: 1, timeout: 20s }
        routes:
          - { dtmf: "1", goto: healthy }
          - { dtmf: "2", goto: tool }
          - { dtmf: "3", goto: slow }
          - { dtmf: "4", goto: big }
          - { dtmf: "5", goto: sound }
          - { dtmf: "6", goto: lookup }
        else: sorry
      healthy:
        listen: { prompt: "Name?", input: [speech] }
        save: choice
        else: long
      long: { say: "Hello {{choice}}. ${LONG}", bargeIn: false, next: bye }
      bye: { hangup: "Bye." }
      tool:
        llm: { system: help, say: "Ask.", tools: [stuck], maxTurns: 1, exits: [ { maxTurns: true, goto: bye } ] }
      slow: { http: { url: "{{API}}/slow", timeout: 1s }, next: bye }
      big: { http: { url: "{{API}}/big", timeout: 5s, maxBytes: 10000 }, save: r, onError: big_failed, next: bye }
      big_failed:
        branch: [ { var: r.error, matches: "larger than 10000 bytes", goto: sorry } ]
        else: bye
      sound:
        listen: { prompt: "Name?", input: [speech] }
        save: choice
        else: sound_play
      sound_play: { play: { file: "./sounds/{{choice}}.wav" }, next: bye }
      lookup:
        listen: { prompt: "Name?", input: [speech] }
        save: choice
        else: lookup_get
      lookup_get: { http: { url: "{{API}}/users/{{choice}}/info" }, save: user, next: looked }
      looked: { hangup: "Found {{user.name}}." }
      sorry: { hangup: "Sorry." }
`,
  );
  return file;
}

const steps = (c: SoftphoneClient): string[] => c.events.filter((e) => e.type === 'flow.step').map((e) => (e as Extract<CallEvent, { type: 'flow.step' }>).step);
const errorsOf = (c: SoftphoneClient): { code: string; message: string }[] =>
  c.events.filter((e) => e.type === 'call.error').map((e) => e as Extract<CallEvent, { type: 'call.error' }>);
const saidBy = (c: SoftphoneClient): string[] => c.events.filter((e) => e.type === 'bot.said').map((e) => (e as Extract<CallEvent, { type: 'bot.said' }>).text);
const listening = (step: string) => (e: CallEvent) => e.type === 'bot.listening' && e.step === step;
const entered = (step: string) => (e: CallEvent) => e.type === 'flow.step' && e.step === step;

/** A softphone call at the menu: answered, the menu listening, then `digit` pressed. */
async function dial(ws: string, digit: string): Promise<SoftphoneClient> {
  const c = new SoftphoneClient(ws, { sampleRate: RATE });
  await c.answered;
  await c.waitForEvent(listening('menu'), WAIT);
  c.pressDtmf(digit);
  return c;
}

/** Presses `digit`, waits for the step's listen, says `text`. */
async function dialAndSay(ws: string, digit: string, step: string, text: string): Promise<SoftphoneClient> {
  const c = await dial(ws, digit);
  await c.waitForEvent(listening(step), WAIT);
  c.say(text);
  return c;
}

describe('one voicebot run: calls broken in every known way never cost the other calls', () => {
  it('healthy calls keep real-time audio and end normally; each broken call ends with its coded error; the process lives on', async () => {
    const api = await apiServer();
    const p = cliBackground(['run', '-c', writeConfig(api.url)], /call your bot at http:\/\/[^/]+\//, { cwd: cfgDir, env: { VOICEBOT_LOG: 'warn' } });
    try {
      await p.ready;
      const ws = /call your bot at (http:\/\/[^/]+\/)/.exec(p.output().stderr)![1].replace(/^http/, 'ws') + 'ws';

      // ── healthy calls: say a name, then hear the long answer ──────────────
      const healthy = await Promise.all(
        NAMES.map(async (name) => {
          const c = new SoftphoneClient(ws, { sampleRate: RATE });
          // Each bot frame: when it arrived (client ms, to order it against the hostile calls) and how many call events
          // had arrived before it (events and audio share the socket, so this places every frame between the events
          // exactly, whatever the clock did); and what the caller heard, decoded from those frames.
          const times: number[] = [];
          const after: number[] = [];
          const decoder = new MockSpeechDecoder(RATE);
          const heard: { text: string; after: number }[] = [];
          c.setReceiver((f) => {
            times.push(performance.now());
            after.push(c.events.length);
            decoder.push(f.samples);
            for (const text of decoder.take()) heard.push({ text, after: c.events.length });
          });
          await c.answered;
          await c.waitForEvent(listening('menu'), WAIT);
          c.pressDtmf('1');
          await c.waitForEvent(listening('healthy'), WAIT);
          c.say(name);
          await c.waitForEvent(entered('long'), WAIT);
          // The long answer is playing (its first frame arrived) before the first hostile byte.
          const iLong = c.events.findIndex(entered('long'));
          await until(() => after.some((n) => n > iLong), 'the long answer playing', WAIT);
          const bye = c.waitForEvent(entered('bye'), 90_000);
          return { c, name, times, after, heard, bye };
        }),
      );

      // ── hostile calls, all at once, while the healthy calls play ─────────
      const nullFrames = (async () => {
        for (const text of ['null', '[]', '7', '"x"', '{"type":null}']) {
          const bad = await rawClient(ws, {});
          bad.send(text);
          expect((await bad.next((m) => m.type === 'error', 'a coded error')).code).toBe('VB_ERR_LOCAL_PROTOCOL');
          expect((await bad.closed).code).toBe(1008);
        }
        // The same mid-call: that call ends with reason error, nobody else's does.
        const mid = await rawClient(ws, {});
        mid.send({ type: 'hello', version: 1, sampleRate: RATE });
        await mid.next((m) => m.type === 'answered', 'answered');
        mid.send('null');
        expect((await mid.next((m) => m.type === 'error', 'a coded error')).code).toBe('VB_ERR_LOCAL_PROTOCOL');
        expect((await mid.next((m) => m.type === 'ended', 'ended')).reason).toBe('error');
        await mid.closed;
        return performance.now();
      })();

      const flood = (async () => {
        const c = new SoftphoneClient(ws, { sampleRate: RATE });
        await c.answered;
        const text = 'flood '.repeat(83).slice(0, 500);
        for (let i = 0; i < 2000; i++) c.say(text);
        const refused = () => c.messages.filter((m) => m.type === 'error' && m.code === 'VB_ERR_LOCAL_LIMIT').length;
        await until(() => refused() + c.messages.filter((m) => m.type === 'saying').length >= 2000, 'an answer to each say', WAIT);
        expect(c.messages.filter((m) => m.type === 'saying')).toHaveLength(8);
        expect(refused()).toBe(1992);
        expect(c.messages.filter((m) => m.type === 'error' && m.code !== 'VB_ERR_LOCAL_LIMIT')).toEqual([]);
        c.hangup();
        expect(await c.ended).toBe('caller-hangup');
        c.close();
        return performance.now();
      })();

      const tool = (async () => {
        const c = await dialAndSay(ws, '2', 'tool', 'what are your hours');
        const called = await c.waitForEvent((e) => e.type === 'tool.called', WAIT);
        expect((called as Extract<CallEvent, { type: 'tool.called' }>).error).toMatch(/^VB_ERR_TOOL_TIMEOUT /);
        const at = performance.now();
        expect(await c.ended).toBe('bot-hangup');
        expect(saidBy(c)).toEqual(['Key?', 'Ask.', 'The tool did not answer.', 'Bye.']);
        c.close();
        return at;
      })();

      // No onError: the flow's on.error, with the coded error as a call.error.
      const slow = (async () => {
        const c = await dial(ws, '3');
        await c.waitForEvent(entered('sorry'), WAIT);
        const at = performance.now();
        expect(errorsOf(c)).toEqual([expect.objectContaining({ code: 'VB_ERR_FLOW_HTTP', message: expect.stringContaining('within 1000 ms') })]);
        expect(await c.ended).toBe('bot-hangup');
        expect(steps(c)).toEqual(['menu', 'slow', 'sorry']);
        c.close();
        return at;
      })();

      // onError: the step's own error path, which sees the cap's message.
      const big = (async () => {
        const c = await dial(ws, '4');
        await c.waitForEvent(entered('sorry'), WAIT);
        const at = performance.now();
        expect(await c.ended).toBe('bot-hangup');
        expect(steps(c)).toEqual(['menu', 'big', 'big_failed', 'sorry']);
        expect(errorsOf(c)).toEqual([]);
        c.close();
        return at;
      })();

      const traversal = (async () => {
        const c = await dialAndSay(ws, '5', 'sound', '../../outside');
        await c.waitForEvent(entered('sorry'), WAIT);
        const at = performance.now();
        expect(errorsOf(c)).toEqual([expect.objectContaining({ code: 'VB_ERR_FLOW_PLAY_PATH' })]);
        expect(await c.ended).toBe('bot-hangup');
        expect(steps(c)).toEqual(['menu', 'sound', 'sound_play', 'sorry']);
        c.close();
        return at;
      })();

      const encoded = (async () => {
        const c = await dialAndSay(ws, '6', 'lookup', 'x&admin=1#frag');
        expect(await c.ended).toBe('bot-hangup');
        const at = performance.now();
        expect(errorsOf(c)).toEqual([]);
        expect(saidBy(c).at(-1)).toBe('Found someone.');
        c.close();
        return at;
      })();

      const hostileAt = await Promise.all([nullFrames, flood, tool, slow, big, traversal, encoded]);
      expect(api.targets).toContain('/users/x%26admin%3D1%23frag/info');
      expect(api.targets.filter((t) => t.includes('admin=1'))).toEqual([]);
      const hostileUntil = Math.max(...hostileAt);

      // ── the healthy calls: real-time audio throughout, a normal end ──────
      for (const h of healthy) {
        expect(await h.c.ended).toBe('bot-hangup');
        await h.bye;
        // The frames between entering 'long' and entering 'bye' (placed by the events on the same socket, not by the
        // clock) are the long answer's audio. It began before the hostile calls (above) and still played after the
        // last of them was over: the answer spans them all.
        const iLong = h.c.events.findIndex(entered('long'));
        const iBye = h.c.events.findIndex(entered('bye'));
        const inLong = (n: number): boolean => n > iLong && n <= iBye;
        const lastLongFrameAt = h.times[h.after.findLastIndex(inLong)]!;
        expect(lastLongFrameAt, 'the hostile calls were over before this call stopped playing').toBeGreaterThanOrEqual(hostileUntil);
        // All of it, intact: exactly the audio of what was said there (no frame lost, repeated or padded), which
        // decodes to the whole answer.
        const longSaid = h.heard.filter((u) => inLong(u.after)).map((u) => u.text);
        expect(longSaid.join(' '), `${h.name}: the long answer as heard`).toBe(`Hello ${h.name}. ${LONG}`);
        const longMs = longSaid.reduce((ms, u) => ms + mockSpeechDurationMs(u), 0);
        expect(h.after.filter(inLong).length, `${h.name}: frames of the long answer`).toBe(longMs / FRAME_MS);
        // And every prompt of the call was heard as said.
        expect(h.heard.map((u) => u.text).join(' ')).toBe(saidBy(h.c).join(' '));
        expect(steps(h.c)).toEqual(['menu', 'healthy', 'long', 'bye']);
        expect(h.c.events.filter((e) => e.type === 'caller.said' && e.final).map((e) => (e as { text: string }).text)).toEqual([h.name]);
        expect(saidBy(h.c)).toEqual(['Key?', 'Name?', `Hello ${h.name}. ${LONG}`, 'Bye.']);
        expect(errorsOf(h.c)).toEqual([]);
        h.c.close();
      }

      // ── the process is still up and takes a fresh call ───────────────────
      expect(p.child.exitCode).toBe(null);
      const fresh = new SoftphoneClient(ws, { sampleRate: RATE });
      await fresh.answered;
      await until(() => fresh.rxFrames > 10, 'bot audio on a fresh call', WAIT);
      fresh.hangup();
      expect(await fresh.ended).toBe('caller-hangup');
      fresh.close();
    } finally {
      p.child.kill('SIGTERM');
      const code = await p.exited;
      api.server.closeAllConnections();
      await new Promise((r) => api.server.close(r));
      const stderr = p.output().stderr;
      expect(code, stderr.slice(-4000)).toBe(0);
      // Every fault above was a coded warning for its own call: no error-level log, no stack trace.
      expect(stderr.split('\n').filter((l) => /"level":(50|60)/.test(l) || /^\s+at /.test(l) || /Uncaught|TypeError|RangeError/.test(l))).toEqual([]);
      expect(stderr, 'warnings were captured (so the check above saw the log)').toContain('"code":"VB_ERR_FLOW_PLAY_PATH"');
    }
  }, 240_000);
});
