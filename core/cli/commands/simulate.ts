import { VoicebotError } from '../../errors/index.js';
import type { CallEvent } from '../../engine/events.js';
import type { CallerTurn, ObservedEvent } from '../../flow/scripted-caller.js';
import { CALLER_VOICE_HELP, callerVoiceWarning, parseCallerVoice } from '../../flow/caller-voice.js';
import type { Command, ParsedArgs } from '../command.js';

/** --say/--dtmf in command-line order (parseArgs groups repeated flags by name; tokens keep the order). */
export function turnsFromArgs(args: ParsedArgs): CallerTurn[] {
  const out: CallerTurn[] = [];
  for (const t of args.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (t.name === 'say') out.push(t.value ? { say: t.value } : { silence: true });
    else if (t.name === 'dtmf' && t.value) out.push({ dtmf: t.value });
  }
  return out;
}

/** The human-readable line for an event, or undefined for events a person does not need. */
export function formatEvent(ev: CallEvent): string | undefined {
  switch (ev.type) {
    case 'call.started':
      return `call ${ev.callId} from ${ev.from} to ${ev.to} → flow ${ev.flow}`;
    case 'flow.step':
      return `  · ${ev.flow}.${ev.step} (${ev.kind})`;
    case 'bot.said':
      return `  bot:    ${ev.text}${ev.interrupted ? ' [interrupted]' : ''}`;
    case 'caller.said':
      return ev.final ? `  caller: ${ev.text}` : undefined;
    case 'dtmf':
      return `  caller: [keys ${ev.digits}]`;
    case 'tool.called':
      return `  ⚙ ${ev.name}(${JSON.stringify(ev.args)}) ${ev.error ? `✗ ${ev.error}` : `→ ${JSON.stringify(ev.result)}`}`;
    case 'call.transferred':
      return `  ↪ transferred to ${ev.to}`;
    case 'call.error':
      return `  ! ${ev.code} ${ev.message}`;
    case 'turn.metrics':
      return ev.e2eMs === undefined ? undefined : `    (turn ${ev.turn}: e2e ${Math.round(ev.e2eMs)} ms)`;
    case 'call.ended':
      return `call ended (${ev.reason}) after ${(ev.durationMs / 1000).toFixed(1)} s`;
    default:
      return undefined;
  }
}

function strip(ev: ObservedEvent): CallEvent {
  const { callerTurn: _turn, ...rest } = ev;
  return rest as CallEvent;
}

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'Place one simulated call through the bot (mock telephony) and print the conversation',
  usage: [
    '  voicebot simulate [-c FILE] [--flow NAME] [--say TEXT]... [--dtmf DIGITS]... [--caller-voice mock|tts|tts:VOICE] [--json]',
    '',
    '  -c, --config FILE        config file (default ./voicebot.yaml)',
    '      --flow NAME          run this flow (default: the route for the called number)',
    '      --say TEXT           the caller says TEXT when the bot listens ("" stays silent once)',
    '      --dtmf DIGITS        the caller presses DIGITS when the bot listens',
    '      --caller-voice V     mock (default: the mock speech codec), tts (the configured TTS) or tts:VOICE',
    '                           (the TTS with another voice, e.g. tts:rms, so the caller does not sound like the bot)',
    '      --from NUMBER        caller number (default +15550100)',
    '      --to NUMBER          called number, for routes: (default +15550199)',
    '      --json               one JSON event per line on stdout',
    '      --realtime           run on the wall clock even when every provider is local',
    '',
    '  Telephony is always the mock line; vad/stt/llm/tts are the configured plugins.',
    '  Turns run in command-line order, each when the bot listens; after the bot',
    '  answered the last one the caller hangs up. Exit 0 when the call ended',
    '  normally, 1 when it ended in an error (or no route accepted it).',
    '  With only local providers the call runs in virtual time (as fast as the',
    '  machine allows, same conversation and timings); a network provider means',
    '  the wall clock (said on stderr).',
  ].join('\n'),
  options: {
    config: { type: 'string', short: 'c' },
    flow: { type: 'string' },
    say: { type: 'string', multiple: true },
    dtmf: { type: 'string', multiple: true },
    'caller-voice': { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
    realtime: { type: 'boolean' },
  },
  maxPositionals: 0,
  async run(args, io) {
    const voice = args.values['caller-voice'];
    const callerVoice = voice === undefined ? undefined : parseCallerVoice(voice);
    if (voice !== undefined && !callerVoice) {
      io.stderr(new VoicebotError('VB_ERR_CLI_USAGE', { detail: `--caller-voice must be ${CALLER_VOICE_HELP} (got "${String(voice)}")` }).toLine() + '\n');
      return 2;
    }
    // Loaded here, not at the top: every CLI process imports every command's module (see ./index.ts).
    const [{ loadForCommand }, { createLogger }, { startSimulation }, { timeModeFor }, { createDefaultRegistry }, { VirtualClock }] = await Promise.all([
      import('../load.js'),
      import('../../logging.js'),
      import('../../flow/sim.js'),
      import('../../flow/virtual-time.js'),
      import('../../plugins/registry.js'),
      import('../../time/virtual-clock.js'),
    ]);
    const config = await loadForCommand(io, args.values.config);
    if (!config) return 1;
    const voiceWarning = callerVoiceWarning(config, callerVoice);
    if (voiceWarning) io.stderr(voiceWarning.toLine() + '\n');
    const json = args.values.json === true;
    let ended: CallEvent | undefined;
    const print = (ev: CallEvent): void => {
      if (json) io.stdout(JSON.stringify(ev) + '\n');
      else {
        const line = formatEvent(ev);
        if (line) io.stdout(line + '\n');
      }
    };
    const registry = createDefaultRegistry();
    const mode = await timeModeFor(config, registry, args.values.realtime === true);
    if (!mode.virtual && mode.reason !== '--realtime') io.stderr(`note: running in real time: ${mode.reason}\n`);
    const clock = mode.virtual ? new VirtualClock() : undefined;
    const sim = await startSimulation({
      config,
      registry,
      clock,
      flow: typeof args.values.flow === 'string' ? args.values.flow : undefined,
      callerVoice,
      from: typeof args.values.from === 'string' ? args.values.from : undefined,
      to: typeof args.values.to === 'string' ? args.values.to : undefined,
      logger: createLogger({ level: io.env.VOICEBOT_LOG ?? 'warn' }),
      onEvent: (ev) => {
        // call.ended is printed last, after the app finished the call (a hangup handler may still log steps).
        if (ev.type === 'call.ended') ended = strip(ev);
        else print(strip(ev));
      },
    });
    const onAbort = (): void => sim.caller.hangup();
    io.signal.addEventListener('abort', onAbort, { once: true });
    try {
      sim.caller.push(...turnsFromArgs(args));
      sim.caller.finish();
      const res = await sim.done;
      // A rejected call never had a session to report its end: the stream still ends with call.ended.
      print(ended ?? { type: 'call.ended', callId: res.callId, t: 0, reason: res.reason, durationMs: 0 });
      if (res.reason === 'rejected') {
        const to = typeof args.values.to === 'string' ? args.values.to : '+15550199';
        io.stderr(new VoicebotError('VB_ERR_FLOW_NO_ROUTE', { to }).toLine() + '\n');
      }
      return res.reason === 'error' || res.reason === 'rejected' ? 1 : 0;
    } finally {
      io.signal.removeEventListener('abort', onAbort);
      clock?.dispose();
    }
  },
};
