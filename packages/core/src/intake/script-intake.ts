/**
 * A venue's feed played from a script instead of a socket, as a MarketDataClient an intake
 * worker can run: each venue's `create<Venue>ScriptIntake` factory is this client around its own
 * script player (its feed class, fed the script's frames with no I/O). Tests compare the worker
 * path with the inline path on the same script; the e2e bench paces a venue through it.
 */
import type { MarketDataClient, MarketEventSink } from '../contracts/exchange.js';
import type { Instrument } from '../domain/instrument.js';

/** What every venue's script has besides its steps. */
export interface IntakeScriptBase {
  exchange: string;
  instruments: Instrument[];
  /** The feed's clock (receive times): fixed, so two runs compare exactly. */
  nowMs: number;
  /**
   * After the last step: end the stream (default), or fail as a broken worker does, once what
   * the script produced has been written: 'crash' throws on the worker thread, 'hang' blocks it
   * (no heartbeat) after a feed error saying so. For tests of a dead or hung intake worker.
   */
  after?: 'end' | 'crash' | 'hang';
}

/** The component of the feed error a script writes before it hangs (tests wait for it). */
export const SCRIPT_HANG_COMPONENT = 'script:hang';

/** A client that, once started, plays `script` into its sink through `play`, then does what `script.after` says. */
export function scriptIntakeClient(script: IntakeScriptBase, play: (sink: MarketEventSink) => void): MarketDataClient {
  let timer: NodeJS.Timeout | undefined;
  return {
    exchange: script.exchange,
    loadInstruments: async () => script.instruments,
    async start(_symbols, sink) {
      timer = setTimeout(() => {
        play(sink);
        if (script.after === 'crash') {
          setTimeout(() => {
            throw new Error(`${script.exchange} script intake: crashing as the script asks`);
          }, 0);
        } else if (script.after === 'hang') {
          sink.onFeedError(SCRIPT_HANG_COMPONENT, `${script.exchange} script intake: hanging as the script asks`);
          // The same callback: no heartbeat runs after the line above was written.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        } else sink.onEndOfStream?.(script.exchange);
      }, 0);
    },
    async stop() {
      clearTimeout(timer);
    },
  };
}
