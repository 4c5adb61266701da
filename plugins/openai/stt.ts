import { toFile } from 'openai';
import { encodeWav } from '../../core/plugin-api.js';
import type { PluginContext } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import { SttPlugin, type RecognizeRequest, type SttCapabilities, type Transcript } from '../../core/plugin-api.js';
import { COMMON_SCHEMA_PROPS, ProtocolError, Requester, checkApiKey, createClient, isoLanguage, type OpenAiCommonOptions } from './common.js';

export interface OpenAiSttOptions extends OpenAiCommonOptions {
  /** Spoken language, ISO-639-1 or BCP-47 (default: settings.language; `auto` lets the model detect it). */
  language?: string;
  /** Context for the model: spelling of names, style. Menu hints of a listen step are appended. */
  prompt?: string;
  /** Streaming transcription (SSE). Default: on for the gpt-4o*-transcribe models, off otherwise (whisper-1 cannot). */
  stream?: boolean;
}

export const DEFAULT_STT_MODEL = 'gpt-4o-mini-transcribe';
/** The rate the transcription models work at; the engine resamples the call's audio to it. */
export const STT_RATE = 16000;
/** Shorter audio is rejected by the API ("audio too short"): it cannot hold a word anyway. */
const MIN_AUDIO_MS = 100;
const ENDPOINT = '/audio/transcriptions';

export function modelStreams(model: string): boolean {
  return /^gpt-4o.*transcribe/.test(model);
}

/**
 * Transcribes each utterance the engine segments with its VAD: one WAV upload
 * per utterance (multipart /audio/transcriptions). With a streaming model the
 * text arrives as SSE deltas while the model decodes; the final transcript is
 * the `transcript.text.done` event.
 */
export class OpenAiStt extends SttPlugin {
  readonly capabilities: SttCapabilities = { streaming: false, interimResults: false, sampleRates: [STT_RATE] };
  readonly model: string;
  private readonly req: Requester;
  private readonly language: string | undefined;
  private readonly prompt: string | undefined;
  private readonly streamed: boolean;

  constructor(opts: OpenAiSttOptions = {}, ctx: Partial<PluginContext> = {}, provider = 'openai') {
    super(provider);
    this.model = opts.model ?? DEFAULT_STT_MODEL;
    this.req = new Requester(createClient('stt', opts, ctx.logger), { slot: 'stt', provider, model: this.model }, ctx.logger);
    this.language = opts.language;
    this.prompt = opts.prompt;
    this.streamed = opts.stream ?? modelStreams(this.model);
  }

  protected async _recognize(req: RecognizeRequest): Promise<Transcript> {
    if ((req.audio.length * 1000) / req.sampleRate < MIN_AUDIO_MS) return { text: '', final: true };
    const wav = encodeWav(req.audio, req.sampleRate);
    const language = this.language === 'auto' ? undefined : isoLanguage(this.language ?? req.language);
    const prompt = [this.prompt, req.hints?.length ? `Expected words: ${req.hints.join(', ')}.` : undefined].filter(Boolean).join(' ') || undefined;
    const t0 = performance.now();
    return this.req.once(ENDPOINT, req.signal, async (scope) => {
      const file = await toFile(wav, 'utterance.wav', { type: 'audio/wav' });
      const base = { file, model: this.model, ...(language ? { language } : {}), ...(prompt ? { prompt } : {}) };
      if (!this.streamed) {
        const r = await this.req.client.audio.transcriptions.create({ ...base, response_format: 'json' }, { signal: scope.signal });
        return { text: r.text.trim(), final: true, ...(language ? { language } : {}) };
      }
      const events = await this.req.client.audio.transcriptions.create({ ...base, response_format: 'json', stream: true }, { signal: scope.signal });
      scope.touch();
      let partial = '';
      let final: string | undefined;
      for await (const ev of events) {
        scope.touch();
        if (ev.type === 'transcript.text.delta') {
          if (!partial) this.emitMetric('firstPartial', performance.now() - t0, req.callId);
          partial += ev.delta;
        } else if (ev.type === 'transcript.text.done') final = ev.text;
      }
      if (scope.cancelled || scope.timedOut) return { text: '', final: true };
      if (final === undefined) throw new ProtocolError('the transcription stream ended without transcript.text.done');
      return { text: final.trim(), final: true, ...(language ? { language } : {}) };
    });
  }
}

export const openaiSttPlugin = definePlugin<'stt', OpenAiSttOptions>({
  slot: 'stt',
  name: 'openai',
  description: 'OpenAI speech-to-text (gpt-4o-mini-transcribe, gpt-4o-transcribe, whisper-1) or any OpenAI-compatible server',
  optionsSchema: {
    type: 'object',
    properties: {
      ...COMMON_SCHEMA_PROPS,
      language: { type: 'string', minLength: 2, description: 'spoken language (default: settings.language; auto = detect)' },
      prompt: { type: 'string', description: 'context for the model: names, spelling, style' },
      stream: { type: 'boolean', description: 'streaming transcription (default: on for gpt-4o*-transcribe models)' },
    },
    additionalProperties: false,
  },
  sampleRates: [STT_RATE],
  checkOptions: checkApiKey('stt'),
  create: (options, ctx) => new OpenAiStt(options, ctx),
});
