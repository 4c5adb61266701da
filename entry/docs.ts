/** `node dist/entry/docs.js --write` refreshes README's error table from the registry, plugin codes included. */
import { readFileSync, writeFileSync } from 'node:fs';
import './builtins.js';
import { replaceErrorBlock } from '../core/errors/docs.js';

const file = new URL('../../README.md', import.meta.url);
if (process.argv.includes('--write')) writeFileSync(file, replaceErrorBlock(readFileSync(file, 'utf8')));
