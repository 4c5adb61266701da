/** Percentile of an unsorted sample (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Plain-text table for the terminal. */
export function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)\n';
  // Columns of every row, in first-seen order (later rows may add some, e.g. ratios to ours).
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(w[i])).join('  ');
  return [line(cols), line(w.map((n) => '-'.repeat(n))), ...rows.map((r) => line(cols.map((c) => String(r[c] ?? ''))))].join('\n') + '\n';
}

export function min(values: readonly number[]): number {
  return values.length ? Math.min(...values) : NaN;
}

export function max(values: readonly number[]): number {
  return values.length ? Math.max(...values) : NaN;
}

/** "median (min–max)" of a few runs, for tables. */
export function spread(values: readonly number[], digits = 1): string {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return '—';
  return `${round(median(v), digits)} (${round(min(v), digits)}–${round(max(v), digits)})`;
}

/**
 * Fixed-bin histogram (0.1 ms bins to 2 s, then one overflow bin): records a
 * per-frame figure at 100k frames/s without allocating, so the memory it uses
 * is taken before the baseline and never shows up as "per call".
 */
export class Histogram {
  private readonly bins = new Uint32Array(20_001);
  count = 0;
  maxValue = 0;

  add(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    const i = v >= 2000 ? 20_000 : Math.floor(v * 10);
    this.bins[i]++;
    this.count++;
    if (v > this.maxValue) this.maxValue = v;
  }

  reset(): void {
    this.bins.fill(0);
    this.count = 0;
    this.maxValue = 0;
  }

  /** Upper edge of the bin holding the p-th percentile (nearest rank), ms. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.bins.length; i++) {
      seen += this.bins[i];
      if (seen >= rank) return i === 20_000 ? this.maxValue : round((i + 1) / 10, 1);
    }
    return this.maxValue;
  }
}
