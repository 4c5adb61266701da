import { afterAll, beforeAll, it } from 'vitest';
import { VoicebotError } from '../errors/index.js';

/** Per-implementation skips: test title → reason. The reason shows in the report. */
export type Skips = Record<string, string>;

/** `it`, or `it.skip` with the reason in the title (hono's common.case style). */
export function caseFor(skips: Skips | undefined) {
  return (title: string, fn: () => Promise<void> | void, timeout?: number): void => {
    const reason = skips?.[title];
    if (reason) it.skip(`${title} (skipped: ${reason})`, fn);
    else it(title, fn, timeout);
  };
}

export function expectCodedError(e: unknown, code?: string): void {
  if (!(e instanceof VoicebotError)) throw new Error(`expected a VoicebotError, got ${String(e)}`);
  if (code && e.code !== code) throw new Error(`expected ${code}, got ${e.code}`);
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The lifecycle every slot suite shares: build the fixture and start its plugin once; stop and clean up after. */
export function useFixture<F extends { plugin: { start(): Promise<void>; stop(): Promise<void> }; cleanup?: () => Promise<void> }>(
  factory: () => Promise<F>,
  set: (fx: F) => void,
): void {
  let fx: F | undefined;
  beforeAll(async () => {
    fx = await factory();
    set(fx);
    await fx.plugin.start();
  });
  afterAll(async () => {
    await fx?.plugin.stop();
    await fx?.cleanup?.();
  });
}
