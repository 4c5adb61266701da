import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildEditorSchema } from '../../core/config/schema.js';

describe('voicebot.schema.json', () => {
  it('is the schema the code generates (run `npx voicebot schema > voicebot.schema.json` after changing core/config/schema.ts)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../voicebot.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(buildEditorSchema());
  });
});
