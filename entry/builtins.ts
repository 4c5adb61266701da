/**
 * The composition root: hands voicebot's built-in providers and their coded
 * errors to the core. Imported (for its effect) by every entry point — the
 * CLI, the package's `voicebot` and `voicebot/testing` exports, the test
 * setup — so core/ never imports plugins/.
 */
import { setDefaultBuiltins } from '../core/plugins/registry.js';
import { registerErrors } from '../core/errors/index.js';
import { BUILTIN_ERRORS, BUILTIN_PLUGINS } from '../plugins/builtin.js';

registerErrors(BUILTIN_ERRORS);
setDefaultBuiltins(BUILTIN_PLUGINS);
