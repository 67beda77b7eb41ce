/**
 * Just enough of the Prometheus text exposition format for the load test: samples with labels,
 * sums over label sets, and a histogram quantile computed the way PromQL's histogram_quantile
 * does (linear interpolation inside the bucket that holds the rank).
 */

export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of a scrape; comment lines and lines that do not parse are skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include every pair of `where`. */
export function sumOf(samples: readonly Sample[], name: string, where: Readonly<Record<string, string>> = {}): number {
  let s = 0;
  for (const x of samples) if (x.name === name && matches(x.labels, where)) s += x.value;
  return s;
}

/** The value of the first sample named `name`, undefined when there is none. */
export function valueOf(samples: readonly Sample[], name: string): number | undefined {
  return samples.find((x) => x.name === name)?.value;
}

function matches(labels: Readonly<Record<string, string>>, where: Readonly<Record<string, string>>): boolean {
  for (const k in where) if (labels[k] !== where[k]) return false;
  return true;
}

/** A cumulative bucket: the count of observations <= le. */
export interface Bucket {
  le: number;
  count: number;
}

/** The cumulative buckets of histogram `name` (summed over its other labels), sorted by le. */
export function bucketsOf(samples: readonly Sample[], name: string): Bucket[] {
  const by = new Map<number, number>();
  for (const x of samples) {
    if (x.name !== `${name}_bucket` || x.labels.le === undefined) continue;
    const le = x.labels.le === '+Inf' ? Infinity : Number(x.labels.le);
    by.set(le, (by.get(le) ?? 0) + x.value);
  }
  return [...by.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** end - start per bucket (the observations made between two scrapes). */
export function bucketDelta(start: readonly Bucket[], end: readonly Bucket[]): Bucket[] {
  const before = new Map(start.map((b) => [b.le, b.count]));
  return end.map((b) => ({ le: b.le, count: b.count - (before.get(b.le) ?? 0) }));
}

/**
 * The q-quantile (0..1) of cumulative buckets, as PromQL's histogram_quantile: linear inside the
 * bucket holding the rank, the lower bound of the first bucket taken as 0; a rank in the +Inf
 * bucket returns the highest finite bound. Undefined when there are no observations.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | undefined {
  if (buckets.length === 0) return undefined;
  const total = buckets[buckets.length - 1]!.count;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + (b.le - prevLe) * ((rank - prevCount) / inBucket);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
