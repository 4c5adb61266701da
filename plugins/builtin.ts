import type { AnyPluginManifest, BuiltinEntry, ErrorDef } from '../core/plugin-api.js';
import { LOCAL_ERRORS } from './local/errors.js';
import { OPENAI_ERRORS } from './openai/errors.js';
import { RINGCENTRAL_ERRORS } from './ringcentral/errors.js';
import { WEBSOCKET_ERRORS } from './websocket/errors.js';
import { VAD_ERRORS } from './fvad/errors.js';

/**
 * Every provider that ships with voicebot. Each is imported only when a
 * config names it, so e.g. the WebRTC stack loads only for ringcentral.
 */
function entry(slot: BuiltinEntry['slot'], name: string, load: () => Promise<unknown>): BuiltinEntry {
  return { slot, name, load: load as () => Promise<AnyPluginManifest> };
}

export const BUILTIN_PLUGINS: readonly BuiltinEntry[] = [
  entry('telephony', 'mock', async () => (await import('./mock/index.js')).mockTelephonyPlugin),
  entry('audioStream', 'inprocess', async () => (await import('./inprocess/index.js')).inprocessPlugin),
  entry('audioStream', 'websocket', async () => (await import('./websocket/index.js')).websocketStreamPlugin),
  entry('vad', 'auto', async () => (await import('./auto-vad/index.js')).autoVadPlugin),
  entry('vad', 'energy', async () => (await import('./energy/index.js')).energyVadPlugin),
  entry('vad', 'fvad', async () => (await import('./fvad/index.js')).fvadPlugin),
  entry('vad', 'silero', async () => (await import('./silero/index.js')).sileroPlugin),
  entry('stt', 'mock', async () => (await import('./mock/index.js')).mockSttPlugin),
  entry('llm', 'mock', async () => (await import('./mock/index.js')).mockLlmPlugin),
  entry('tts', 'mock', async () => (await import('./mock/index.js')).mockTtsPlugin),
  entry('tts', 'flite', async () => (await import('./flite/index.js')).flitePlugin),
  entry('stt', 'pocketsphinx', async () => (await import('./pocketsphinx/index.js')).pocketsphinxPlugin),
  entry('telephony', 'local', async () => (await import('./local/index.js')).localTelephonyPlugin),
  entry('stt', 'openai', async () => (await import('./openai/index.js')).openaiSttPlugin),
  entry('stt', 'openai-realtime', async () => (await import('./openai/index.js')).openaiRealtimeSttPlugin),
  entry('llm', 'openai', async () => (await import('./openai/index.js')).openaiLlmPlugin),
  entry('tts', 'openai', async () => (await import('./openai/index.js')).openaiTtsPlugin),
  entry('telephony', 'ringcentral', async () => (await import('./ringcentral/index.js')).default),
];

/** The built-ins' coded errors, registered eagerly so README's table and `isErrorCode` know them before a plugin loads. */
export const BUILTIN_ERRORS: Readonly<Record<string, ErrorDef>> = { ...LOCAL_ERRORS, ...OPENAI_ERRORS, ...RINGCENTRAL_ERRORS, ...WEBSOCKET_ERRORS, ...VAD_ERRORS };
