import type { Command } from '../command.js';
import { runCommand } from './run.js';
import { validateCommand } from './validate.js';
import { initCommand } from './init.js';
import { schemaCommand } from './schema.js';
import { simulateCommand } from './simulate.js';
import { consoleCommand } from './console.js';
import { testCommand } from './test.js';
import { callCommand } from './call.js';

/** In the order `voicebot --help` lists them. */
export const COMMANDS: readonly Command[] = [runCommand, validateCommand, simulateCommand, callCommand, consoleCommand, testCommand, initCommand, schemaCommand];
