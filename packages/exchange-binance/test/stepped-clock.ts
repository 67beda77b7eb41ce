import type { Clock } from '@cwts/core';

/** Wall time plus an offset the test moves: waits are crossed by the test, not by waiting. */
export class SteppedClock implements Clock {
  ahead = 0;
  now(): number {
    return Date.now() + this.ahead;
  }
  monoNs(): bigint {
    return process.hrtime.bigint();
  }
}
