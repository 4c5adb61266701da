import { openaiSttPlugin } from './stt.js';
import { openaiLlmPlugin } from './llm.js';
import { openaiTtsPlugin } from './tts.js';
import { openaiRealtimeSttPlugin } from './realtime-stt.js';

export { OpenAiStt, openaiSttPlugin, modelStreams, DEFAULT_STT_MODEL, STT_RATE, type OpenAiSttOptions } from './stt.js';
export { OpenAiLlm, openaiLlmPlugin, toApiMessages, toApiTools, DEFAULT_LLM_MODEL, type OpenAiLlmOptions } from './llm.js';
export { OpenAiRealtimeStt, openaiRealtimeSttPlugin, realtimeUrl, realtimeRates, DEFAULT_REALTIME_STT_MODEL, REALTIME_PATH, type OpenAiRealtimeSttOptions } from './realtime-stt.js';
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

/** The three manifests (stt, llm, tts), all named `openai`, and the streaming `openai-realtime` stt. */
export const openaiPlugins = [openaiSttPlugin, openaiLlmPlugin, openaiTtsPlugin, openaiRealtimeSttPlugin] as const;
export const plugins = openaiPlugins;
