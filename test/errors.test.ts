import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_DEFS, isErrorCode } from '../core/errors/registry.js';
import { ERRORS_END, ERRORS_START, renderErrorTable } from '../core/errors/docs.js';
import { VoicebotError } from '../core/errors/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('error registry', () => {
  it('every code is documented in README.md with its current message', () => {
    const block = readme.slice(readme.indexOf(ERRORS_START) + ERRORS_START.length, readme.indexOf(ERRORS_END)).trim();
    const missing = Object.keys(ERROR_DEFS).filter((c) => !block.includes('`' + c + '`'));
    expect(missing).toEqual([]);
    // Messages drift too: the block must be exactly what the registry renders.
    expect(block).toBe(renderErrorTable());
  });

  it('every code README.md mentions exists', () => {
    const mentioned = new Set(readme.match(/VB_(?:ERR|WARN)_[A-Z0-9_]+/g) ?? []);
    // "Writing a plugin" shows how a third-party plugin declares its own code.
    const examples = new Set(['VB_ERR_ACME_QUOTA']);
    const unknown = [...mentioned].filter((c) => !isErrorCode(c) && !examples.has(c));
    expect(unknown).toEqual([]);
  });

  it('codes follow the naming rule and warnings are VB_WARN_*', () => {
    for (const [code, def] of Object.entries(ERROR_DEFS) as [string, { severity?: string; message: string }][]) {
      expect(code).toMatch(/^VB_(ERR|WARN)_[A-Z0-9_]+$/);
      expect(code.startsWith('VB_WARN_')).toBe(def.severity === 'warning');
      expect(def.message.length).toBeGreaterThan(3);
    }
  });

  it('formats one line with position and no stack', () => {
    const e = new VoicebotError('VB_ERR_CONFIG_DURATION', { value: '5 parsecs' }, { location: { file: 'voicebot.yaml', line: 3, col: 7 } });
    expect(e.toLine()).toBe(
      'voicebot.yaml:3:7 error VB_ERR_CONFIG_DURATION Invalid duration "5 parsecs". Use a number of milliseconds or a string like 600ms, 6s, 15m, 1h.',
    );
    expect(e.retryable).toBe(false);
  });
});
