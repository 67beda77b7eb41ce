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
