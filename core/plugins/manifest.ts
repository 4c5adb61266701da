import type { ErrorDef, VoicebotError } from '../errors/index.js';
import type { PluginContext } from './base.js';
import type { SlotName, SlotTypes } from './slots.js';

/**
 * How a plugin introduces itself. Importing a plugin module has no side
 * effects: the core registers manifests explicitly.
 */
export interface PluginManifest<S extends SlotName = SlotName, O = Record<string, unknown>> {
  slot: S;
  /** Provider name used in voicebot.yaml (`provider: NAME`). */
  name: string;
  description?: string;
  /**
   * JSON Schema (draft-07 subset ajv understands) for the options next to
   * `provider:`. Validated at config time with additionalProperties:false
   * unless the schema says otherwise. `provider` itself is not part of it.
   */
  optionsSchema: Record<string, unknown>;
  /**
   * Audio rates this provider accepts (stt, vad) or produces (tts), known
   * without starting it, so an impossible combination fails at config time.
   * A function receives the validated options.
   */
  sampleRates?: readonly number[] | ((options: O) => readonly number[]);
  /**
   * Checks the schema cannot express (e.g. a secret that defaults to an
   * environment variable which is unset). Run by the config loader after the
   * options validate, so `voicebot validate` reports them at the provider line.
   */
  /**
   * The plugin can run on a virtual clock (`voicebot test` / `simulate`):
   * every wait it makes goes through `ctx.clock`, and real work of its own
   * that the event loop cannot show as pending (a worker thread, a child
   * process) holds the clock while it runs (`holdWhile(ctx.clock, p)`).
   * Network providers leave it unset: their calls run on the wall clock.
   */
  virtualTime?: boolean;
  checkOptions?(options: O, env: Readonly<Record<string, string | undefined>>): VoicebotError[];
  /**
   * The plugin's own coded errors (`VB_ERR_<PLUGIN>_*`), registered when the
   * plugin loads; document them in the plugin's README like the core's.
   */
  errors?: Readonly<Record<string, ErrorDef>>;
  create(options: O, ctx: PluginContext): SlotTypes[S] | Promise<SlotTypes[S]>;
}

export type AnyPluginManifest = { [S in SlotName]: PluginManifest<S, any> }[SlotName];

export function definePlugin<S extends SlotName, O = Record<string, unknown>>(
  manifest: PluginManifest<S, O>,
): PluginManifest<S, O> {
  return Object.freeze(manifest);
}
