import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type AjvModule from 'ajv';
import type { ErrorObject, KeywordCxt, ValidateFunction } from 'ajv';
import { isDuration } from './duration.js';
import { PRECOMPILED } from './validators.generated.js';

type AjvClass = typeof AjvModule.default;
export type AjvInstance = InstanceType<AjvClass>;

/** The options of every config/plugin-option ajv; part of the key of a precompiled validator. */
export const AJV_OPTIONS = { strict: true, allErrors: true, allowUnionTypes: true, verbose: true, discriminator: true } as const;

let AjvCtor: AjvClass | undefined;
/** ajv itself (≈0.1 s to load, CommonJS), loaded on the first schema that has no precompiled validator. */
function ajvClass(): AjvClass {
  if (!AjvCtor) {
    const mod = createRequire(import.meta.url)('ajv') as { default?: AjvClass } & AjvClass;
    AjvCtor = mod.default ?? mod;
  }
  return AjvCtor;
}

/**
 * One strict ajv with the `duration` keyword, shared by config and plugin-option validation.
 * `source: true` keeps the generated code, so core/config/validators-gen.ts can write it out.
 */
export function createAjv(opts: { source?: boolean } = {}): AjvInstance {
  const Ajv = ajvClass();
  const ajv = new Ajv({ ...AJV_OPTIONS, ...(opts.source ? { code: { source: true, esm: true } } : {}) });
  ajv.addKeyword({
    keyword: 'duration',
    schemaType: 'boolean',
    // A code keyword (not `validate`) so the standalone code calls isDuration by name; the error
    // is ajv's default one, as for a validate keyword with errors: false.
    code(cxt: KeywordCxt) {
      if (!cxt.schema) return;
      const { _ } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
      const fn = cxt.gen.scopeValue('func', { ref: isDuration, code: _`isDuration` });
      cxt.fail(_`!${fn}(${cxt.data})`);
    },
  });
  return ajv;
}

/** The key of a schema's precompiled validator: its JSON and the ajv options. */
export function schemaKey(schema: object): string {
  return createHash('sha256').update(JSON.stringify(AJV_OPTIONS)).update('\0').update(JSON.stringify(schema)).digest('hex').slice(0, 32);
}

let shared: AjvInstance | undefined;
/**
 * The validator for a schema: the one precompiled at build time for it (core/config/validators.generated.ts,
 * the same ajv code that compile() would generate), else ajv.compile() in a shared instance.
 * Compiling the config schema and its step kinds is most of a CLI process's start-up CPU.
 */
export function compileSchema(schema: object): ValidateFunction {
  const pre = PRECOMPILED[schemaKey(schema)] as ValidateFunction | undefined;
  if (pre) return pre;
  try {
    return (shared ??= createAjv()).compile(schema);
  } catch (e) {
    // A schema with an $id another one already registered: compile it on its own, as before.
    if (!/already exists/.test(String((e as Error)?.message))) throw e;
    return createAjv().compile(schema);
  }
}

export type { ErrorObject, ValidateFunction };
