/**
 * `import … from 'voicebot'`: the core with the built-in providers registered,
 * for an app that embeds the bot — load a config, register your own services
 * in a container, create and start the app.
 */
import './builtins.js';
export * from '../core/index.js';
export { VoicebotApp, type AppOptions } from '../core/app/app.js';
export { loadConfig, loadConfigText, type LoadOptions, type LoadResult } from '../core/config/load.js';
export { createDefaultRegistry, PluginRegistry } from '../core/plugins/registry.js';
export { createContainer, type DependencyContainer } from '../core/di/container.js';
export { BUILTIN_PLUGINS, BUILTIN_ERRORS } from '../plugins/builtin.js';
