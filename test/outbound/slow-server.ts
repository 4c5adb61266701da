import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

/**
 * A loopback HTTP service that answers `{"balance":42}` after `delayMs` (real
 * time: it is a real socket), closed after each test of the file that uses it.
 */
export function useSlowServer(): (delayMs: number) => Promise<string> {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });
  return async (delayMs) => {
    server = createServer((_req, res) => setTimeout(() => res.end(JSON.stringify({ balance: 42 })), delayMs));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
}
