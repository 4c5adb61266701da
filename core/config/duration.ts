const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `600ms`, `6s`, `1.5s`, `15m`, `1h`, or a number of ms. Undefined when invalid. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) return undefined;
  return Math.round(parseFloat(m[1]) * UNITS[m[2] ?? 'ms']);
}

/** The `duration: true` schema keyword (core/config/ajv.ts): the value must be a duration parseDuration() accepts. */
export function isDuration(v: unknown): boolean {
  return parseDuration(v) !== undefined;
}
