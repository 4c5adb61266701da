import { defineErrors } from '../define.js';

/** OpenAI STT, LLM and TTS plugins. */
export const OPENAI_ERRORS = defineErrors({});
