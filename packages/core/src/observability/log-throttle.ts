/**
 * Rate limit for a repeated warning: the first of a kind is logged at once, later ones at most
 * once per `everyMs` with the number held back meanwhile, so a venue or a plugin spraying bad
 * input cannot flood the log. The caller counts every occurrence in its own metric or stats.
 */
export class LogThrottle {
  private readonly windows = new Map<string, { next: number; held: number }>();

  constructor(
    private readonly now: () => number,
    private readonly everyMs = 10_000,
  ) {}

  /**
   * Whether to log this occurrence of `kind` now. Undefined: held back (counted). Otherwise the
   * suffix to add to the line: "" or " (and N more like it not logged)".
   */
  take(kind: string): string | undefined {
    const now = this.now();
    const w = this.windows.get(kind);
    if (w && now < w.next) {
      w.held++;
      return undefined;
    }
    this.windows.set(kind, { next: now + this.everyMs, held: 0 });
    return w?.held ? ` (and ${w.held} more like it not logged)` : '';
  }
}
