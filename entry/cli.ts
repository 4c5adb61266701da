import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import './builtins.js';
import { main } from '../core/cli/main.js';

export { main };

// `node dist/entry/cli.js …` works like the `voicebot` bin (tests and process
// managers often run the compiled file directly).
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
