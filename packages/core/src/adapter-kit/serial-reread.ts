/**
 * One asynchronous read at a time, and one more after it when asked meanwhile. A read in flight
 * may have started before the event that asked for the next one, so it cannot stand in for it;
 * but a burst of requests costs one read after the one in flight, not one each. Adapters keep
 * one per followed order (an order's trades and state read over REST after a push or a gap).
 *
 * `read` returns false to drop what was asked meanwhile (a failed read: the adapter's poll timer
 * asks again). It should not throw; if it does, the drain stops as if it had returned false.
 * `merge` folds a request into the one queued (default: the latest wins).
 */
export class SerialReread<T> {
  private busy = false;
  private queued: T | undefined;

  constructor(
    private readonly read: (want: T) => Promise<boolean>,
    private readonly merge: (queued: T | undefined, want: T) => T = (_queued, want) => want,
  ) {}

  /** A read is in flight. */
  get inFlight(): boolean {
    return this.busy;
  }

  request(want: T): void {
    if (this.busy) {
      this.queued = this.merge(this.queued, want);
      return;
    }
    this.busy = true;
    void this.drain(want);
  }

  private async drain(first: T): Promise<void> {
    try {
      for (let want: T | undefined = first; want !== undefined; want = this.queued) {
        this.queued = undefined;
        if (!(await this.read(want))) break;
      }
    } catch {
      // documented: a throwing read stops the drain; the caller's own catch logs
    } finally {
      this.busy = false;
      this.queued = undefined;
    }
  }
}
