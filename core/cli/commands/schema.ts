import { buildEditorSchema } from '../../config/schema.js';
import type { Command } from '../command.js';

export const schemaCommand: Command = {
  name: 'schema',
  summary: 'Print the JSON schema of voicebot.yaml (for editors)',
  usage: '  voicebot schema > voicebot.schema.json',
  options: {},
  maxPositionals: 0,
  async run(_args, io) {
    io.stdout(JSON.stringify(buildEditorSchema(), null, 2) + '\n');
    return 0;
  },
};
