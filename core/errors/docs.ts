import { ERROR_DEFS } from './registry.js';
import type { ErrorDef } from './define.js';

/**
 * The README's error table, rendered from the registry. test/errors.test.ts
 * checks the README block equals this, and that every code the README
 * mentions exists. Refresh with `node dist/entry/docs.js --write` (it registers the built-ins' codes first).
 */
export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_DEFS as Record<string, ErrorDef>)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, def]) => {
      const kind = def.severity === 'warning' ? 'warning' : def.retryable ? 'error (retryable)' : 'error';
      return `| \`${code}\` | ${kind} | ${def.message.replace(/\|/g, '\\|')} |`;
    });
  return ['| code | kind | message (`{x}` is filled in) |', '|---|---|---|', ...rows].join('\n');
}

export const ERRORS_START = '<!-- errors:start -->';
export const ERRORS_END = '<!-- errors:end -->';

export function replaceErrorBlock(readme: string): string {
  const a = readme.indexOf(ERRORS_START);
  const b = readme.indexOf(ERRORS_END);
  if (a < 0 || b < a) throw new Error('README has no errors block');
  return readme.slice(0, a + ERRORS_START.length) + '\n' + renderErrorTable() + '\n' + readme.slice(b);
}
