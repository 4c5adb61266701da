import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CORE_ERROR_DEFS, ERROR_DEFS, isErrorCode } from '../../core/errors/registry.js';
import { VoicebotError, registerErrors } from '../../core/plugin-api.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'voicebot-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The registry is process-wide and a vitest worker runs many files (isolate: false): the codes this
// file's example plugins register are removed again, so later files see only voicebot's own.
const before = new Set(Object.keys(ERROR_DEFS));
afterAll(() => {
  for (const code of Object.keys(ERROR_DEFS)) if (!before.has(code)) delete (ERROR_DEFS as Record<string, unknown>)[code];
});

describe('plugins declare their own coded errors', () => {
  it('the built-ins\' codes live with the plugins and are registered by the composition root', () => {
    expect(Object.keys(CORE_ERROR_DEFS).some((c) => c.startsWith('VB_ERR_OPENAI_'))).toBe(false);
    expect(isErrorCode('VB_ERR_OPENAI_API_KEY')).toBe(true);
    expect(isErrorCode('VB_ERR_WS_STREAM_LOST')).toBe(true);
  });

  it('a third-party plugin lists codes in its manifest; loading it registers them, and its errors read like the core\'s', async () => {
    writeFileSync(
      join(dir, 'acme-tts.js'),
      `export default (api) => api.definePlugin({
  slot: 'tts', name: 'acme', optionsSchema: { type: 'object' },
  errors: { VB_ERR_ACME_QUOTA: { message: 'Acme quota of {quota} characters is used up. Raise it at acme.example.', retryable: true } },
  create: () => { throw new api.VoicebotError('VB_ERR_ACME_QUOTA', { quota: 1000 }); },
});\n`,
    );
    expect(isErrorCode('VB_ERR_ACME_QUOTA')).toBe(false);
    const manifest = await createDefaultRegistry().resolve('tts', './acme-tts.js', dir);
    expect(isErrorCode('VB_ERR_ACME_QUOTA')).toBe(true);
    let err: unknown;
    try {
      manifest.create({}, { configDir: dir, logger: undefined as never, language: 'en-US' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VoicebotError);
    expect((err as VoicebotError).toLine()).toBe('error VB_ERR_ACME_QUOTA Acme quota of 1000 characters is used up. Raise it at acme.example.');
    expect((err as VoicebotError).retryable).toBe(true);
  });

  it('registerErrors at module load works the same; registering the same definition again is harmless', () => {
    const defs = { VB_ERR_ZED_DOWN: { message: 'Zed is down. Try again later.', retryable: true } };
    registerErrors(defs);
    registerErrors(defs);
    expect(ERROR_DEFS.VB_ERR_ZED_DOWN).toEqual(defs.VB_ERR_ZED_DOWN);
    expect(new VoicebotError('VB_ERR_ZED_DOWN').retryable).toBe(true);
  });

  it('a taken code with another meaning, a bad name or a mislabelled warning is refused with VB_ERR_ERROR_CODE', () => {
    const refuse = (defs: Record<string, { message: string; severity?: 'warning' | 'error' }>): string => {
      try {
        registerErrors(defs);
      } catch (e) {
        expect(e).toBeInstanceOf(VoicebotError);
        return (e as VoicebotError).toLine();
      }
      throw new Error('accepted');
    };
    expect(refuse({ VB_ERR_PROVIDER: { message: 'Something else entirely.' } })).toMatch(/^error VB_ERR_ERROR_CODE .*"VB_ERR_PROVIDER" is already registered with another meaning/);
    expect(refuse({ acme_broken: { message: 'Broken.' } })).toMatch(/"acme_broken" is not a code name/);
    expect(refuse({ VB_ERR_ACME_SOFT: { message: 'Only a warning.', severity: 'warning' } })).toMatch(/warnings are VB_WARN_\*/);
    expect(isErrorCode('acme_broken')).toBe(false);
  });

  it('a code nobody registered still makes a readable one-line error (never a crash)', () => {
    const e = new VoicebotError('VB_ERR_NOBODY_KNOWS', { detail: 'it broke' });
    expect(e.toLine()).toBe('error VB_ERR_NOBODY_KNOWS it broke (VB_ERR_NOBODY_KNOWS is not a registered error code: the plugin that threw it must declare it with registerErrors)');
  });
});
