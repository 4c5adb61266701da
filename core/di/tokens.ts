import type { InjectionToken } from 'tsyringe';
import type { VoicebotConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { PacerClock } from '../audio/pacer.js';
import type { Clock } from '../time/clock.js';
import type { CallSession } from '../engine/session-api.js';
import type { CallLeg } from '../plugins/telephony.js';
import type { SlotTypes } from '../plugins/slots.js';
import type { MetricSink } from '../plugins/base.js';

/** fetch's signature: what a plugin uses for HTTP, so a test can register a fake. */
export type HttpClient = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * DI tokens. The root container holds process-wide things (config, logger,
 * one instance per slot, the shared pacer clock); each call gets a child
 * container holding its leg, its session and a logger tagged with the call
 * id, disposed at hangup. Plugins are created with a child of the root
 * (PluginContext.container) and may resolve any of these; registering a token
 * before VoicebotApp.create (AppOptions.container) replaces the service —
 * a slot token replaces the configured plugin.
 */
export const TOKENS = {
  Config: Symbol('voicebot.Config') as InjectionToken<VoicebotConfig>,
  Logger: Symbol('voicebot.Logger') as InjectionToken<Logger>,
  PacerClock: Symbol('voicebot.PacerClock') as InjectionToken<PacerClock>,
  /** The time source (realClock in production, a virtual clock in tests/simulations). */
  Clock: Symbol('voicebot.Clock') as InjectionToken<Clock>,
  /** HTTP for plugins and tools (default: global fetch). */
  HttpClient: Symbol('voicebot.HttpClient') as InjectionToken<HttpClient>,
  /** Where a plugin reports its own measurements (default: debug log lines). */
  Metrics: Symbol('voicebot.Metrics') as InjectionToken<MetricSink>,
  Telephony: Symbol('voicebot.slot.telephony') as InjectionToken<SlotTypes['telephony']>,
  AudioStream: Symbol('voicebot.slot.audioStream') as InjectionToken<SlotTypes['audioStream']>,
  Vad: Symbol('voicebot.slot.vad') as InjectionToken<SlotTypes['vad']>,
  Stt: Symbol('voicebot.slot.stt') as InjectionToken<SlotTypes['stt']>,
  Llm: Symbol('voicebot.slot.llm') as InjectionToken<SlotTypes['llm']>,
  Tts: Symbol('voicebot.slot.tts') as InjectionToken<SlotTypes['tts']>,
  CallLeg: Symbol('voicebot.call.Leg') as InjectionToken<CallLeg>,
  CallSession: Symbol('voicebot.call.Session') as InjectionToken<CallSession>,
} as const;
