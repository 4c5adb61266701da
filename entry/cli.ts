import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import './builtins.js';
import { main } from '../core/cli/main.js';

export { main };

// `voicebot … | head`: a reader that went away is the end of the output, not a
// crash with a stack trace (the error arrives after the write, so it is process-wide).
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

// `node dist/entry/cli.js …` works like the `voicebot` bin (tests and process
// managers often run the compiled file directly).
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
