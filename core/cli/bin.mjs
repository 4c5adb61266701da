#!/usr/bin/env node
// Entry point of `npx voicebot`. The TypeScript sources are compiled to dist/ by
// `npm install` (the prepare script); this file stays plain JS so it runs as is.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../../dist/core/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('error VB_ERR_CLI_NOT_BUILT voicebot is not built. Run `npm install` (or `npm run build`) in the voicebot directory.\n');
  process.exit(1);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
