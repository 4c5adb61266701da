import { startCallsApi } from '../../api/index.js';
import { VoicebotApp } from '../../app/app.js';
import { RUN_ROLES, type RunRole } from '../../app/roles.js';
import { VoicebotError } from '../../errors/index.js';
import { createLogger } from '../../logging.js';
import type { Command } from '../command.js';
import { loadForCommand } from '../load.js';

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
        else io.stderr(`call ${ev.callId} ended (${ev.reason}${ev.code ? ` ${ev.code}` : ''})\n`);
      });
    }
    if (!args.values.json)
      app.onEvent((ev) => {
        if (ev.type === 'call.started') io.stderr(`call ${ev.callId} from ${ev.from} to ${ev.to} → flow ${ev.flow}\n`);
        else if (ev.type === 'caller.said' && ev.final) io.stderr(`  caller: ${ev.text}\n`);
        else if (ev.type === 'bot.said') io.stderr(`  bot:    ${ev.text}${ev.interrupted ? ' [interrupted]' : ''}\n`);
        else if (ev.type === 'call.ended') io.stderr(`call ${ev.callId} ended (${ev.reason})\n`);
      });
    try {
      await app.start();
    } catch (e) {
      // e.g. the worker port is taken: release what did start, then report the coded error.
      await app.stop().catch(() => {});
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
    const url = role === 'worker' ? undefined : urlOf(app.plugins.telephony);
    const ms = Math.round(performance.now() - t0);
    const listening = role !== 'edge' ? app.remote?.listenUrl : undefined;
    // The worker's address on stdout, so scripts (and tests using port 0) can read it.
    if (listening) io.stdout(args.values.json ? JSON.stringify({ type: 'stream.listening', url: listening }) + '\n' : `worker listening on ${listening}\n`);
    const what = role === 'edge' ? ` (edge: streaming calls to ${(app.remote?.workerUrl ?? '').replace(/[?#].*$/, '')})` : role === 'worker' ? ` (worker: taking streams on ${listening})` : '';
    io.stderr(`voicebot ready in ${ms} ms${what}${url ? ` — call your bot at ${url}` : ''}. Ctrl-C to stop.\n`);
    // A telephony plugin with no socket of its own (mock) leaves nothing to keep the process alive.
    const keepAlive = setInterval(() => {}, 1 << 30);
    if (!io.signal.aborted) await new Promise<void>((r) => io.signal.addEventListener('abort', () => r(), { once: true }));
    clearInterval(keepAlive);
    io.stderr('stopping…\n');
    await api?.close();
    await app.stop();
    return 0;
  },
};
