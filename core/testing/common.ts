import { it } from 'vitest';
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
