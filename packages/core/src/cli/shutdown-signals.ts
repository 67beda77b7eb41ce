/**
 * The signals that stop a long-running command (run, risk-aggregator) through its orderly path,
 * and how they are listened for.
 */

/**
 * Signals that stop the deployment through the orderly path. SIGHUP is one of them: a closed
 * terminal or a supervisor's hangup must not kill the process without flushing the journal
 * (there is no config reload on SIGHUP; see docs/architecture.md).
 */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Calls `onSignal` for every SHUTDOWN_SIGNALS signal until the returned function is called. The
 * listeners stay for the whole run, on purpose: with `once`, a second signal (Ctrl-C pressed
 * again, a closed terminal's second SIGHUP, a repeated `kill`) would find no listener and take
 * Node's default action, killing the process in the middle of its orderly stop, with orders
 * working and the journal's last batch unwritten. So `onSignal` sees the repeats too: the first
 * starts the stop, a later one says the stop is under way. No number of signals forces an exit:
 * the stop is bounded (the engine waits at most 5 s for cancel confirmations), and SIGKILL
 * remains for whoever cannot wait (the journal is crash-safe; docs/operations.md).
 *
 * @param source `process`; tests pass their own emitter
 * @returns removes the listeners
 */
export function listenForShutdown(onSignal: (signal: NodeJS.Signals) => void, source: Pick<NodeJS.EventEmitter, 'on' | 'off'> = process): () => void {
  for (const sig of SHUTDOWN_SIGNALS) source.on(sig, onSignal);
  return () => {
    for (const sig of SHUTDOWN_SIGNALS) source.off(sig, onSignal);
  };
}

/**
 * The shutdown signals that arrived before a command could listen: the bin (bin/cwts-ultra.js)
 * listens from its first line, since importing the CLI takes a moment (up to a second on a cold
 * disk) and a signal then would take Node's default action, the process ending as killed by it
 * with no word (a systemd `stop` right after `start` looking like a crash).
 */
export interface EarlySignals {
  /** Removes the bin's listeners (idempotent); the first signal they recorded, if any. */
  release(): NodeJS.Signals | undefined;
}
