/**
 * A venue's feed played from a script instead of a socket, as a MarketDataClient an intake
 * worker can run: each venue's `create<Venue>ScriptIntake` factory is this client around its own
 * script player (its feed class, fed the script's frames with no I/O). Tests compare the worker
 * path with the inline path on the same script; the e2e bench paces a venue through it.
 */
import type { Clock } from '../contracts/clock.js';
import type { MarketDataClient, MarketEventSink } from '../contracts/exchange.js';
import type { Instrument } from '../domain/instrument.js';

/** A step every venue's script has: a text frame, a binary frame of n bytes, or the connection dropping and coming back. */
export type IntakeScriptStep = { frame: string } | { binary: number } | { reconnect: string };

/** What a venue's feed class offers a script player. */
export interface ScriptedFeed {
  onFrame(text: string): void;
  onBinaryFrame(bytes: number): void;
}

/** The venue-specific part of playing a script. */
export interface ScriptConnection<X> {
  /** The connection opens (first with 'initial', then after every reconnect): every book begins its sync. */
  open(why: string): void;
  /** The connection drops: the venue's per-connection state is reset and every book suspended. */
  drop(): void;
  /** A step of the venue's own (e.g. a REST snapshot body). */
  other?(step: X): void;
}

/**
 * Plays `steps` into `feed` the way the venue's socket would deliver them. A reconnect step drops
 * the connection (`drop`), reports the venue disconnected, and opens it again (`open`), as the
 * venue's market-data client does on a real reconnect.
 */
export function playScriptSteps<X extends object>(o: { exchange: string; steps: readonly (IntakeScriptStep | X)[]; feed: ScriptedFeed; sink: MarketEventSink; clock: Clock; connection: ScriptConnection<X> }): void {
  const c = o.connection;
  c.open('initial');
  for (const step of o.steps) {
    if ('frame' in step) o.feed.onFrame(step.frame);
    else if ('binary' in step) o.feed.onBinaryFrame(step.binary);
    else if ('reconnect' in step) {
      c.drop();
      o.sink.onFeedStatus({ type: 'feed_status', exchange: o.exchange, symbol: '', state: 'disconnected', reason: `disconnected: ${step.reconnect}; reconnecting`, ts: o.clock.now() });
      c.open(`reconnect after ${step.reconnect}`);
    } else c.other?.(step as X);
  }
}

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
