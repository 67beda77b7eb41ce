/**
 * prom-client's `labels(...)` builds a label object and a bound function on every call; on the
 * engine thread that was an allocation per event and several per order. Each series' child is
 * resolved once here, keyed by its label values in nested maps (no key string built per call).
 */
export class MetricChildren<C> {
  private readonly byFirst = new Map<string, Map<string, Map<string, C>>>();

  constructor(private readonly resolve: (...labels: string[]) => C) {}

  /** The child for one to three label values (the metric's labels, in order). */
  get(a: string, b?: string, c?: string): C {
    let m1 = this.byFirst.get(a);
    if (m1 === undefined) this.byFirst.set(a, (m1 = new Map()));
    const kb = b ?? '';
    let m2 = m1.get(kb);
    if (m2 === undefined) m1.set(kb, (m2 = new Map()));
    const kc = c ?? '';
    let child = m2.get(kc);
    if (child === undefined) {
      child = c !== undefined ? this.resolve(a, b!, c) : b !== undefined ? this.resolve(a, b) : this.resolve(a);
      m2.set(kc, child);
    }
    return child;
  }
}

/**
 * Chains `flush` in front of the metric's `collect` hook, which prom-client runs before every
 * read of the metric (scrape, `get()`); a hook already there (another engine's) still runs.
 */
function flushBeforeEachRead(metric: { collect?: () => unknown }, flush: () => void): void {
  const previous = metric.collect;
  metric.collect = function (this: unknown) {
    flush();
    return previous?.call(this);
  };
}

/** A prom-client counter whose `collect` hook runs before every read (scrape, `get()`). */
interface CollectableCounter {
  labels(...values: string[]): { inc(n?: number): void };
  collect?: () => unknown;
}

/** One series' count since the last scrape. */
export interface PendingCount {
  n: number;
}

/**
 * A counter incremented on the engine thread for every event or order: even a cached prom-client
 * child hashes its label object and validates it on each `inc()` (the largest remaining metrics
 * cost in the e2e profile). Here an increment is `cell.n++`; the counts are added to prom-client
 * in the counter's `collect` hook, which prom-client runs before every read of the metric, so a
 * scrape or `get()` sees every increment made before it.
 */
export class DeferredCounter {
  private readonly cells = new MetricChildren<{ pending: PendingCount; child: { inc(n?: number): void } }>((...labels) => {
    const entry = { pending: { n: 0 }, child: this.counter.labels(...labels) };
    this.all.push(entry);
    return entry;
  });
  private readonly all: { pending: PendingCount; child: { inc(n?: number): void } }[] = [];

  constructor(private readonly counter: CollectableCounter) {
    flushBeforeEachRead(counter, () => this.flush());
  }

  /** The series' pending count: `get(...).n++` counts one. */
  get(a: string, b?: string, c?: string): PendingCount {
    return this.cells.get(a, b, c).pending;
  }

  /** Adds the pending counts to prom-client (also run by every read of the metric). */
  flush(): void {
    for (let i = 0; i < this.all.length; i++) {
      const e = this.all[i]!;
      if (e.pending.n > 0) {
        const n = e.pending.n;
        e.pending.n = 0;
        e.child.inc(n);
      }
    }
  }
}

/** A prom-client gauge whose `collect` hook runs before every read (scrape, `get()`). */
interface CollectableGauge {
  labels(...values: string[]): { set(v: number): void };
  collect?: () => unknown;
}

/** One series' latest value, not yet handed to prom-client while `dirty`. */
export interface PendingValue {
  value: number;
  dirty: boolean;
}

/** The pending values of one prom-client gauge, shared by every DeferredGauge on it. */
class GaugeCells {
  readonly cells: MetricChildren<{ pending: PendingValue; child: { set(v: number): void } }>;
  private readonly all: { pending: PendingValue; child: { set(v: number): void } }[] = [];

  constructor(gauge: CollectableGauge) {
    this.cells = new MetricChildren((...labels) => {
      const entry = { pending: { value: 0, dirty: false }, child: gauge.labels(...labels) };
      this.all.push(entry);
      return entry;
    });
    flushBeforeEachRead(gauge, () => this.flush());
  }

  flush(): void {
    for (let i = 0; i < this.all.length; i++) {
      const e = this.all[i]!;
      if (e.pending.dirty) {
        e.pending.dirty = false;
        e.child.set(e.pending.value);
      }
    }
  }
}

const gaugeCells = new WeakMap<CollectableGauge, GaugeCells>();

/**
 * A gauge set on the engine thread for every fill (positions): a prom-client child's `set()`
 * builds and sorts its label keys on each call (~800 bytes of garbage per fill in the order
 * execution benchmark's profile). Here a set is two stores; the latest value of each series is
 * handed to prom-client in the gauge's `collect` hook, which prom-client runs before every read,
 * so a scrape or `get()` sees the last value set before it. Every DeferredGauge on one gauge
 * shares its pending values (an engine restarted on the same registry, two engines on one):
 * the last set wins, as with prom-client's own `set`.
 */
export class DeferredGauge {
  private readonly shared: GaugeCells;

  constructor(gauge: CollectableGauge) {
    let shared = gaugeCells.get(gauge);
    if (shared === undefined) gaugeCells.set(gauge, (shared = new GaugeCells(gauge)));
    this.shared = shared;
  }

  /** Sets the series' value (seen by the next read of the metric). */
  set(value: number, a: string, b?: string, c?: string): void {
    const p = this.shared.cells.get(a, b, c).pending;
    p.value = value;
    p.dirty = true;
  }

  /** Hands the values set since the last flush to prom-client (also run by every read of the metric). */
  flush(): void {
    this.shared.flush();
  }
}
