/**
 * The Advanced Trade `user` channel on its own connection, feeding the execution client's push
 * path (OrderUpdateStream of the adapter kit). Subscribes `heartbeats` (keeps the connection
 * open and proves it alive) and `user` for our products, each message with a fresh ES256 JWT
 * (the docs: one JWT per message, no `uri` claim for the WebSocket), right on open (Coinbase
 * drops a connection without a subscribe after 5 s).
 *
 * A subscribe the venue refused (a bad key, a clock too far off for the JWT) or lost shows as no
 * `user` snapshot within `stale_after_ms` of the open: the connection is dropped and made again
 * (the subscribe retried), each time counted.
 *
 * What the stream may miss is read back by one poll: after every (re)subscribe (when its
 * snapshot arrives: anything later comes in push), after a sequence gap, and after rejected
 * input. While the connection is down the execution client's polling goes on at its interval.
 */
import type { Clock, Instrument, Logger, MarketEventSink } from '@cwts/core';
import { TimerSet, WsConnection, type OrderUpdateSink, type OrderUpdateStream } from '@cwts/core/adapter-kit';
import type { CoinbaseOptions } from './options.js';
import { CoinbaseUserFeed } from './user-feed.js';

export interface CoinbaseUserStreamDeps {
  exchange: string;
  url: string;
  options: CoinbaseOptions;
  clock: Clock;
  logger?: Logger;
  random?: () => number;
  /** A fresh WebSocket JWT (no `uri`) per message. */
  jwt: () => string;
  /** Our products (the subscribe's product_ids). */
  symbols: () => string[];
  instrument(symbol: string): Instrument | undefined;
  /**
   * Where rejected input and the stream's errors are counted: the engine's sink as the venue's
   * market-data client holds it, when that client runs on the engine thread. Undefined (market
   * data on an intake worker, the default, or not started): they go to `logger` instead.
   */
  feedSink: () => MarketEventSink | undefined;
}

/**
 * The stream's problems when the engine's sink is out of reach: rejections (still counted in
 * the stream's `stats.rejected`) and errors become warn lines on the venue's logger, as Binance's
 * user data stream and Kraken's executions stream report theirs. The FeedErrorReporter sees a
 * sink with onFeedReject, so it keeps rate-limiting the lines per (symbol, reason).
 */
function loggingSink(exchange: string, logger: Logger): MarketEventSink {
  return {
    onMarketEvent: () => {},
    onFeedStatus: () => {},
    onFeedReject: () => {},
    onFeedError: (component, message) => logger.warn({ exchange, component }, message),
  };
}

export class CoinbaseUserStream implements OrderUpdateStream {
  private readonly timers = new TimerSet();
  private conn: WsConnection | undefined;
  private feedInstance: CoinbaseUserFeed | undefined;
  private sink: OrderUpdateSink | undefined;
  private stopped = true;
  /** Armed on open, cleared by the connection's first `user` snapshot. */
  private snapshotWatchdog: NodeJS.Timeout | undefined;
  /** Subscribe messages sent (tests). */
  subscribes = 0;
  /** Reconnects because no snapshot followed a subscribe (tests, diagnostics). */
  watchdogReconnects = 0;

  private readonly logSink: MarketEventSink | undefined;

  constructor(private readonly deps: CoinbaseUserStreamDeps) {
    this.logSink = deps.logger ? loggingSink(deps.exchange, deps.logger) : undefined;
  }

  /**
   * Where this stream reports: the engine's sink while market data runs on the engine thread,
   * else the logger. Under worker intake the engine's sink lives with the intake worker and the
   * engine-thread market-data client never starts, so without the fallback a refused subscribe
   * or hostile input on the user channel reached no counter and no log line.
   */
  private reportSink(): MarketEventSink | undefined {
    return this.stopped ? undefined : (this.deps.feedSink() ?? this.logSink);
  }

  /** The current session's parser counters (zeros before start). */
  get stats(): CoinbaseUserFeed['stats'] & { rejected: number; opens: number } {
    const f = this.feedInstance?.stats ?? { frames: 0, orders: 0, snapshots: 0, heartbeats: 0, gaps: 0, errors: 0 };
    return { ...f, rejected: this.feedInstance?.rejected ?? 0, opens: this.conn?.opens ?? 0 };
  }

