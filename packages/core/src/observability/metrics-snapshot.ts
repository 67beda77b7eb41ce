import type { MetricsRegistry } from './metrics.js';

/**
 * The `/metrics` text, rendered at most once per `minIntervalMs` however many scrapers ask.
 * Rendering walks every series (and runs the computed gauges' collect functions) on the engine
 * thread; with the text cached, a scrape costs the engine only the HTTP exchange. Concurrent
 * scrapes of a stale snapshot share one render. Prometheus scrapes every 5-15 s, so values up
 * to 250 ms old cost it nothing.
 */
export class MetricsSnapshot {
  private cached: { at: number; text: string } | undefined;
  private rendering: Promise<string> | undefined;
  /** Renders so far (tests, and the scrape benchmark's sanity check). */
  renders = 0;

  constructor(
    private readonly metrics: MetricsRegistry,
    readonly minIntervalMs = 250,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(minIntervalMs >= 0)) throw new RangeError(`minIntervalMs must be >= 0, got ${minIntervalMs}`);
  }

  get contentType(): string {
    return this.metrics.registry.contentType;
  }

  text(): Promise<string> {
    const t = this.now();
    if (this.cached && t - this.cached.at < this.minIntervalMs) return Promise.resolve(this.cached.text);
    this.rendering ??= this.metrics.text().then(
      (text) => {
        this.renders++;
        this.cached = { at: t, text };
        this.rendering = undefined;
        return text;
      },
      (err: unknown) => {
        this.rendering = undefined;
        throw err;
      },
    );
    return this.rendering;
  }
}
