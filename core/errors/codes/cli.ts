import { defineErrors } from '../define.js';

export const CLI_ERRORS = defineErrors({
  VB_ERR_CLI_USAGE: { message: '{detail}. Run `voicebot --help` for usage.' },
  VB_ERR_CLI_NOT_BUILT: { message: 'voicebot is not built (no dist/). In a checkout run `npm run build`; an installed copy is incomplete: reinstall it with `npm install voicebot`.' },
  VB_ERR_CLI_SCENARIO_FILE: { message: '{file} is a scenario file (run by `voicebot test`), not a config. Check its config with `voicebot validate -c {config}`; run its scenarios with `voicebot test -c {config}`.' },
  VB_WARN_CALLER_VOICE_MOCK_STT: {
    message: 'The caller speaks with the TTS ({voice}), but stt is mock, which only decodes mock speech: the bot will hear nothing. Use --caller-voice mock (callerVoice: mock), or an stt that hears real speech (pocketsphinx, openai).',
    severity: 'warning',
  },
  VB_ERR_INIT_PACKAGE_JSON: { message: '{file} is not valid JSON ({detail}). Fix it, or run init in a directory without one.' },
  VB_ERR_INIT_EXISTS: { message: '{file} already exists. Choose an empty directory or remove it.' },
});
