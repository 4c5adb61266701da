import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'vitest';

/**
 * A loopback HTTP service that answers `{"balance":42}` after `delayMs` (real
 * time: it is a real socket), closed when the test that started it ends (one
 * per test, so concurrent tests each have their own).
 */
export async function startSlowServer(ctx: Pick<TestContext, 'onTestFinished'>, delayMs: number): Promise<string> {
  const server = createServer((_req, res) => setTimeout(() => res.end(JSON.stringify({ balance: 42 })), delayMs));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  ctx.onTestFinished(() => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
