import { VoicebotError } from '../../core/plugin-api.js';

/** The libfvad exports of @echogarden/fvad-wasm (an Emscripten module). */
export interface FvadModule {
  _fvad_new(): number;
  _fvad_free(handle: number): void;
  _fvad_reset(handle: number): void;
  _fvad_set_mode(handle: number, mode: number): number;
  _fvad_set_sample_rate(handle: number, rate: number): number;
  /** 1 voiced, 0 not, -1 bad frame length. */
  _fvad_process(handle: number, ptr: number, samples: number): number;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  /** Re-read on every use: Emscripten replaces the view when memory grows. */
  HEAP16: Int16Array;
}

/** Rates libfvad takes (the engine's 24 kHz is resampled to 48 kHz). */
export const FVAD_RATES = [8000, 16000, 48000] as const;

let shared: Promise<FvadModule> | undefined;

/** One WASM instance per process: detectors are ≈1 KB handles inside it. */
export function loadFvad(spec = '@echogarden/fvad-wasm'): Promise<FvadModule> {
  if (spec !== '@echogarden/fvad-wasm') return instantiate(spec);
  shared ??= instantiate(spec).catch((e) => {
    shared = undefined;
    throw e;
  });
  return shared;
}

async function instantiate(spec: string): Promise<FvadModule> {
  try {
    // A variable specifier: the package ships no types, FvadModule is the part used.
    const mod = (await import(spec)) as { default: () => Promise<FvadModule> };
    return await mod.default();
  } catch (e) {
    throw new VoicebotError('VB_ERR_FVAD_LOAD', { detail: e instanceof Error ? e.message : String(e) }, { cause: e });
  }
}
