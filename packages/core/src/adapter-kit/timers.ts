/**
 * Every timer an adapter starts goes through a TimerSet so `close()` can clear them all and
 * the conformance suite can check that a stopped adapter leaves nothing behind.
 */
export class TimerSet {
  private readonly timeouts = new Set<NodeJS.Timeout>();
  private readonly intervals = new Set<NodeJS.Timeout>();
  private closed = false;

  /** Like setTimeout; returns undefined (and schedules nothing) once the set is closed. */
  timeout(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.closed) return undefined;
    const t = setTimeout(() => {
      this.timeouts.delete(t);
      fn();
    }, Math.max(0, ms));
    this.timeouts.add(t);
    return t;
  }

  interval(fn: () => void, ms: number): NodeJS.Timeout | undefined {
    if (this.closed) return undefined;
    const t = setInterval(fn, Math.max(1, ms));
    this.intervals.add(t);
    return t;
  }

  clear(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    if (this.timeouts.delete(t)) clearTimeout(t);
    else if (this.intervals.delete(t)) clearInterval(t);
  }

  /** A promise that resolves after ms (or at once when the set closes first). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      // an ended sleep leaves the set: adapters sleep on every rate-limited request for months
      const wake = (): void => {
        this.sleepers.delete(wake);
        resolve();
      };
      if (this.timeout(wake, ms) === undefined) resolve();
      else this.sleepers.add(wake);
    });
  }
  private readonly sleepers = new Set<() => void>();

  /** Live timers, for leak checks. */
  get size(): number {
    return this.timeouts.size + this.intervals.size;
  }

  /** Clears every timer; later calls schedule nothing. Pending sleeps resolve. */
  close(): void {
    this.closed = true;
    for (const t of this.timeouts) clearTimeout(t);
    for (const t of this.intervals) clearInterval(t);
    this.timeouts.clear();
    this.intervals.clear();
    const sleepers = [...this.sleepers];
    this.sleepers.clear();
    for (const r of sleepers) r();
  }

  /** Allows scheduling again after close (an adapter restarted after stop). */
  reopen(): void {
    this.closed = false;
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
