/**
 * Virtual timers for a fuzz worker. The venue adapter under test arms real timers (snapshot
 * retries, heartbeats, rate-limit waits, reconnect backoff); fuzzing at a million frames cannot
 * wait for them in wall time, so the worker replaces the global timer functions with a
 * queue that runs when the harness advances virtual time. Installed only inside fuzz workers.
 */
export class VirtualTime {
  constructor(start = 1_767_225_600_000) {
    this.now = start;
    this.queue = [];
    this.nextId = 1;
  }

  install() {
    const self = this;
    const make = (fn, ms, args, repeat) => {
      const t = {
        id: self.nextId++,
        at: self.now + Math.max(repeat ? 1 : 0, Number(ms) || 0),
        every: repeat ? Math.max(1, Number(ms) || 0) : 0,
        fn: () => fn(...args),
        cancelled: false,
        unref() {
          return this;
        },
        ref() {
          return this;
        },
        hasRef() {
          return false;
        },
        refresh() {
          this.at = self.now + (this.every || Math.max(0, Number(ms) || 0));
          if (!self.queue.includes(this)) self.queue.push(this);
          return this;
        },
        [Symbol.toPrimitive]() {
          return this.id;
        },
      };
      self.queue.push(t);
      return t;
    };
    const cancel = (t) => {
      if (t && typeof t === 'object') {
        t.cancelled = true;
        const i = self.queue.indexOf(t);
        if (i >= 0) self.queue.splice(i, 1);
      }
    };
    globalThis.setTimeout = (fn, ms, ...args) => make(fn, ms, args, false);
    globalThis.setInterval = (fn, ms, ...args) => make(fn, ms, args, true);
    globalThis.clearTimeout = cancel;
    globalThis.clearInterval = cancel;
    return this;
  }

  /** Runs every timer due within `ms` of virtual time, in order; returns how many ran. */
  advance(ms, maxRuns = 10_000) {
    const end = this.now + ms;
    let runs = 0;
    for (;;) {
      let best;
      for (const t of this.queue) if (t.at <= end && (best === undefined || t.at < best.at || (t.at === best.at && t.id < best.id))) best = t;
      if (best === undefined) break;
      if (++runs > maxRuns) throw new Error(`timer storm: more than ${maxRuns} timers ran within ${ms} ms of virtual time`);
      this.now = Math.max(this.now, best.at);
      if (best.every > 0) best.at = this.now + best.every;
      else this.queue.splice(this.queue.indexOf(best), 1);
      best.fn();
    }
    this.now = end;
    return runs;
  }

  get pending() {
    return this.queue.length;
  }
}
