import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAjv, schemaKey } from '../../core/config/ajv.js';
import { PRECOMPILED } from '../../core/config/validators.generated.js';
import { CONFIG_SCHEMA, stepSchema } from '../../core/config/schema.js';
import { GENERATED_FILE, generateValidators, precompiledSchemas } from '../../entry/gen-validators.js';
import type { ValidateFunction } from '../../core/config/ajv.js';

// Loading every built-in plugin and compiling every schema: seconds alone, much longer on a busy machine.
describe('core/config/validators.generated.ts', { timeout: 120_000 }, () => {
  it('is what entry/gen-validators.ts generates (run `npx tsc -p . && node dist/entry/gen-validators.js` after changing a schema or ajv)', async () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(await generateValidators());
  });

  it('has a validator for the config, every step kind and every built-in plugin that loads', async () => {
    const schemas = await precompiledSchemas();
    expect(schemas.length).toBeGreaterThan(14);
    for (const s of schemas) expect(PRECOMPILED[schemaKey(s)], JSON.stringify(s).slice(0, 80)).toBeTypeOf('function');
  });

  it('reports the same errors as the validator ajv.compile() makes at run time', () => {
    const ajv = createAjv();
    const cases: [object, unknown[]][] = [
      [
        CONFIG_SCHEMA,
        [
          {},
          { version: 2, plugins: { tts: { provider: 1 } }, settings: { timeouts: { noInput: 'soon' }, bargeIn: { enabled: 'yes' } }, flows: [], extra: true },
          { version: 1, plugins: [], flows: { main: { start: 3, steps: [] } }, routes: [{ to: 5 }], vars: { a: {} } },
        ],
      ],
      [stepSchema('listen'), [{ listen: { prompt: 4, input: ['voice'], numDigits: -1, timeout: 'x' } }, { listen: {}, routes: 'nope', onError: 7 }]],
      [stepSchema('say'), [{ say: 5, bargeIn: 'no', nxt: 'a' }]],
    ];
    for (const [schema, samples] of cases) {
      const pre = PRECOMPILED[schemaKey(schema)] as ValidateFunction;
      const compiled = ajv.compile(schema);
      for (const data of samples) {
        expect(pre(data)).toBe(false);
        expect(compiled(data)).toBe(false);
        expect(pre.errors).toEqual(compiled.errors);
        expect(pre.errors!.length).toBeGreaterThan(0);
      }
    }
  });
});
