import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { VoicebotError } from '../../errors/index.js';
import type { Command } from '../command.js';
import { INIT_FILES } from './init-templates.js';

export const initCommand: Command = {
  name: 'init',
  summary: 'Scaffold a project: voicebot.yaml, a flow with a test scenario, a custom plugin',
  usage: ['  voicebot init [DIR]', '', '  DIR defaults to the current directory; existing files are never overwritten.'].join('\n'),
  options: {},
  maxPositionals: 1,
  async run(args, io) {
    const dir = resolve(io.cwd, args.positionals[0] ?? '.');
    for (const name of Object.keys(INIT_FILES)) {
      const file = join(dir, name);
      if (existsSync(file)) throw new VoicebotError('VB_ERR_INIT_EXISTS', { file });
    }
    for (const [name, text] of Object.entries(INIT_FILES)) {
      const file = join(dir, name);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, text);
      io.stdout(`created ${relative(io.cwd, file) || file}\n`);
    }
    const rel = relative(io.cwd, dir) || '.';
    const cfg = join(rel, 'voicebot.yaml');
    io.stdout(`\nNext:\n  npx voicebot validate -c ${cfg}\n  npx voicebot test -c ${cfg}\n  npx voicebot run -c ${cfg}\n`);
    return 0;
  },
};
