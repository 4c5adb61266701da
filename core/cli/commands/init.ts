import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { VoicebotError } from '../../errors/index.js';
import type { Command } from '../command.js';
import { GITIGNORE_LINES, initFiles, packageAdditions, type PackageJson } from './init-templates.js';

function voicebotVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** An npm package name from the directory name (lowercase, url-safe). */
function packageName(dir: string): string {
  return basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'my-voicebot';
}

/**
 * Adds what the project needs to package.json and keeps everything already
 * there (e.g. the `voicebot` dependency `npm install ./voicebot-x.tgz` wrote).
 * Returns the keys it added.
 */
function mergePackageJson(file: string, dir: string, ts: boolean): string[] {
  const existing = existsSync(file);
  let pkg: PackageJson = {};
  if (existing) {
    try {
      pkg = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
    } catch (e) {
      throw new VoicebotError('VB_ERR_INIT_PACKAGE_JSON', { file, detail: (e as Error).message });
    }
  } else {
    pkg = { name: packageName(dir), version: '0.1.0', private: true };
  }
  const add = packageAdditions({ ts }, voicebotVersion());
  const added: string[] = [];
  if (pkg.type === undefined) {
    pkg.type = add.type;
    added.push('type');
  }
  for (const key of ['scripts', 'dependencies', 'devDependencies'] as const) {
    const have: Record<string, string> = { ...(pkg[key] ?? {}) };
    for (const [k, v] of Object.entries(add[key])) {
      if (have[k] === undefined) {
        have[k] = v;
        added.push(`${key}.${k}`);
      }
    }
    if (Object.keys(have).length) pkg[key] = have;
  }
  writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
  return added;
}

/** Missing ignore lines are appended; an existing .gitignore keeps its own. */
function mergeGitignore(file: string): boolean {
  const have = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = new Set(have.split(/\r?\n/).map((l) => l.trim()));
  const missing = GITIGNORE_LINES.filter((l) => !lines.has(l));
  if (!missing.length) return false;
  appendFileSync(file, (have && !have.endsWith('\n') ? '\n' : '') + missing.join('\n') + '\n');
  return true;
}

export const initCommand: Command = {
  name: 'init',
  summary: 'Scaffold a project: package.json, voicebot.yaml (softphone + offline voice), a flow with test scenarios, a custom plugin',
  usage: [
    '  voicebot init [DIR] [--ts]',
    '',
    '  DIR defaults to the current directory. Existing files are never overwritten;',
    '  an existing package.json and .gitignore keep their content and get what is missing.',
    '      --ts   the plugin in TypeScript, with tsconfig.json, `npm run build` and a vitest',
    '             test that runs voicebot/testing\'s conformance suite',
  ].join('\n'),
  options: { ts: { type: 'boolean' } },
  maxPositionals: 1,
  async run(args, io) {
    const ts = args.values.ts === true;
    const dir = resolve(io.cwd, args.positionals[0] ?? '.');
    const files = initFiles({ ts });
    for (const name of Object.keys(files)) {
      const file = join(dir, name);
      if (existsSync(file)) throw new VoicebotError('VB_ERR_INIT_EXISTS', { file });
    }
    // Relative to where the user is, unless that climbs out of it.
    const show = (file: string): string => {
      const r = relative(io.cwd, file);
      return r && !r.startsWith('..') ? r : file;
    };
    mkdirSync(dir, { recursive: true });
    const pkgFile = join(dir, 'package.json');
    const hadPkg = existsSync(pkgFile);
    const added = mergePackageJson(pkgFile, dir, ts);
    io.stdout(hadPkg ? `updated ${show(pkgFile)}${added.length ? ` (added ${added.join(', ')})` : ''}\n` : `created ${show(pkgFile)}\n`);
    const ignore = join(dir, '.gitignore');
    const hadIgnore = existsSync(ignore);
    if (mergeGitignore(ignore)) io.stdout(`${hadIgnore ? 'updated' : 'created'} ${show(ignore)}\n`);
    for (const [name, text] of Object.entries(files)) {
      const file = join(dir, name);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, text);
      io.stdout(`created ${show(file)}\n`);
    }

    // Hints that work from where the user is: cd first, install what is missing.
    const steps: string[] = [];
    if (dir !== resolve(io.cwd)) {
      const to = show(dir);
      steps.push(`cd ${/\s/.test(to) ? JSON.stringify(to) : to}`);
    }
    const installed = existsSync(join(dir, 'node_modules', 'voicebot', 'package.json'));
    const needsDev = ts && !existsSync(join(dir, 'node_modules', 'typescript', 'package.json'));
    if (!installed || needsDev || added.some((a) => a.startsWith('dependencies.') || a.startsWith('devDependencies.'))) steps.push('npm install');
    steps.push('npm start            # serves the softphone: open the printed http://127.0.0.1:8080/ and call the bot');
    steps.push(`npm test             # the scenarios in flows/main.test.yaml${ts ? ', then the plugin\'s conformance test' : ''}`);
    steps.push('npm run validate     # checks voicebot.yaml, every problem as file:line:col');
    io.stdout(`\nNext:\n${steps.map((s) => `  ${s}`).join('\n')}\n`);
    return 0;
  },
};
