import { AudioStreamPlugin, type AudioStreamCapabilities } from '../../core/plugin-api.js';
import { definePlugin } from '../../core/plugin-api.js';
import type { CallLeg, PluginContext } from '../../core/plugin-api.js';

/** Telephony and engine in one process: the leg is handed through unchanged. */
export class InprocessAudioStream extends AudioStreamPlugin {
  readonly capabilities: AudioStreamCapabilities = { remote: false };
  constructor(_options: Record<string, never> = {}, _ctx: Partial<PluginContext> = {}, provider = 'inprocess') {
    super(provider);
  }
  protected async _attach(leg: CallLeg): Promise<CallLeg> {
    return leg;
  }
}

export const inprocessPlugin = definePlugin<'audioStream', Record<string, never>>({
  slot: 'audioStream',
  name: 'inprocess',
  virtualTime: true,
  description: 'No network: telephony and engine share the process (default)',
  optionsSchema: { type: 'object', properties: {}, additionalProperties: false },
  create: (options, ctx) => new InprocessAudioStream(options, ctx),
});
export default inprocessPlugin;
