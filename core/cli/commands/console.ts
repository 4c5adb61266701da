import { createInterface } from 'node:readline';
import { VoicebotError } from '../../errors/index.js';
import type { Command } from '../command.js';
import { formatEvent } from './simulate.js';

export const consoleCommand: Command = {
  name: 'console',
  summary: 'Talk to the bot from the terminal: type to speak, #123 to press keys',
  usage: [
    '  voicebot console [-c FILE] [--flow NAME]',
    '',
    '  -c, --config FILE   config file (default ./voicebot.yaml)',
    '      --flow NAME     run this flow (default: the route for the called number)',
    '',
    '  Type a line to say it, #123 to press keys, an empty line to stay silent once,',
    '  /hangup (or Ctrl-D) to end the call.',
  ].join('\n'),
  options: {
    config: { type: 'string', short: 'c' },
    flow: { type: 'string' },
  },
  maxPositionals: 0,
  async run(args, io) {
    if (!io.stdin) {
      io.stderr(new VoicebotError('VB_ERR_CLI_USAGE', { detail: 'console reads the caller\'s lines from stdin, and there is none' }).toLine() + '\n');
      return 2;
    }
    // Loaded here, not at the top: every CLI process imports every command's module (see ./index.ts).
    const [{ loadForCommand }, { createLogger }, { startSimulation }] = await Promise.all([
      import('../load.js'),
      import('../../logging.js'),
      import('../../flow/sim.js'),
    ]);
    const config = await loadForCommand(io, args.values.config);
    if (!config) return 1;
    const sim = await startSimulation({
      config,
      flow: typeof args.values.flow === 'string' ? args.values.flow : undefined,
      logger: createLogger({ level: io.env.VOICEBOT_LOG ?? 'warn' }),
      // A person types slowly: no idle hangup.
      idleTimeoutMs: 0,
      onEvent: (ev) => {
        if (ev.type === 'bot.listening') io.stdout('  (listening — type your answer)\n');
        else {
          // The caller's own lines were typed; echo only the bot side and the flow.
          const line = ev.type === 'caller.said' || ev.type === 'dtmf' ? undefined : formatEvent(ev);
          if (line) io.stdout(line + '\n');
        }
      },
    });
    io.stdout('Connected. Type to speak, #123 for keys, /hangup to end.\n');
    const rl = createInterface({ input: io.stdin, terminal: false });
    rl.on('line', (raw) => {
      const line = raw.trim();
      if (line === '/hangup' || line === '/quit') sim.caller.hangup();
      else if (line.startsWith('#') && line.length > 1) sim.caller.push({ dtmf: line.slice(1).replace(/\s+/g, '') });
      else if (line === '') sim.caller.push({ silence: true });
      else sim.caller.push({ say: line });
    });
    // End of input: let the bot answer what was typed, then hang up.
    rl.on('close', () => sim.caller.finish());
    const onAbort = (): void => sim.caller.hangup();
    io.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await sim.done;
      return res.reason === 'error' ? 1 : 0;
    } finally {
      io.signal.removeEventListener('abort', onAbort);
      rl.close();
    }
  },
};
