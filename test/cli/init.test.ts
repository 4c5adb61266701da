import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { cliAsync as cli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'voicebot-init-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const pkgOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;

// Each case has its own folder: they run at the same time.
describe.concurrent('voicebot init', { timeout: 120_000 }, () => {
  it('scaffolds a project whose config validates, whose scenarios pass and whose custom plugin loads', async ({ expect }) => {
    const r = await cli(['init', 'x'], { cwd: tmp });
    const dir = join(tmp, 'x');
    expect(r.status).toBe(0);
    for (const f of ['package.json', '.gitignore', 'voicebot.yaml', 'flows/main.test.yaml', 'plugins/echo-llm.js']) expect(r.stdout).toContain(`created ${join('x', f)}`);
    // Hints from where the user is: into the directory, install, then the package scripts.
    expect(r.stdout).toMatch(/Next:\n {2}cd x\n {2}npm install\n {2}npm start .*\n {2}npm test .*\n {2}npm run validate/);
    const pkg = pkgOf(dir);
    expect(pkg.type).toBe('module');
    expect(pkg.scripts).toEqual({ start: 'voicebot run', test: 'voicebot test', validate: 'voicebot validate' });
    expect((pkg.dependencies as Record<string, string>).voicebot).toMatch(/^\^\d+\.\d+\.\d+$/);
    // The editor schema is the installed one, next to the yaml once `npm install` ran.
    const yaml = readFileSync(join(dir, 'voicebot.yaml'), 'utf8');
    expect(yaml).toMatch(/^# yaml-language-server: \$schema=\.\/node_modules\/voicebot\/voicebot\.schema\.json$/m);
    // The embedded default: the softphone and the offline voice.
    expect(yaml).toMatch(/telephony: +\{ provider: local \}/);
    expect(yaml).toMatch(/tts: +\{ provider: flite/);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('node_modules/');

    const v = await cli(['validate'], { cwd: dir });
    expect(v.stdout).toMatch(/ok/);
    expect(v.status).toBe(0);
    // The plugin really loads: the scaffolded scenarios (simulated calls) hear its echo.
    const t = await cli(['test'], { cwd: dir });
    expect(t.stdout + t.stderr).toMatch(/2 passed/);
    expect(t.stdout).toContain('✓ main.test.yaml › greets and echoes what the caller says');
    expect(t.status).toBe(0);

    const again = await cli(['init', dir]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/VB_ERR_INIT_EXISTS/);
  }, 180_000);

  it('--ts writes a TypeScript plugin with its conformance test, a tsconfig and build scripts', async ({ expect }) => {
    const dir = join(tmp, 'ts');
    const r = await cli(['init', '--ts', dir]);
    expect(r.status).toBe(0);
    for (const f of ['plugins/echo-llm.ts', 'plugins/echo-llm.test.ts', 'tsconfig.json']) expect(existsSync(join(dir, f))).toBe(true);
    expect(existsSync(join(dir, 'plugins/echo-llm.js'))).toBe(false);
    expect(readFileSync(join(dir, 'plugins/echo-llm.ts'), 'utf8')).toContain("from 'voicebot/plugin'");
    expect(readFileSync(join(dir, 'plugins/echo-llm.test.ts'), 'utf8')).toContain("from 'voicebot/testing'");
    const pkg = pkgOf(dir);
    expect(pkg.scripts).toMatchObject({ build: 'tsc -p tsconfig.json', test: 'voicebot test && vitest run' });
    expect(Object.keys(pkg.devDependencies)).toEqual(expect.arrayContaining(['typescript', 'vitest']));
    expect(readFileSync(join(dir, 'voicebot.yaml'), 'utf8')).toContain('provider: ./plugins/echo-llm.ts');
    // (Compiling, loading and testing it against the installed package: test/package/.)
  });

  it('an existing package.json keeps its content and gets only what is missing', async ({ expect }) => {
    const dir = join(tmp, 'existing');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'mine', dependencies: { voicebot: 'file:voicebot-0.1.0.tgz' }, scripts: { start: 'node server.js' } }));
    writeFileSync(join(dir, '.gitignore'), 'secrets/\n');
    const r = await cli(['init', '.'], { cwd: dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('updated package.json (added type, scripts.test, scripts.validate)');
    expect(r.stdout).not.toMatch(/^ {2}cd /m);
    const pkg = pkgOf(dir);
    expect(pkg.name).toBe('mine');
    expect(pkg.dependencies).toEqual({ voicebot: 'file:voicebot-0.1.0.tgz' });
    expect(pkg.scripts).toEqual({ start: 'node server.js', test: 'voicebot test', validate: 'voicebot validate' });
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toMatch(/^secrets\/\nnode_modules\/\n/);
  });

  it('a package.json that is not JSON is a coded error, and nothing is written', async ({ expect }) => {
    const dir = join(tmp, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{ nope');
    const r = await cli(['init', dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error VB_ERR_INIT_PACKAGE_JSON .*package\.json is not valid JSON/);
    expect(existsSync(join(dir, 'voicebot.yaml'))).toBe(false);
  });
});
