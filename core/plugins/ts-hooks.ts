import { readFile } from 'node:fs/promises';
import type { InitializeHook, LoadHook, ResolveHook } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Node module hooks (registered by ts-loader.ts) that compile a `.ts`/`.mts`
 * plugin or tool handler with the TypeScript package when it is imported.
 * Node 20 has no type stripping; this runs on Node's loader thread.
 */
interface Ts {
  transpileModule(src: string, o: { fileName: string; compilerOptions: Record<string, unknown> }): { outputText: string };
}
let ts: Ts;

export const initialize: InitializeHook<{ typescript: string }> = async (data) => {
  const mod = (await import(pathToFileURL(data.typescript).href)) as { default?: Ts } & Ts;
  ts = mod.default ?? mod;
};

const TS_FILE = /\.m?ts$/;

export const resolve: ResolveHook = async (specifier, context, next) => {
  try {
    return await next(specifier, context);
  } catch (e) {
    // TypeScript's NodeNext convention: `import './util.js'` in a .ts file means ./util.ts.
    if (context.parentURL?.startsWith('file:') && TS_FILE.test(fileURLToPath(context.parentURL)) && /^\.\.?\/.*\.m?js$/.test(specifier)) {
      return next(specifier.replace(/\.(m?)js$/, '.$1ts'), context);
    }
    throw e;
  }
};

export const load: LoadHook = async (url, context, next) => {
  if (!url.startsWith('file:')) return next(url, context);
  const fileName = fileURLToPath(url);
  if (!TS_FILE.test(fileName)) return next(url, context);
  const source = await readFile(fileName, 'utf8');
  const out = ts.transpileModule(source, {
    fileName,
    // ES module output keeps `import`s for Node to resolve; 99 = ESNext, 9 = ES2022.
    compilerOptions: { module: 99, target: 9, inlineSourceMap: true, inlineSources: true },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
};
