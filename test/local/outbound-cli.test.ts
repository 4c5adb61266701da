import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cliBackground } from '../cli/helpers.js';
import { outboundConfig } from '../outbound/api.test-config.js';
import { SHORT_REMINDER } from './helpers.js';

const running: ReturnType<typeof cliBackground>[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  for (const r of running.splice(0)) {
    r.child.kill('SIGINT');
    await r.exited;
  }
});

describe('voicebot call -c with the local softphone line', () => {
  it('waits for the page (pageWaitMs), rings it, the accepted call runs its flow; exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vb-local-call-'));
    const f = join(dir, 'voicebot.yaml');
    writeFileSync(f, outboundConfig().replace('telephony: { provider: mock }', 'telephony: { provider: local, port: 0, pageWaitMs: 15000 }'));
    const ready = /open (http:\/\/127\.0\.0\.1:\d+)\/ in a browser/;
    const run = cliBackground(['call', '+15550100', '-c', f, '--var', 'name=Ann'], ready, { env: { VOICEBOT_LOG: 'info' } });
    running.push(run);
    await run.ready;
    const base = ready.exec(run.output().stderr)![1]!;
    // The page protocol over the real socket: standby, accept the incoming call, listen to the end.
    const ws = new WebSocket(base.replace('http', 'ws') + '/ws');
    sockets.push(ws);
    const types: string[] = [];
    let frames = 0;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return void frames++;
      const m = JSON.parse(String(data)) as { type: string; callId?: string };
      types.push(m.type);
      if (m.type === 'incoming') ws.send(JSON.stringify({ type: 'accept', callId: m.callId }));
    });
    await new Promise<void>((r) => ws.once('open', () => r()));
    ws.send(JSON.stringify({ type: 'hello', version: 1, sampleRate: 16000, standby: true }));
    const code = await run.exited;
    running.length = 0;
    const { stdout } = run.output();
    expect(stdout).toMatch(/^dialling \+15550100 \(call local-out-\S+\) → flow reminder$/m);
    expect(stdout).toContain(`  bot:    ${SHORT_REMINDER}`);
    expect(stdout).toMatch(/call ended \(bot-hangup\)/);
    expect(code).toBe(0);
    expect(types.slice(0, 4)).toEqual(['standby', 'incoming', 'ringing', 'answered']);
    expect(frames).toBeGreaterThan(20);
  }, 60_000);
});
