/**
 * The deadline core holds a plugin's asynchronous lifecycle calls to (PluginHost's initialize()
 * and dispose(), the engine's venue client stop() and detector dispose()), so no plugin can hang
 * startup or shutdown. Internal: not re-exported from plugins/index.ts (the two defaults are, through loader.ts).
 */

/** `initialize()` deadline per plugin when none is configured (`[system] plugin_init_timeout_ms`). */
export const DEFAULT_PLUGIN_INIT_TIMEOUT_MS = 60_000;
/**
 * `dispose()` deadline per plugin when none is configured (`[system] plugin_dispose_timeout_ms`);
 * also the engine's default for each venue client's stop() and detector's dispose().
 */
export const DEFAULT_PLUGIN_DISPOSE_TIMEOUT_MS = 5_000;

export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`did not finish within ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * Runs `fn` (sync or async) with a deadline: rejects with DeadlineExceeded after `ms`, aborting
 * `signal` so the plugin can stop what it started. A late result or rejection of `fn` is dropped.
 * The timer is cleared as soon as either side settles: it bounds the wait, and never keeps the
 * process alive after it. `abandon`: the caller gave up (a shutdown signal during startup): the
 * call rejects at once with its reason, and `fn`'s signal is aborted with it, as at the deadline.
 */
export async function withDeadline(fn: (signal: AbortSignal) => unknown, ms: number, abandon?: AbortSignal): Promise<void> {
  abandon?.throwIfAborted();
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbandon: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new DeadlineExceeded(ms);
      abort.abort(err);
      reject(err);
    }, ms);
    if (abandon) {
      onAbandon = () => {
        abort.abort(abandon.reason);
        reject(abandon.reason);
      };
      abandon.addEventListener('abort', onAbandon, { once: true });
    }
  });
  try {
    // A synchronous throw becomes a rejection; race() subscribes to both, so neither is unhandled.
    const work = new Promise<unknown>((resolve) => resolve(fn(abort.signal)));
    await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    if (onAbandon) abandon!.removeEventListener('abort', onAbandon);
  }
}
