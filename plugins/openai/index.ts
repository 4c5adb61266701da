import { openaiSttPlugin } from './stt.js';
import { openaiLlmPlugin } from './llm.js';
import { openaiTtsPlugin } from './tts.js';

export { OpenAiStt, openaiSttPlugin, modelStreams, DEFAULT_STT_MODEL, STT_RATE, type OpenAiSttOptions } from './stt.js';
export { OpenAiLlm, openaiLlmPlugin, toApiMessages, toApiTools, DEFAULT_LLM_MODEL, type OpenAiLlmOptions } from './llm.js';
export { OpenAiTts, openaiTtsPlugin, PcmAssembler, DEFAULT_TTS_MODEL, DEFAULT_VOICE, TTS_RATE, type OpenAiTtsOptions } from './tts.js';
export {
  API_KEY_ENV,
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT_MS,
  MAX_RETRY_WAIT_MS,
  toProviderError,
  retryAfterMs,
  type OpenAiCommonOptions,
} from './common.js';

/** The three manifests (stt, llm, tts), all named `openai`. */
export const openaiPlugins = [openaiSttPlugin, openaiLlmPlugin, openaiTtsPlugin] as const;
export const plugins = openaiPlugins;
