import { encodeMockSpeech } from '../audio/mock-speech.js';
import type { CallerVoice } from './scripted-caller.js';

/** The caller's words as mock speech audio: the mock STT decodes them exactly, through any codec. */
export const mockSpeechVoice: CallerVoice = async (text, sampleRate) => ({ samples: encodeMockSpeech(text, sampleRate), sampleRate });
