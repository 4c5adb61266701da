/**
 * The rate to ask a plugin for: `preferred` when it takes it (no conversion),
 * else the lowest it offers above it (no information lost), else its highest.
 */
export function pickRate(offered: readonly number[], preferred: number): number {
  if (offered.length === 0 || offered.includes(preferred)) return preferred;
  const above = offered.filter((r) => r > preferred).sort((a, b) => a - b);
  return above[0] ?? Math.max(...offered);
}