  /** The private WebSocket this stream connects to. */
  get url(): string {
    return this.deps.url;
  }

  get connected(): boolean {
    return this.conn?.isOpen ?? false;
  }

  start(sink: OrderUpdateSink): void {
    this.sink = sink;
    this.stopped = false;
    this.timers.reopen();
    const o = this.deps.options;
    this.feedInstance = new CoinbaseUserFeed({
      exchange: this.deps.exchange,
      instrument: (s) => this.deps.instrument(s),
      onOrder: (v) => {
        if (!this.stopped) this.sink?.order(v);
      },
      onMissed: (why) => {
        if (!this.stopped) this.sink?.reconcile(why);
      },
      onSnapshot: () => {
        this.disarmWatchdog();
        if (!this.stopped) this.sink?.reconcile('user channel (re)subscribed');
      },
      sink: () => this.reportSink(),
      now: () => this.deps.clock.now(),
    });
    this.conn = new WsConnection({
      name: `${this.deps.exchange} user channel`,
      url: () => this.deps.url,
      onOpen: (c, info) => this.onOpen(c, info),
      onMessage: (text) => {
        if (!this.stopped) this.feedInstance?.onFrame(text);
      },
      onBinary: (bytes) => {
        if (!this.stopped) this.feedInstance?.onBinaryFrame(bytes);
      },
      onDown: (reason) => {
        this.disarmWatchdog();
        if (!this.stopped) this.deps.logger?.warn({ exchange: this.deps.exchange }, `${this.deps.exchange}: user channel down (${reason}); order polling continues every ${o.poll_interval_ms} ms, reconciling on reconnect`);
      },
      onError: (msg) => {
        this.reportSink()?.onFeedError(`${this.deps.exchange}:user-stream`, `${this.deps.exchange}: ${msg}`);
      },
      pingIntervalMs: o.ping_interval_ms,
      pongTimeoutMs: o.pong_timeout_ms,
      staleAfterMs: o.stale_after_ms,
      backoff: { initialMs: o.reconnect_initial_ms, maxMs: o.reconnect_max_ms, random: this.deps.random },
      timers: this.timers,
      now: () => this.deps.clock.now(),
    });
    // not awaited: execution starts whether or not the stream is up (it retries with backoff)
    this.conn.start().catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.disarmWatchdog();
    await this.conn?.close();
    this.conn = undefined;
    this.timers.close();
    this.sink = undefined;
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  private subscribe(c: WsConnection, channel: string, productIds: string[]): void {
    const msg: Record<string, unknown> = { type: 'subscribe', channel };
    if (productIds.length > 0) msg.product_ids = productIds;
    msg.jwt = this.deps.jwt();
    this.subscribes++;
    c.send(JSON.stringify(msg));
  }

  private disarmWatchdog(): void {
    if (this.snapshotWatchdog !== undefined) this.timers.clear(this.snapshotWatchdog);
    this.snapshotWatchdog = undefined;
  }

  private onOpen(c: WsConnection, info: { reconnect: boolean; reason: string }): void {
    this.feedInstance?.connectionOpened();
    this.subscribe(c, 'heartbeats', []);
    this.subscribe(c, 'user', this.deps.symbols());
    this.disarmWatchdog();
    const ms = this.deps.options.stale_after_ms;
    this.snapshotWatchdog = this.timers.timeout(() => {
      this.snapshotWatchdog = undefined;
      if (this.stopped || this.conn !== c) return;
      const why = `no user channel snapshot within ${ms} ms of subscribing (subscribe refused or lost)`;
      this.reportSink()?.onFeedError(`${this.deps.exchange}:user-stream`, `${this.deps.exchange}: ${why}; reconnecting`);
      this.watchdogReconnects++;
      // the venue would answer a new connection the same way at once (a key it refuses): the
      // backoff spaces the tries out, and starts over once a connection stays up
      c.reconnectWithBackoff(why);
    }, ms);
    if (info.reconnect) this.deps.logger?.info({ exchange: this.deps.exchange }, `${this.deps.exchange}: user channel reconnected (${info.reason}); reconciling orders when its snapshot arrives`);
  }
}
