import type { OutboundCalls, OutboundCallView, OutboundEvent } from '../../api/outbound-calls.js';
import type { CallEvent } from '../../engine/events.js';
import { VoicebotError, toVoicebotError } from '../../errors/index.js';
import type { Command, CliIO, ParsedArgs } from '../command.js';
import { formatEvent } from './simulate.js';

/** Exit codes: the call ran and ended normally / ended in an error / never reached anyone. */
export const CALL_EXIT = { ok: 0, error: 1, usage: 2, notReached: 3 } as const;

function parseVars(args: ParsedArgs): Record<string, string> | VoicebotError {
  const out: Record<string, string> = {};
  const list = args.values.var;
  for (const kv of (Array.isArray(list) ? list : list === undefined ? [] : [list]) as string[]) {
    const i = kv.indexOf('=');
    if (i <= 0) return new VoicebotError('VB_ERR_CLI_USAGE', { detail: `--var takes name=value, got "${kv}"` });
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

export function formatOutbound(ev: OutboundEvent): string {
  switch (ev.type) {
    case 'outbound.dialing':
      return `dialling ${ev.to} (call ${ev.callId}) → flow ${ev.flow}`;
    case 'outbound.answered':
      return '  answered';
    case 'outbound.amd':
      return `  answering-machine detection: ${ev.outcome} after ${ev.decidedAfterMs} ms (${ev.reason})`;
    case 'outbound.failed':
      return `call not placed: ${ev.code} ${ev.message}`;
    case 'outbound.ended':
      return `  outbound call ended (${ev.reason})`;
  }
}

function exitFor(v: OutboundCallView): number {
  if (v.state === 'failed') return CALL_EXIT.notReached;
  return v.endReason === 'error' || v.error ? CALL_EXIT.error : CALL_EXIT.ok;
}

async function standalone(args: ParsedArgs, io: CliIO, req: Parameters<OutboundCalls['place']>[0]): Promise<number> {
  // Loaded here, not at the top: every CLI process imports every command's module (see ./index.ts).
  const [{ loadForCommand }, { createLogger }, { VoicebotApp }, { OutboundCalls }] = await Promise.all([
    import('../load.js'),
    import('../../logging.js'),
    import('../../app/app.js'),
    import('../../api/outbound-calls.js'),
  ]);
  const config = await loadForCommand(io, args.values.config);
  if (!config) return CALL_EXIT.error;
  const json = args.values.json === true;
  const app = await VoicebotApp.create({ config, logger: createLogger({ level: io.env.VOICEBOT_LOG ?? 'warn' }) });
  const out = (line: string | undefined) => line && io.stdout(line + '\n');
  let legId: string | undefined;
  app.onEvent((ev: CallEvent) => {
    if (legId && ev.callId !== legId) return;
    out(json ? JSON.stringify(ev) : formatEvent(ev));
  });
  await app.start();
  const limits = config.settings.api?.outbound ?? { maxConcurrent: 1, perMinute: 1, ringTimeoutMs: 30_000 };
  const calls = new OutboundCalls(app, limits);
  calls.onEvent((ev) => {
    if (ev.type === 'outbound.dialing') legId = ev.callId;
    out(json ? JSON.stringify(ev) : formatOutbound(ev));
  });
  let id: string | undefined;
  const onAbort = () => void (id && calls.hangup(id));
  io.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const placed = calls.place(req);
    id = placed.id;
    const done = await calls.whenDone(id)!;
    if (done.state === 'failed' && done.error) io.stderr(`${done.error.code} ${done.error.message}\n`);
    return exitFor(done);
  } catch (e) {
    io.stderr(toVoicebotError(e, 'VB_ERR_OUTBOUND_FAILED', { to: req.to }).toLine() + '\n');
    return CALL_EXIT.error;
  } finally {
    io.signal.removeEventListener('abort', onAbort);
    calls.close();
    await app.stop();
  }
}

async function viaApi(args: ParsedArgs, io: CliIO, req: Parameters<OutboundCalls['place']>[0]): Promise<number> {
  const base = String(args.values.api).replace(/\/+$/, '');
  const token = typeof args.values.token === 'string' ? args.values.token : io.env.VOICEBOT_API_TOKEN;
  if (!token) {
    io.stderr(new VoicebotError('VB_ERR_CLI_USAGE', { detail: '--api needs --token (or VOICEBOT_API_TOKEN)' }).toLine() + '\n');
    return CALL_EXIT.usage;
  }
  const json = args.values.json === true;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const request = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    let r: Response;
    try {
      r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      throw new VoicebotError('VB_ERR_CALL_CLI_API', { url: base, detail: e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e) }, { cause: e });
    }
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };
  let id: string | undefined;
  const onAbort = () => void (id && request('DELETE', `/v1/calls/${id}`).catch(() => undefined));
  io.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const placed = await request('POST', '/v1/calls', req);
    if (placed.status !== 201) {
      const err = placed.json?.error ?? { code: 'VB_ERR_CALL_CLI_API', message: `HTTP ${placed.status}` };
      io.stderr(`${err.code} ${err.message}\n`);
      return err.code === 'VB_ERR_API_CONCURRENCY' || err.code === 'VB_ERR_API_RATE_LIMIT' ? CALL_EXIT.notReached : CALL_EXIT.error;
    }
    id = placed.json.id as string;
    let shown = 0;
    let state = '';
    for (;;) {
      const r = await request('GET', `/v1/calls/${id}`);
      const v = r.json as OutboundCallView;
      if (json) {
        if (v.state !== state || v.transcript.length !== shown) io.stdout(JSON.stringify(v) + '\n');
      } else {
        if (v.state !== state) io.stdout((state === '' ? `call ${v.id} to ${v.to} → flow ${v.flow}: ${v.state}` : `  ${v.state}${v.amd && v.state !== 'dialing' ? ` (amd: ${v.amd.outcome})` : ''}`) + '\n');
        for (const l of v.transcript.slice(shown)) io.stdout(`  ${l.who === 'bot' ? 'bot:   ' : 'caller:'} ${l.text}\n`);
      }
      shown = v.transcript.length;
      state = v.state;
      if (v.state === 'ended' || v.state === 'failed') {
        if (v.error) io.stderr(`${v.error.code} ${v.error.message}\n`);
        else if (!json) io.stdout(`call ended (${v.endReason})\n`);
        return exitFor(v);
      }
      await new Promise((res) => setTimeout(res, 250));
    }
  } catch (e) {
    io.stderr(toVoicebotError(e, 'VB_ERR_CALL_CLI_API', { url: base, detail: String(e) }).toLine() + '\n');
    return CALL_EXIT.error;
  } finally {
    io.signal.removeEventListener('abort', onAbort);
  }
}

