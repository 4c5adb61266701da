import { VoicebotApp } from '../../app/app.js';
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
    '  voicebot run [-c FILE] [--json]',
    '',
    '  -c, --config FILE   config file (default ./voicebot.yaml)',
    '      --json          print call events as JSON lines on stdout',
  ].join('\n'),
  options: {
    config: { type: 'string', short: 'c' },
    json: { type: 'boolean' },
  },
  maxPositionals: 0,
  async run(args, io) {
    const t0 = performance.now();
    const config = await loadForCommand(io, args.values.config);
    if (!config) return 1;
    const logger = createLogger();
    const app = await VoicebotApp.create({ config, logger });
    if (args.values.json) app.onEvent((ev) => io.stdout(JSON.stringify(ev) + '\n'));
    else
      app.onEvent((ev) => {
        if (ev.type === 'call.started') io.stderr(`call ${ev.callId} from ${ev.from} to ${ev.to} → flow ${ev.flow}\n`);
        else if (ev.type === 'caller.said' && ev.final) io.stderr(`  caller: ${ev.text}\n`);
        else if (ev.type === 'bot.said') io.stderr(`  bot:    ${ev.text}${ev.interrupted ? ' [interrupted]' : ''}\n`);
        else if (ev.type === 'call.ended') io.stderr(`call ${ev.callId} ended (${ev.reason})\n`);
      });
    await app.start();
    const url = urlOf(app.plugins.telephony);
    const ms = Math.round(performance.now() - t0);
    io.stderr(`voicebot ready in ${ms} ms${url ? ` — call your bot at ${url}` : ''}. Ctrl-C to stop.\n`);
    // A telephony plugin with no socket of its own (mock) leaves nothing to keep the process alive.
    const keepAlive = setInterval(() => {}, 1 << 30);
    if (!io.signal.aborted) await new Promise<void>((r) => io.signal.addEventListener('abort', () => r(), { once: true }));
    clearInterval(keepAlive);
    io.stderr('stopping…\n');
    await app.stop();
    return 0;
  },
};
