import { existsSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { join } from 'node:path';
import { VoicebotError } from '../errors/index.js';

export const TS_FILE = /\.m?ts$/;

let registered: string | undefined;

/** The TypeScript package the user's project has (or the one next to voicebot). */
function findTypescript(fromDir: string): string | undefined {
  for (const base of [join(fromDir, 'package.json'), import.meta.filename]) {
    try {
      return createRequire(base).resolve('typescript');
    } catch {
      // not installed there
    }
  }
  return undefined;
}

function hooksUrl(): URL {
  // Compiled next to this file; under vitest this file is the .ts source, so use the build.
  const here = new URL('./ts-hooks.js', import.meta.url);
  return existsSync(here) ? here : new URL('../../dist/core/plugins/ts-hooks.js', import.meta.url);
}

/**
 * Imports a module that may be TypeScript. Node 20 cannot run `.ts` itself:
 * the first time it refuses one, voicebot registers hooks that compile `.ts`
 * with the project's `typescript` package (no bundler, no extra dependency).
 * Without it, a coded error says how to get one or how to build the file.
 */
export async function importMaybeTs(href: string, file: string, fromDir: string): Promise<Record<string, unknown>> {
  try {
    return (await import(href)) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !TS_FILE.test(file) || registered) throw e;
  }
  const typescript = findTypescript(fromDir);
  if (!typescript) throw new VoicebotError('VB_ERR_PLUGIN_TS', { file, dir: fromDir });
  register(hooksUrl(), { data: { typescript } });
  registered = typescript;
  // Node remembers the failed import of this URL: a query makes it a new one.
  return (await import(`${href}${href.includes('?') ? '&' : '?'}ts`)) as Record<string, unknown>;
}