export const callCommand: Command = {
  name: 'call',
  summary: 'Place one outbound call and print the conversation (through a running voicebot, or standalone)',
  usage: [
    '  voicebot call NUMBER [--flow NAME] [--var k=v]... [--caller-id NUMBER] [--amd] [--json]',
    '                       (--api URL --token TOKEN | -c FILE)',
    '',
    '      --api URL            a running `voicebot run` with settings.api (e.g. http://127.0.0.1:8090)',
    '      --token TOKEN        its settings.api.token (default $VOICEBOT_API_TOKEN)',
    '  -c, --config FILE        standalone: start the bot from FILE, place the call, stop (default ./voicebot.yaml)',
    '      --flow NAME          flow to run (default: routes with direction outbound, else the first flow)',
    '      --var k=v            a {{vars.k}} of the call (repeatable)',
    '      --caller-id NUMBER   caller id shown to the callee',
    '      --amd                answering-machine detection (default: the flow\'s amd:)',
    '      --json               one JSON object per line',
    '',
    '  Exit 0 when the call was answered and ended normally, 1 when it ended in an',
    '  error, 3 when nobody was reached (busy, no answer, declined, limits).',
  ].join('\n'),
  options: {
    config: { type: 'string', short: 'c' },
    api: { type: 'string' },
    token: { type: 'string' },
    flow: { type: 'string' },
    var: { type: 'string', multiple: true },
    'caller-id': { type: 'string' },
    amd: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  maxPositionals: 1,
  async run(args, io) {
    const to = args.positionals[0];
    if (!to) {
      io.stderr(new VoicebotError('VB_ERR_CLI_USAGE', { detail: 'voicebot call needs the NUMBER to call' }).toLine() + '\n');
      return CALL_EXIT.usage;
    }
    if (args.values.api !== undefined && args.values.config !== undefined) {
      io.stderr(new VoicebotError('VB_ERR_CLI_USAGE', { detail: 'use either --api (a running voicebot) or -c (standalone), not both' }).toLine() + '\n');
      return CALL_EXIT.usage;
    }
    const vars = parseVars(args);
    if (vars instanceof VoicebotError) {
      io.stderr(vars.toLine() + '\n');
      return CALL_EXIT.usage;
    }
    const req = {
      to,
      ...(typeof args.values.flow === 'string' ? { flow: args.values.flow } : {}),
      ...(Object.keys(vars).length ? { vars } : {}),
      ...(typeof args.values['caller-id'] === 'string' ? { callerId: args.values['caller-id'] } : {}),
      ...(args.values.amd === true ? { amd: true } : {}),
    };
    return args.values.api !== undefined ? viaApi(args, io, req) : standalone(args, io, req);
  },
};
