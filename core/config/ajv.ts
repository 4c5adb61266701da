import AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parseDuration } from './duration.js';

// ajv is CommonJS with a default export; under NodeNext the class sits on .default.
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as unknown as typeof AjvModule.default;

/** One strict ajv with the `duration` keyword, shared by config and plugin-option validation. */
export function createAjv(): InstanceType<typeof Ajv> {
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true, verbose: true, discriminator: true });
  ajv.addKeyword({
    keyword: 'duration',
    schemaType: 'boolean',
    validate: (enabled: boolean, data: unknown) => !enabled || parseDuration(data) !== undefined,
    errors: false,
  });
  return ajv;
}

export type { ErrorObject, ValidateFunction };
