import type { Command } from '../command.js';
import { runCommand } from './run.js';
import { validateCommand } from './validate.js';
import { initCommand } from './init.js';
import { schemaCommand } from './schema.js';
import { simulateCommand } from './simulate.js';
import { consoleCommand } from './console.js';
import { testCommand } from './test.js';
import { callCommand } from './call.js';

/**
 * In the order `voicebot --help` lists them. Every CLI process imports all of these modules
 * (for the help text and to find the command), so a command's module imports only what its
 * name, usage and options need; run() imports the rest (the app, the config loader, ajv, pino)
 * when the command is the one that runs.
 */
export const COMMANDS: readonly Command[] = [runCommand, validateCommand, simulateCommand, callCommand, consoleCommand, testCommand, initCommand, schemaCommand];
