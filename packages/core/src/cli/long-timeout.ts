/**
 * Node clamps a timer delay above 2^31-1 ms (24.8 days) to 1 ms: `setTimeout(fn, 30 days)`
 * fires at once. A longer delay is waited for in steps of at most this much.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export interface LongTimeout {
  clear(): void;
}

/**
 * `setTimeout(fn, ms)` for any `ms` (`run --duration`, `risk-aggregator --duration`). `unref`:
 * the wait alone does not keep the process alive.
 */
export function setLongTimeout(fn: () => void, ms: number, opts: { unref?: boolean } = {}): LongTimeout {
  let timer: NodeJS.Timeout | undefined;
  const arm = (left: number): void => {
    const step = Math.min(left, MAX_TIMER_DELAY_MS);
    timer = setTimeout(() => (left > step ? arm(left - step) : fn()), step);
    if (opts.unref) timer.unref();
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}
