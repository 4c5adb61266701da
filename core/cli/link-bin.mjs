// Run by `npm install` (prepare). npm links a package's bin for its dependents,
// never for the package itself, so in a clone `npx voicebot` would make npm
// install this directory into its cache and rebuild it first (≈6 s, every
// fresh clone). Linking node_modules/.bin/voicebot here lets npx find it at once.
import { existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const binDir = join(root, 'node_modules', '.bin');
const link = join(binDir, 'voicebot');
// Installed as a dependency of another project: npm links the bin itself.
if (existsSync(join(root, 'node_modules'))) {
  mkdirSync(binDir, { recursive: true });
  try {
    if (lstatSync(link)) rmSync(link);
  } catch {
    /* not there yet */
  }
  symlinkSync(relative(binDir, join(root, 'core', 'cli', 'bin.mjs')), link);
}
