import { VoicebotApp } from '../app/app.js';
import type { AudioBuffer, AudioFrame } from '../audio/frame.js';
import { resample } from '../audio/resampler.js';
import type { VoicebotConfig } from '../config/types.js';
import { VoicebotError } from '../errors/index.js';
import type { Clock } from '../time/clock.js';
import type { DependencyContainer } from '../di/container.js';
import { silentLogger, type Logger } from '../logging.js';
import { createDefaultRegistry, type PluginRegistry } from '../plugins/registry.js';
import type { TelephonyPlugin } from '../plugins/telephony.js';
import type { TtsPlugin } from '../plugins/tts.js';
import { callerTtsVoice, mockSpeechVoice, type CallerVoiceSpec } from './caller-voice.js';
import { ScriptedCaller, type CallerVoice, type ObservedEvent, type ScriptedCallResult } from './scripted-caller.js';

export interface SimulationOptions {
  config: VoicebotConfig;
  /** Run this flow whatever the called number (otherwise routes: decide). */
  flow?: string;
  /** `mock`: the mock speech codec (default); `tts`: the configured TTS speaks for the caller; `tts:VOICE` with that voice. */
  callerVoice?: CallerVoiceSpec;
  from?: string;
  to?: string;
  /** Rate of the simulated phone leg. */
  sampleRate?: number;
  logger?: Logger;
  registry?: PluginRegistry;
  onEvent?: (ev: ObservedEvent) => void;
  /** Every frame of bot audio the caller hears (tests decode mock speech from it). */
  onAudio?: (frame: AudioFrame) => void;
  idleTimeoutMs?: number;
  /** Time source of the app and the caller (default realClock; a VirtualClock runs the call in virtual time). */
  clock?: Clock;
  /** The app's DI container: services registered in it (TOKENS.HttpClient…) replace voicebot's own. */
  container?: DependencyContainer;
}

export interface Simulation {
  app: VoicebotApp;
  caller: ScriptedCaller;
  /** Settles when the call ended and the app finished with it (hangup handler included). */
  done: Promise<ScriptedCallResult>;
}

/**
 * The bot as configured, except that telephony is the mock: one inbound call
 * placed from the caller side, through the real engine and real audio
 * frames. Used by simulate, console and test.
 */
export async function startSimulation(opts: SimulationOptions): Promise<Simulation> {
  const base = opts.config;
  if (opts.flow !== undefined && !base.flows[opts.flow]) {
    throw new VoicebotError('VB_ERR_FLOW_UNKNOWN', { flow: opts.flow, from: '--flow', flows: Object.keys(base.flows).join(', ') });
  }
  const speaksTts = opts.callerVoice !== undefined && opts.callerVoice !== 'mock';
  if (speaksTts && !base.plugins.tts?.length) {
    throw new VoicebotError('VB_ERR_CONFIG_MISSING_SLOT', { detail: '--caller-voice tts', slot: 'tts' });
  }
  const config: VoicebotConfig = opts.flow ? { ...base, routes: [{ to: '*', flow: opts.flow }] } : base;
  const logger = opts.logger ?? silentLogger();
  const registry = opts.registry ?? createDefaultRegistry();
  const manifest = await registry.resolve('telephony', 'mock', config.source.dir);
  // A config that already uses the mock line keeps its options (codec, failTransfersTo...).
  const configured = config.plugins.telephony?.[0];
  const telOptions = configured?.provider === 'mock' ? configured.options : {};
  const telephony = (await manifest.create(telOptions as never, {
    configDir: config.source.dir,
    logger: logger.child({ slot: 'telephony', provider: 'mock' }),
    language: config.settings.language,
    ...(opts.clock ? { clock: opts.clock } : {}),
  })) as TelephonyPlugin;
  const app = await VoicebotApp.create({ config, logger, registry, overrides: { telephony }, clock: opts.clock, ...(opts.container ? { container: opts.container } : {}) });
  await app.start();
  const voice = speaksTts ? ttsVoice(app.plugins.tts, config.settings.language, callerTtsVoice(opts.callerVoice!)) : mockSpeechVoice;
  const caller = new ScriptedCaller({
    telephony,
    onAppEvent: (l) => app.onEvent(l),
    clock: app.clock,
    time: app.time,
    voice,
    call: { from: opts.from ?? '+15550100', to: opts.to ?? '+15550199', sampleRate: opts.sampleRate ?? 8000 },
    onEvent: opts.onEvent,
    onAudio: opts.onAudio,
    idleTimeoutMs: opts.idleTimeoutMs ?? 30_000,
  });
  const done = (async () => {
    try {
      return await caller.run();
    } finally {
      await app.stop();
      caller.dispose();
    }
  })();
  return { app, caller, done };
}

function ttsVoice(tts: TtsPlugin | undefined, language: string, voice: string | undefined): CallerVoice {
  if (!tts) throw new VoicebotError('VB_ERR_CONFIG_MISSING_SLOT', { detail: '--caller-voice tts', slot: 'tts' });
  return async (text, sampleRate): Promise<AudioBuffer> => {
    const rates = tts.capabilities.sampleRates;
    const rate = rates.includes(sampleRate) ? sampleRate : rates[0];
    const parts: Int16Array[] = [];
    let chunkRate = rate;
    for await (const c of tts.synthesize({ text, sampleRate: rate, language, ...(voice ? { voice } : {}) })) {
      parts.push(c.samples.slice());
      chunkRate = c.sampleRate;
    }
    const total = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      total.set(p, off);
      off += p.length;
    }
    return { samples: chunkRate === sampleRate ? total : resample(total, chunkRate, sampleRate), sampleRate };
  };
}
