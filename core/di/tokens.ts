import type { InjectionToken } from 'tsyringe';
import type { VoicebotConfig } from '../config/types.js';
import type { Logger } from '../logging.js';
import type { PacerClock } from '../audio/pacer.js';
import type { Clock } from '../time/clock.js';
import type { CallSession } from '../engine/session-api.js';
import type { CallLeg } from '../plugins/telephony.js';
import type { SlotTypes } from '../plugins/slots.js';

/**
 * DI tokens. The root container holds process-wide things (config, logger,
 * one instance per slot, the shared pacer clock); each call gets a child
 * container holding its leg and session, disposed at hangup.
 */
export const TOKENS = {
  Config: Symbol('voicebot.Config') as InjectionToken<VoicebotConfig>,
  Logger: Symbol('voicebot.Logger') as InjectionToken<Logger>,
  PacerClock: Symbol('voicebot.PacerClock') as InjectionToken<PacerClock>,
  /** The time source (realClock in production, a virtual clock in tests/simulations). */
  Clock: Symbol('voicebot.Clock') as InjectionToken<Clock>,
  Telephony: Symbol('voicebot.slot.telephony') as InjectionToken<SlotTypes['telephony']>,
  AudioStream: Symbol('voicebot.slot.audioStream') as InjectionToken<SlotTypes['audioStream']>,
  Vad: Symbol('voicebot.slot.vad') as InjectionToken<SlotTypes['vad']>,
  Stt: Symbol('voicebot.slot.stt') as InjectionToken<SlotTypes['stt']>,
  Llm: Symbol('voicebot.slot.llm') as InjectionToken<SlotTypes['llm']>,
  Tts: Symbol('voicebot.slot.tts') as InjectionToken<SlotTypes['tts']>,
  CallLeg: Symbol('voicebot.call.Leg') as InjectionToken<CallLeg>,
  CallSession: Symbol('voicebot.call.Session') as InjectionToken<CallSession>,
} as const;
