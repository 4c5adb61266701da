import type { TelephonyPlugin } from './telephony.js';
import type { AudioStreamPlugin } from './audio-stream.js';
import type { VadPlugin } from './vad.js';
import type { SttPlugin } from './stt.js';
import type { LlmPlugin } from './llm.js';
import type { TtsPlugin } from './tts.js';

export const SLOT_NAMES = ['telephony', 'audioStream', 'vad', 'stt', 'llm', 'tts'] as const;
export type SlotName = (typeof SLOT_NAMES)[number];

/** The contract type of each slot. */
export interface SlotTypes {
  telephony: TelephonyPlugin;
  audioStream: AudioStreamPlugin;
  vad: VadPlugin;
  stt: SttPlugin;
  llm: LlmPlugin;
  tts: TtsPlugin;
}
