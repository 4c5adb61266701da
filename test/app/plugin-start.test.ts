import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli/helpers.js';

describe('voicebot run: a plugin whose start() throws', () => {
  it('exits 1 with VB_ERR_PLUGIN_START naming the slot and the configured provider, and what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vb-boom-'));
    writeFileSync(
      join(dir, 'boom.js'),
      `export default (api) => {
  class BoomTts extends api.TtsPlugin {
    capabilities = { streaming: false, sampleRates: [16000], wordTimings: false };
    constructor() { super('boom'); }
    async _start() { throw new Error('start boom'); }
    async *_synthesize() {}
  }
  return api.definePlugin({ slot: 'tts', name: 'boom', optionsSchema: { type: 'object' }, create: () => new BoomTts() });
};
`,
    );
    writeFileSync(join(dir, 'voicebot.yaml'), 'version: 1\nplugins:\n  telephony: { provider: mock }\n  tts: { provider: ./boom.js }\nflows:\n  main:\n    steps:\n      a: { say: hi }\n');
    const r = cli(['run'], { cwd: dir, timeoutMs: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error VB_ERR_PLUGIN_START ./boom.js (tts) failed to start: start boom. Check plugins.tts in the config');
    expect(r.stderr).not.toContain('VB_ERR_PROVIDER');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
