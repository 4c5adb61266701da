#!/usr/bin/env node
// Entry point of `npx voicebot`. The TypeScript sources are compiled to dist/ by
// `npm run build` in a checkout and by `npm pack` (prepack) for the published
// package; this file stays plain JS so it runs as is.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../../dist/entry/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  // A checkout has the TypeScript sources next to this file; an installed package does not.
  const checkout = existsSync(fileURLToPath(new URL('../../tsconfig.json', import.meta.url)));
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const advice = checkout
    ? `Run \`npm run build\` in ${root}.`
    : `This installed copy (${root}) is incomplete: reinstall it with \`npm install voicebot\`.`;
  process.stderr.write(`error VB_ERR_CLI_NOT_BUILT voicebot is not built (no dist/). ${advice}\n`);
  process.exit(1);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
