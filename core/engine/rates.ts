/**
 * The rate to ask a plugin for: `preferred` when it takes it (no conversion),
 * else the lowest it offers above it (no information lost), else its highest.
 */
/**
 * The engine's working rate for a call. `auto` keeps the leg's input rate when
 * the VAD and STT accept it: resampling every inbound frame was 40% of the CPU
 * at 800 concurrent 8 kHz calls. Otherwise the STT's preferred rate, so the
 * conversion happens once, at the edge.
 */
export function engineRateFor(
  setting: number | 'auto',
  inputRate: number,
  vadRates: readonly number[],
  sttRates: readonly number[] | undefined,
): number {
  if (setting !== 'auto') return setting;
  const takes = (r: readonly number[]) => r.length === 0 || r.includes(inputRate);
  if (takes(vadRates) && (sttRates === undefined || takes(sttRates))) return inputRate;
  if (sttRates !== undefined && sttRates.length > 0) return pickRate(sttRates, 16000);
  return pickRate(vadRates, 16000);
}

export function pickRate(offered: readonly number[], preferred: number): number {
  if (offered.length === 0 || offered.includes(preferred)) return preferred;
  const above = offered.filter((r) => r > preferred).sort((a, b) => a - b);
  return above[0] ?? Math.max(...offered);
}
