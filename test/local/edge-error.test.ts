/**
 * The softphone on an edge whose worker is down: the page learns the coded
 * reason the call ended (a call.error event before the socket closes), not
 * just "error". Real WebSocket client (the page protocol), real edge app.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SoftphoneClient } from '../../plugins/local/index.js';
import { startEdgeWithDeadWorker } from './helpers.js';

const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
});


describe('softphone on an edge whose worker is down', () => {
  it('gets the coded reason of the error end', async () => {
    const { app, line, port } = await startEdgeWithDeadWorker();
    stops.push(() => app.stop());
    const c = new SoftphoneClient(line.wsUrl!, {});
    stops.push(async () => {
      c.close();
      await c.closed;
    });
    expect(await c.ended).toBe('error');
    await c.closed;
    const err = c.events.find((e) => e.type === 'call.error');
    expect(err).toMatchObject({ type: 'call.error', code: expect.stringMatching(/^VB_ERR_WS_/), message: expect.stringContaining(String(port)) });
  }, 120_000); // a hang guard for a loaded machine
});
