/**
 * Messages a new user meets, tried as they would: the built CLI
 * (core/cli/bin.mjs, what `npx voicebot` runs) in a temp project. Each case
 * is a regression test of a message that once pointed at the wrong place or
 * said too little (issue #16, "Also fix").
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'voicebot-new-user-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PLUGINS = `version: 1
plugins:
  telephony: { provider: mock }
  stt: { provider: mock }
  llm: { provider: mock }
  tts: { provider: mock }
`;

/** Writes `files` into a fresh project folder and returns its path. */
function project(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  for (const [f, text] of Object.entries(files)) {
    const path = join(dir, f);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return dir;
}

describe('voicebot validate, as a new user meets it', () => {
  it('two start: keys in a flow: the target error points at the second one, whose value the config holds', () => {
    const dir = project('two-starts', {
      'voicebot.yaml': `${PLUGINS}flows:
  main:
    start: hello
    start: nope
    steps:
      hello: { say: "Hi." }
`,
    });
    const r = cli(['validate', '-c', 'voicebot.yaml'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('voicebot.yaml:10:5 error VB_ERR_CONFIG_DUPLICATE_KEY Duplicate key "start"');
    expect(r.stdout).toContain('voicebot.yaml:10:12 error VB_ERR_CONFIG_TARGET start target "nope" does not exist');
  });

  it('transfer: { mode: … } with a wrong value names the key and the allowed values', () => {
    const dir = project('transfer-mode', {
      'voicebot.yaml': `${PLUGINS}flows:
  main:
    steps:
      t: { transfer: { to: "+15550100", mode: cold } }
      u: { transfer: { to: "+15550100", mod: warm } }
`,
    });
    const r = cli(['validate', '-c', 'voicebot.yaml'], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('voicebot.yaml:10:47 error VB_ERR_CONFIG_SCHEMA "flows.main.steps.t.transfer.mode" must be one of "blind", "warm"');
    expect(r.stdout).toMatch(/voicebot\.yaml:11:41 error \S+ .*"mod".*Did you mean "mode"\?/);
    expect(r.stdout).not.toContain('wrong shape');
  });
});
