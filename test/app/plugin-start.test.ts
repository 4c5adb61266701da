import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../cli/helpers.js';

/** `voicebot …` run to its exit, spawned (not spawnSync: the worker thread stays free); the guard only stops a hang. */
function cliToExit(args: string[], cwd: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, VOICEBOT_LOG: 'silent' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 500_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(guard);
      resolve({ status, stderr });
    });
  });
}

describe('voicebot run: a plugin whose start() throws', () => {
  it('exits 1 with VB_ERR_PLUGIN_START naming the slot and the configured provider, and what to do', async () => {
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
    const r = await cliToExit(['run'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error VB_ERR_PLUGIN_START ./boom.js (tts) failed to start: start boom. Check plugins.tts in the config');
    expect(r.stderr).not.toContain('VB_ERR_PROVIDER');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 600_000);
});
