import { encodeMockSpeech } from '../audio/mock-speech.js';
import type { CallerVoice } from './scripted-caller.js';
import type { VoicebotConfig } from '../config/types.js';
import { VoicebotError } from '../errors/index.js';

/** The caller's words as mock speech audio: the mock STT decodes them exactly, through any codec. */
export const mockSpeechVoice: CallerVoice = async (text, sampleRate) => ({ samples: encodeMockSpeech(text, sampleRate), sampleRate });

/**
 * Who speaks for the scripted caller: `mock` (the mock speech codec), `tts`
 * (the configured TTS, the bot's own voice) or `tts:VOICE` (the configured
 * TTS with another voice, e.g. flite's `tts:rms`, so a recognizer hears a
 * caller that does not sound like the bot).
 */
export type CallerVoiceSpec = 'mock' | 'tts' | `tts:${string}`;

/** The spec, or undefined when `s` is not one. */
export function parseCallerVoice(s: unknown): CallerVoiceSpec | undefined {
  if (s === 'mock' || s === 'tts') return s;
  if (typeof s === 'string' && /^tts:[\w.-]+$/.test(s)) return s as CallerVoiceSpec;
  return undefined;
}

export const CALLER_VOICE_HELP = 'mock, tts or tts:VOICE (e.g. tts:rms)';

/** The TTS voice a `tts:VOICE` spec asks for (undefined: the TTS's own). */
export function callerTtsVoice(spec: CallerVoiceSpec): string | undefined {
  return spec.startsWith('tts:') ? spec.slice(4) : undefined;
}

/** A warning when the caller would speak real speech to an stt that only decodes mock speech. */
export function callerVoiceWarning(config: VoicebotConfig, spec: CallerVoiceSpec | undefined): VoicebotError | undefined {
  if (spec === undefined || spec === 'mock') return undefined;
  const stt = config.plugins.stt ?? [];
  if (stt.length === 0 || stt.some((p) => p.provider !== 'mock')) return undefined;
  return new VoicebotError('VB_WARN_CALLER_VOICE_MOCK_STT', { voice: spec });
}
