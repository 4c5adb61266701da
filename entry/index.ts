/** `import … from 'voicebot'`: the core with the built-in providers registered. */
import './builtins.js';
export * from '../core/index.js';
export { BUILTIN_PLUGINS, BUILTIN_ERRORS } from '../plugins/builtin.js';
