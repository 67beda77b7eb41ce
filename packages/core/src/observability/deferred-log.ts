import type { Logger } from './logger.js';

/** Writes one log line from the arguments captured at push time; runs when the queue drains. */
export type DeferredLine<A, B, C> = (logger: Logger, a: A, b: B, c: C) => void;

/**
 * Log lines for signals and fills, formatted off the engine's critical section. push() stores a
 * formatter and up to three arguments in preallocated slots (no string building, no pino
 * serialization); the queue drains once the current batch of I/O callbacks is done
 * (setImmediate), in push order. The arguments must not change afterwards: signals and
 * execution reports are immutable once emitted, and numbers are captured by value.
 *
 * Bounded: when `capacity` lines are pending the queue drains synchronously before accepting
 * more, so a flood costs latency, never lines or memory. Chosen over pino's asynchronous
 * destination by measurement (docs/monitoring.md, "Logging off the hot path"): that one moves only
 * the write(2) off the thread; the message formatting and JSON serialization stay in the call.
 */
export class DeferredLog {
  private readonly fmt: (DeferredLine<any, any, any> | undefined)[];
  private readonly a: unknown[];
  private readonly b: unknown[];
  private readonly c: unknown[];
  private head = 0;
  private count = 0;
  private scheduled = false;
  private readonly drainNow = (): void => {
    this.scheduled = false;
    this.drain();
  };
  /** Lines written so far, and the times a full queue was drained inline. */
  written = 0;
  inlineDrains = 0;

  constructor(
    private readonly logger: Logger,
    readonly capacity = 4096,
    private readonly schedule: (f: () => void) => void = (f) => void setImmediate(f),
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.fmt = new Array(capacity).fill(undefined);
    this.a = new Array(capacity).fill(undefined);
    this.b = new Array(capacity).fill(undefined);
    this.c = new Array(capacity).fill(undefined);
  }

  /** Whether a line at this level would be written at all (skip the push when not). */
  enabled(level: 'debug' | 'info' | 'warn' | 'error'): boolean {
    return this.logger.isLevelEnabled(level);
  }

  get pending(): number {
    return this.count;
  }

  push<A, B, C>(line: DeferredLine<A, B, C>, a: A, b: B, c: C): void {
    if (this.count === this.capacity) {
      this.inlineDrains++;
      this.drain();
    }
    const i = (this.head + this.count) % this.capacity;
    this.fmt[i] = line;
    this.a[i] = a;
    this.b[i] = b;
    this.c[i] = c;
    this.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.drainNow);
    }
  }

  /** Writes every pending line now, in order (also at shutdown). A formatter that throws loses only its line. */
  drain(): void {
    while (this.count > 0) {
      const i = this.head;
      const line = this.fmt[i]!;
      const a = this.a[i];
      const b = this.b[i];
      const c = this.c[i];
      this.fmt[i] = this.a[i] = this.b[i] = this.c[i] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      try {
        line(this.logger, a, b, c);
        this.written++;
      } catch (err) {
        this.logger.error({ err: (err as Error)?.stack ?? String(err) }, 'a deferred log line failed to format');
      }
    }
  }
}
