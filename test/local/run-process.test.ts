/**
 * Issue #12 item 1 at the process level: a real `voicebot run` with the
 * shipped config survives a softphone frame `null` (it used to die with a
 * TypeError in onSocket) and keeps serving calls.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SoftphoneClient } from '../../plugins/local/index.js';
import { cliBackground } from '../cli/helpers.js';
import { rawClient, until } from '../websocket/helpers.js';
import { shippedConfigText } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vb-run-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('voicebot run against a hostile softphone client', () => {
  it('a text frame `null` gets VB_ERR_LOCAL_PROTOCOL; the process lives on and takes the next call', async () => {
    const file = join(dir, 'voicebot.yaml');
    writeFileSync(file, shippedConfigText());
    const p = cliBackground(['run', '-c', file], /call your bot at http:\/\/[^/]+\//);
    try {
      await p.ready;
      const page = /call your bot at (http:\/\/[^/]+\/)/.exec(p.output().stderr)![1];
      const ws = page.replace(/^http/, 'ws') + 'ws';
      for (const text of ['null', '[]', '7']) {
        const bad = await rawClient(ws, {});
        bad.send(text);
        expect((await bad.next((m) => m.type === 'error', 'a coded error')).code).toBe('VB_ERR_LOCAL_PROTOCOL');
        await bad.closed;
      }
      const c = new SoftphoneClient(ws);
      await c.answered;
      await until(() => c.rxFrames > 10, 'bot audio on a normal call', 60_000);
      c.hangup();
      expect(await c.ended).toBe('caller-hangup');
      c.close();
      expect(p.child.exitCode).toBe(null);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }, 180_000); // a hang guard for a loaded machine
});
