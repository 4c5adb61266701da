import { execFile, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * voicebot as a new user gets it: the packed tarball installed into an empty
 * project, then only `npx voicebot …` and `npm …` from inside that project.
 * npm uses its cache first (--prefer-offline); the registry is only asked for
 * what the cache lacks.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const npmWorks = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'voicebot-pkg-'));
// Two installed projects (~100 MB each): removing them takes a while on a busy machine.
afterAll(() => rm(tmp, { recursive: true, force: true }), 180_000);

const ENV = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', VOICEBOT_LOG: 'silent', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end without blocking (the JS and the TS project's tests run at the same time). */
function spawnAsync(cwd: string, cmd: string, args: string[], timeoutMs = 300_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: ENV, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      // eslint-disable-next-line no-control-regex
      resolve({ status: err ? (typeof code === 'number' ? code : null) : 0, stdout: stdout.replace(/\x1b\[[0-9;]*m/g, ''), stderr });
    });
  });
}

async function run(cwd: string, cmd: string, args: string[], timeoutMs = 300_000): Promise<Ran> {
  const r = await spawnAsync(cwd, cmd, args, timeoutMs);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in ${cwd} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** A new project with the tarball installed, as `npm install ./voicebot-x.tgz` leaves it. */
async function installProject(name: string, tarball: string): Promise<string> {
  const dir = join(tmp, name);
  mkdirSync(dir);
  copyFileSync(tarball, join(dir, 'voicebot.tgz'));
  await run(dir, 'npm', ['install', './voicebot.tgz', '--prefer-offline']);
  return dir;
}

/**
 * A second such project without a second install: a copy of the first, taken
 * before any test changes it (the install is the same for both, and copying
 * is a fraction of its time). Symlinks (node_modules/.bin) stay relative.
 */
function copyProject(from: string, name: string): string {
  const dir = join(tmp, name);
  cpSync(from, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

// The JS and the TS project's tests are independent (each its own copy of the install) and mostly
// wait on npm, tsc and vitest processes: they run at the same time.
describe.skipIf(!npmWorks).concurrent('the packed package, installed into an empty project (needs npm)', () => {
  let tarball: string;
  let jsDir: string;
  let tsDir: string;
  beforeAll(async () => {
    // dist/ is built by the test command; --ignore-scripts keeps the checkout's dist/ untouched.
    await run(ROOT, 'npm', ['pack', '--ignore-scripts', '--pack-destination', tmp]);
    tarball = join(tmp, readdirSync(tmp).find((f) => /^voicebot-.*\.tgz$/.test(f))!);
    jsDir = await installProject('js', tarball);
    tsDir = copyProject(jsDir, 'ts');
  }, 400_000);

  it('ships dist, the schema, the softphone and the READMEs, and no tests or benchmarks', async ({ expect }) => {
    const list = (await run(ROOT, 'tar', ['-tzf', tarball])).stdout.split('\n');
    for (const f of ['package/dist/entry/cli.js', 'package/dist/core/plugin-api.d.ts', 'package/dist/entry/testing.js', 'package/voicebot.schema.json', 'package/plugins/local/static/index.html', 'package/LICENSE', 'package/README.md']) {
      expect(list).toContain(f);
    }
    expect(list.filter((f) => /^package\/(test|bench|dist\/test|dist\/bench)\//.test(f))).toEqual([]);
    expect(list.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it('npx voicebot init . && validate && test && npm start (the softphone is served)', async ({ expect }) => {
    const dir = jsDir;
    const init = await run(dir, 'npx', ['voicebot', 'init', '.']);
    expect(init.stdout).toContain('updated package.json');
    expect(init.stdout).toMatch(/^ {2}npm start /m);
    expect(readFileSync(join(dir, 'node_modules/voicebot/voicebot.schema.json'), 'utf8')).toContain('"$schema"');
    expect((await run(dir, 'npx', ['voicebot', 'validate'])).stdout).toMatch(/ok: voicebot\.yaml is valid/);
    expect((await run(dir, 'npx', ['voicebot', 'test'])).stdout).toMatch(/2 passed, 0 failed/);
    expect((await run(dir, 'npm', ['run', 'validate'])).stdout).toMatch(/ok/);

    // An app embedding the bot: `import … from 'voicebot'` has the built-ins registered, and a service registered in the container replaces voicebot's.
    writeFileSync(
      join(dir, 'embed.mjs'),
      `import { VoicebotApp, loadConfig, createDefaultRegistry, createContainer, TOKENS } from 'voicebot';
const { config } = await loadConfig(new URL('./voicebot.yaml', import.meta.url).pathname, { env: {}, registry: createDefaultRegistry() });
const container = createContainer();
const myFetch = async () => new Response('ok');
container.register(TOKENS.HttpClient, { useValue: myFetch });
const app = await VoicebotApp.create({ config, container });
console.log(JSON.stringify({ slots: Object.keys(app.plugins), tts: app.plugins.tts.provider, mine: app.container.resolve(TOKENS.HttpClient) === myFetch }));
await app.stop();
`,
    );
    expect(JSON.parse((await run(dir, 'node', ['embed.mjs'])).stdout)).toEqual({ slots: ['telephony', 'audioStream', 'vad', 'stt', 'llm', 'tts'], tts: 'flite', mine: true });

    // npm start as the user runs it, on a free port instead of the scaffold's 8080.
    const yaml = join(dir, 'voicebot.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('port: 8080', 'port: 0'));
    const child = spawn('npm', ['start'], { cwd: dir, env: ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const onData = (d: Buffer): void => {
          out += d.toString();
          const m = /call your bot at (http:\/\/\S+\/)/.exec(out);
          if (m) resolve(m[1]);
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('exit', (c) => reject(new Error(`npm start exited ${c}: ${out}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Call the bot');
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
    await exited;
  }, 420_000);

  it('a TypeScript plugin importing voicebot/plugin type-checks and passes voicebot/testing in vitest', async ({ expect }) => {
    const dir = tsDir;
    await run(dir, 'npx', ['voicebot', 'init', '--ts', '.']);
    // Before `npm install` brings typescript, a .ts plugin is a coded error that says what to do.
    const noTs = await spawnAsync(dir, 'npx', ['voicebot', 'validate']);
    expect(noTs.status).toBe(1);
    expect(noTs.stdout + noTs.stderr).toContain('VB_ERR_PLUGIN_TS');
    expect(noTs.stdout + noTs.stderr).toContain('npm install -D typescript');

    await run(dir, 'npm', ['install', '--prefer-offline']);
    // The scaffold's `npm test`: `voicebot test` (the same .ts file is what voicebot loads, compiled on load
    // with the project's typescript), then `vitest run` (extra args go to vitest).
    const t = await run(dir, 'npm', ['test', '--', '--reporter=verbose']);
    expect(t.stdout).toMatch(/2 passed, 0 failed/);
    expect(t.stdout).toMatch(/llm conformance: echo-llm/);
    expect(t.stdout).toMatch(/Tests +4 passed \| 1 skipped/);
    // The scaffold's build is `tsc -p tsconfig.json`: it type-checks (a type error fails it) and writes dist/.
    // One tsc run proves both, so no separate `tsc --noEmit`.
    await run(dir, 'npm', ['run', 'build']);
    expect(readFileSync(join(dir, 'dist/plugins/echo-llm.js'), 'utf8')).toContain("from 'voicebot/plugin'");
  }, 600_000);
});
