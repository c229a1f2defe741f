/** One Prometheus sample. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** GET http://ADDRESS/metrics and parse the text format (enough of it for histograms and gauges). */
export async function scrapeMetrics(address: string): Promise<MetricSample[]> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(1500) });
  const out: MetricSample[] = [];
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The p-quantile (seconds) of a histogram summed over its labels, interpolated within buckets as Prometheus does; 0 when empty. */
export function histogramQuantile(samples: MetricSample[], name: string, p: number): number {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const count = sorted.length ? sorted[sorted.length - 1][1] : 0;
  if (count === 0) return 0;
  const rank = p * count;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, c] of sorted) {
    if (c >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + (le - prevLe) * ((rank - prevCount) / Math.max(1, c - prevCount));
    }
    prevLe = le;
    prevCount = c;
  }
  return prevLe;
}
