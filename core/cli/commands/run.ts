import { RUN_ROLES, type RunRole } from '../../app/roles.js';
import { VoicebotError } from '../../errors/index.js';
import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';

/** A telephony plugin that serves a page (the local softphone) exposes its address. */
function urlOf(p: unknown): string | undefined {
  const u = (p as { url?: unknown } | undefined)?.url;
  return typeof u === 'string' ? u : undefined;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Start the bot with the configured plugins (Ctrl-C stops it cleanly)',
  usage: [
    '  voicebot run [-c FILE] [--json] [--role all|edge|worker]',
    '',
    '  -c, --config FILE   config file (default ./voicebot.yaml)',
    '      --json          print call events as JSON lines on stdout (and logs as JSON on stderr)',
    '      --role ROLE     all (default): the whole bot in this process;',
    '                      edge: telephony only, stream each call to the worker at audioStream.url;',
    '                      worker: engine only, take streamed calls on audioStream.listen',
    '                      (edge and worker need audioStream: { provider: websocket, token: ... })',
    '',
    '  SIGTERM drains: no new calls, live ones finish within settings.fleet.drainTimeout, exit 0',
    '  (a second SIGTERM stops at once). Ctrl-C stops at once. See README "Running a fleet".',
  ].join('\n'),
  options: {
    config: { type: 'string', short: 'c' },
    json: { type: 'boolean' },
    role: { type: 'string' },
  },
  maxPositionals: 0,
  async run(args, io) {
    const t0 = performance.now();
    const roleArg = args.values.role ?? 'all';
    if (typeof roleArg !== 'string' || !(RUN_ROLES as readonly string[]).includes(roleArg)) {
      io.stderr(new VoicebotError('VB_ERR_CLI_USAGE', { detail: `--role must be one of ${RUN_ROLES.join(', ')}, not "${String(roleArg)}"` }).toLine() + '\n');
      return 2;
    }
    const role = roleArg as RunRole;
    // Loaded here, not at the top: every CLI process imports every command's module (see ./index.ts).
    const [{ loadForCommand }, { createLogger }, { VoicebotApp }, { FleetNode }, { startCallsApi }, { redisLabel }] = await Promise.all([
      import('../load.js'),
      import('../../logging.js'),
      import('../../app/app.js'),
      import('../../fleet/node.js'),
      import('../../api/index.js'),
      import('../../fleet/labels.js'),
    ]);
    const config = await loadForCommand(io, args.values.config);
    if (!config) return 1;
    const logger = createLogger({ env: io.env, format: args.values.json ? 'json' : undefined });
    const app = await VoicebotApp.create({ config, logger, role });
    if (args.values.json) {
      app.onEvent((ev) => io.stdout(JSON.stringify(ev) + '\n'));
      app.onStreamEvent((ev) => io.stdout(JSON.stringify(ev) + '\n'));
    } else {
      app.onStreamEvent((ev) => {
        if (ev.type === 'stream.started') io.stderr(`call ${ev.callId} from ${ev.from} to ${ev.to} → flow ${ev.flow}, streamed to ${ev.url} (${ev.format})\n`);
        else if (ev.type === 'stream.reconnecting') io.stderr(`  stream of call ${ev.callId} dropped (${ev.detail}); reconnecting\n`);
        else if (ev.type === 'stream.resumed') io.stderr(`  stream of call ${ev.callId} resumed\n`);
        else if (ev.type === 'stream.redispatched') io.stderr(`  call ${ev.callId} lost its worker; goes on at ${ev.url} from ${ev.step}\n`);
        else if (ev.type === 'stream.ended') io.stderr(`call ${ev.callId} ended (${ev.reason}${ev.code ? ` ${ev.code}` : ''}${ev.fallback ? `; settings.fleet.noWorker: ${ev.fallback}` : ''})\n`);
      });
    }
    if (!args.values.json)
      app.onEvent((ev) => {
        if (ev.type === 'call.started') io.stderr(`call ${ev.callId} from ${ev.from} to ${ev.to} → flow ${ev.flow}\n`);
        else if (ev.type === 'caller.said' && ev.final) io.stderr(`  caller: ${ev.text}\n`);
        else if (ev.type === 'bot.said') io.stderr(`  bot:    ${ev.text}${ev.interrupted ? ' [interrupted]' : ''}\n`);
        else if (ev.type === 'call.ended') io.stderr(`call ${ev.callId} ended (${ev.reason})\n`);
      });
    // SIGTERM drains (README "Running a fleet"); Ctrl-C stops at once.
    let term = false;
    const onTerm = (): void => void (term = true);
    process.on('SIGTERM', onTerm);
    const fleet = await FleetNode.create(app, logger, { version: packageVersion(), ...(process.env.VOICEBOT_WORKER_ID ? { workerId: process.env.VOICEBOT_WORKER_ID } : {}) });
    try {
      await fleet.listen();
      await app.start();
      await fleet.start();
    } catch (e) {
      // e.g. the worker port is taken: release what did start, then report the coded error.
      await app.stop().catch(() => {});
      await fleet.close().catch(() => {});
      process.off('SIGTERM', onTerm);
      throw e;
    }
    // The calls API (settings.api with a token): on its own port, next to the telephony.
    // Outbound calls run their flow in this process, so only the whole bot (role all) serves it.
    if (role !== 'all' && config.settings.api) io.stderr(`calls API not started: it runs with --role all only (this process is ${role})\n`);
    const api = role !== 'all' ? undefined : await startCallsApi(app, { logger }).catch(async (e) => {
      await app.stop().catch(() => {});
      throw e;
    });
    if (api) io.stderr(`calls API on ${api.url}/v1/calls\n`);
    if (fleet.ops?.url) io.stdout(args.values.json ? JSON.stringify({ type: 'ops.listening', url: fleet.ops.url }) + '\n' : `ops listening on ${fleet.ops.url}\n`);
    const url = role === 'worker' ? undefined : urlOf(app.plugins.telephony);
    const ms = Math.round(performance.now() - t0);
    const listening = role !== 'edge' ? app.remote?.listenUrl : undefined;
    // The worker's address on stdout, so scripts (and tests using port 0) can read it.
    if (listening) io.stdout(args.values.json ? JSON.stringify({ type: 'stream.listening', url: listening }) + '\n' : `worker listening on ${listening}\n`);
    const redis = app.config.settings.fleet.redis;
    const target = redis ? `the workers in the registry at ${redisLabel(redis)}` : (app.remote?.workerUrl ?? '').replace(/[?#].*$/, '');
    const what = role === 'edge' ? ` (edge: streaming calls to ${target})` : role === 'worker' ? ` (worker: taking streams on ${listening})` : '';
    if (role === 'edge') {
      const token = (app.remote as { options?: { token?: string } } | undefined)?.options?.token;
      const check = await fleet.checkWorkers(token);
      io.stderr(check.line + '\n');
      if (args.values.json) io.stdout(JSON.stringify({ type: 'fleet.check', ok: check.ok, detail: check.line }) + '\n');
    }
    io.stderr(`voicebot ready in ${ms} ms${what}${url ? ` — call your bot at ${url}` : ''}. Ctrl-C to stop.\n`);
    // A telephony plugin with no socket of its own (mock) leaves nothing to keep the process alive.
    const keepAlive = setInterval(() => {}, 1 << 30);
    if (!io.signal.aborted) await new Promise<void>((r) => io.signal.addEventListener('abort', () => r(), { once: true }));
    if (term) {
      // A second SIGTERM (or Ctrl-C) ends the drain at once.
      const force = new AbortController();
      const onForce = (): void => force.abort();
      process.once('SIGTERM', onForce);
      process.once('SIGINT', onForce);
      io.stderr(`draining: ${app.activeCalls} live call(s), up to ${app.config.settings.fleet.drainTimeoutMs} ms (SIGTERM again to stop now)…\n`);
      const outcome = await fleet.drain(force.signal);
      io.stderr(`drain ${outcome === 'idle' ? 'done: every call finished' : outcome === 'forced' ? 'cut short' : 'timed out: the rest were ended'}\n`);
      process.off('SIGTERM', onForce);
      process.off('SIGINT', onForce);
    }
    process.off('SIGTERM', onTerm);
    clearInterval(keepAlive);
    io.stderr('stopping…\n');
    await api?.close();
    await fleet.leave();
    await app.stop();
    await fleet.close();
    return 0;
  },
};

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
