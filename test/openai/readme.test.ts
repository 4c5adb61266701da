/** The voicebot.yaml examples in plugins/openai/README.md validate (telephony swapped for mock). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../core/config/load.js';
import { createDefaultRegistry } from '../../core/plugins/registry.js';

const readme = readFileSync(new URL('../../plugins/openai/README.md', import.meta.url), 'utf8');
const examples = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((y) => /^version: 1$/m.test(y));

describe('plugins/openai/README.md', () => {
  it('has the OpenAI and the self-hosted example', () => {
    expect(examples.length).toBe(2);
    expect(examples[1]).toContain('baseURL: "http://127.0.0.1:');
  });

  for (const [i, yaml] of examples.entries()) {
    it(`example ${i + 1} validates`, async () => {
      const text = yaml.replace(/^( {2}telephony:).*$/m, '$1 { provider: mock }');
      const env = { OPENAI_API_KEY: 'sk-x', RC_CLIENT_ID: 'a', RC_CLIENT_SECRET: 'b', RC_JWT: 'c' };
      const { diagnostics } = await loadConfigText(text, '/tmp/voicebot.yaml', { env, registry: createDefaultRegistry() });
      expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    });
  }
});
