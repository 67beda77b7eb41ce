/**
 * How the intake worker waits when its ring is full: the engine thread is behind, so the worker
 * waits for it (back-pressure reaches the socket), beating meanwhile so a worker that waits is
 * not taken for a hung one, and gives up on stop or a closed ring. It polls every millisecond
 * until a quarter of the ring is free rather than sleeping on the ring's read counter: a sleeping
 * producer makes the engine thread publish its read counter and notify on every release, a futex
 * wake per event exactly when the engine is the bottleneck.
 */
import type { SpscRing } from '../microstructure/ring-buffer.js';
import type { RingSpaceWait } from './records.js';

export interface SpaceWaitDeps {
  /** True once the host asked the worker to stop. */
  stopping(): boolean;
  /** Bumps the heartbeat the host watches. */
  beat(): void;
  heartbeatMs: number;
  /** Milliseconds, monotonic (performance.now in the worker). */
  now(): number;
  /** Blocks about `ms` (Atomics.wait in the worker). */
  sleep(ms: number): void;
}

const POLL_MS = 1;

export function ringSpaceWait(d: SpaceWaitDeps): RingSpaceWait {
  // Beats by elapsed time, not by the count of waits: on a starved CPU a 1 ms wait can take far
  // longer, and counting waits left the heartbeat silent past hungAfterMs (the worker was taken
  // down as hung while it only waited for the engine). The time of the last beat outlives one
  // wait: a burst of frames handled synchronously (one socket read) can wait many times, each
  // shorter than heartbeatMs, while the worker's interval timer cannot run.
  let lastBeat = d.now();
  return (r: SpscRing) => {
    const want = Math.max(1, r.capacity >> 2);
    for (;;) {
      if (d.stopping() || r.closed) return false;
      if (r.writable() >= want) return true;
      d.sleep(POLL_MS);
      const now = d.now();
      if (now - lastBeat >= d.heartbeatMs) {
        lastBeat = now;
        d.beat();
      }
    }
  };
}
