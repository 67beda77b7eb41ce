import type { Metric, Registry } from 'prom-client';

/** One sample of a histogram's exposition, as prom-client's `Histogram.get()` gives it. */
export interface HistogramSample {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
  /** prom-client's field: null on buckets, undefined on sum and count (no exemplars here). */
  exemplar: null | undefined;
}

export interface HistogramSnapshot {
  name: string;
  help: string;
  type: 'histogram';
  aggregator: 'sum';
  values: HistogramSample[];
}

/** A sample as prom-client's Registry renders it: the bucket's labels and the series' apart. */
export interface PromStringSample {
  value: number;
  labels: Readonly<Record<string, string | number>>;
  sharedLabels: Readonly<Record<string, string>>;
  metricName: string;
  exemplar: null | undefined;
}

export interface PromStringSnapshot extends Omit<HistogramSnapshot, 'values'> {
  values: PromStringSample[];
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

export interface BucketHistogramConfig {
  name: string;
  help: string;
  labelNames?: readonly string[];
  /** Upper bounds, ascending (the +Inf bucket is implicit). */
  buckets: readonly number[];
  registers?: readonly Registry[];
}

/** One labelled series: counts per bucket (not cumulative), sum and count. */
export class HistogramSeries {
  /** Observations per bucket; one past the last bound counts only in `count` (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  /** Whether the series is exposed: after its first observation, until a reset. */
  live = false;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
    /** Called when the series becomes live (the histogram exposes series in that order). */
    private readonly becameLive: (s: HistogramSeries) => void,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  /** Exposes the series (with whatever it has counted) from now on. */
  expose(): void {
    if (this.live) return;
    this.live = true;
    this.becameLive(this);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
    if (!this.live) this.expose();
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
    this.live = false;
  }
}

/**
 * A Prometheus histogram for the engine thread. prom-client's `Histogram` costs ~300 ns an
 * observation even through a cached child (a label object, a hash string, a bucket looked up by
 * its bound as a property name); here an observation is a scan of the bounds and three adds
 * (docs/performance.md, "Histograms on the order path"). It registers in a prom-client Registry
 * like prom-client's own metrics and gives the same exposition, sample for sample (a parity
 * test holds it to prom-client's output): series appear after their first observation, a
 * histogram without labels has its one series from the start, `reset()` removes every series.
 */
export class BucketHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly labelNames: readonly string[];
  private readonly bounds: readonly number[];
  /** Series by their label values joined with NUL (labels() is off the hot path: callers keep the series). */
  private readonly series = new Map<string, HistogramSeries>();
  /** Exposed series, in the order they were first observed since the last reset (prom-client's order). */
  private live: HistogramSeries[] = [];
  private readonly unlabelled: HistogramSeries | undefined;
  private readonly addLive = (s: HistogramSeries): void => void this.live.push(s);
  /** `{ le }` of each bucket, +Inf last: the same objects on every scrape (never written). */
  private readonly leLabels: readonly Readonly<Record<string, string | number>>[];

  constructor(config: BucketHistogramConfig) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames ?? [];
    if (this.labelNames.includes('le')) throw new Error('le is a reserved label keyword');
    const bounds = [...config.buckets];
    for (let i = 0; i < bounds.length; i++) {
      if (!Number.isFinite(bounds[i]!) || (i > 0 && !(bounds[i]! > bounds[i - 1]!))) throw new RangeError(`histogram ${config.name}: buckets must be finite and ascending, got ${config.buckets.join(', ')}`);
    }
    this.bounds = bounds;
    this.leLabels = [...bounds.map((b) => Object.freeze({ le: b })), Object.freeze({ le: '+Inf' })];
    if (this.labelNames.length === 0) {
      this.unlabelled = new HistogramSeries(bounds, {}, this.addLive);
      this.series.set('', this.unlabelled);
      // prom-client exposes a histogram without labels from the start (count 0)
      this.unlabelled.expose();
    }
    for (const r of config.registers ?? []) r.registerMetric(this as unknown as Metric);
  }

  /** The series of these label values (in `labelNames` order), made on first use. */
  labels(...values: string[]): HistogramSeries {
    if (values.length !== this.labelNames.length) throw new Error(`histogram ${this.name}: ${this.labelNames.length} label values expected, got ${values.length}`);
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (s === undefined) {
      const labels: Record<string, string> = {};
      for (let i = 0; i < values.length; i++) labels[this.labelNames[i]!] = values[i]!;
      this.series.set(key, (s = new HistogramSeries(this.bounds, labels, this.addLive)));
    }
    return s;
  }

  /** Observes on the histogram without labels. */
  observe(value: number): void {
    if (this.unlabelled === undefined) throw new Error(`histogram ${this.name} has labels: use labels(...).observe()`);
    this.unlabelled.observe(value);
  }

  reset(): void {
    for (const s of this.series.values()) s.reset();
    this.live = [];
  }

  /**
   * What prom-client's Registry renders (it asks for this before `get()`): a bucket's `le` apart
   * from the series' labels, which are one object per series, so the Registry formats them once
   * (it caches by object) instead of once per sample. Samples in prom-client's order: buckets
   * (cumulative), +Inf, sum, count per series.
   */
  async getForPromString(): Promise<PromStringSnapshot> {
    const values: PromStringSample[] = [];
    const bucketName = `${this.name}_bucket`;
    const sumName = `${this.name}_sum`;
    const countName = `${this.name}_count`;
    const le = this.leLabels;
    for (const s of this.live) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ value: acc, labels: le[i]!, sharedLabels: s.labels, metricName: bucketName, exemplar: null });
      }
      values.push({ value: s.count, labels: le[this.bounds.length]!, sharedLabels: s.labels, metricName: bucketName, exemplar: null });
      values.push({ value: s.sum, labels: NO_LABELS, sharedLabels: s.labels, metricName: sumName, exemplar: undefined });
      values.push({ value: s.count, labels: NO_LABELS, sharedLabels: s.labels, metricName: countName, exemplar: undefined });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The samples with each one's labels in one object (`le` first), as prom-client's `get()` gives them. */
  async get(): Promise<HistogramSnapshot> {
    const d = await this.getForPromString();
    const values: HistogramSample[] = d.values.map((v) => ({ value: v.value, labels: { ...v.labels, ...v.sharedLabels }, metricName: v.metricName, exemplar: v.exemplar }));
    return { name: d.name, help: d.help, type: d.type, aggregator: d.aggregator, values };
  }
}
