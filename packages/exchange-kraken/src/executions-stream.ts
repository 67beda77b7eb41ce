/**
 * Kraken's private WebSocket v2 `executions` channel, feeding order updates and fills into the
 * polled execution client as they happen (the adapter kit's OrderUpdateStream: each event names
 * its trade, so it goes to `sink.execution`, applied directly where it adds up) (docs.kraken.com: "Spot WebSocket v2 - Executions",
 * "WebSocket authentication", "Get Websockets Token").
 *
 * - Auth: a token from the private REST endpoint GetWebSocketsToken (the driver signs it). A
 *   token is good for 15 minutes until a subscription uses it, then for as long as that
 *   subscription lives; each new connection fetches a fresh one unless the last is young. When
 *   the venue refuses the subscription (an expired or unknown token), the token is dropped and
 *   a fresh one fetched before subscribing again.
 * - Subscribe with `snap_orders` and `snap_trades`: every (re)connection starts with the open
 *   orders and the last 50 fills, applied through the same deduplication as everything else;
 *   then every working order is read over REST (an order that closed while we were away is not
 *   in the snapshot's open orders). A sequence gap, a rejected frame or an event that does not
 *   add up with what we hold also ends in a REST read. Fills are never applied twice (trade id
 *   + cumulative quantity) and never lost (REST is the reference).
 * - The channel is account-wide: events on pairs this venue does not configure are left out by
 *   the parser (counted in `stats.foreign`), and events about orders we do not follow by the
 *   client (`outcomes.untracked`); neither is a reason to read anything over REST.
 * - Fills from before the driver started (a snapshot's) are not applied from the push: the REST
 *   reads report them (a taker match then as one trade, as earlier versions journaled it).
 * - The stream is an accelerator: while it is down polling continues as before.
 */
import type { Clock, Logger } from '@cwts/core';
import { ExponentialBackoff, TimerSet, WsConnection, redactCredentials, type OrderUpdateSink, type OrderUpdateStream, type PushOutcome, type PushedExecution } from '@cwts/core/adapter-kit';
import type { KrakenWsToken } from './execution.js';
import type { KrakenExecutionsParser } from './executions-parse.js';
import type { KrakenOptions } from './options.js';

export interface KrakenExecutionStreamDeps {
  exchange: string;
  url: string;
  options: KrakenOptions;
  clock: Clock;
  logger?: Logger;
  parser: KrakenExecutionsParser;
  token(): Promise<KrakenWsToken>;
  random?: () => number;
  /**
   * From when (epoch ms) a pushed fill is applied from the push (the driver's singleFillsFrom).
   * A fill from before (a snapshot's last 50 fills) is left to the REST reads, which may report
   * its taker match as one trade (taker-matches.ts): pushed as its single fills, one the journal
   * holds under the match's id would look new. Its event still says how much the order filled.
   */
  pushedFillsFrom?: () => number | undefined;
}

export interface KrakenExecutionStreamStats {
  frames: number;
  rejected: number;
  /** Events left out as on pairs this venue does not configure (the channel is account-wide). */
  foreign: number;
  /** Trades pushed without `fees`: passed on without their fill, booked by the REST read. */
  feeless: number;
  connects: number;
  tokenFetches: number;
  tokenFailures: number;
  subscribeFailures: number;
  sequenceGaps: number;
  /** Pushed events by outcome (applied, duplicate, untracked, reconciling, invalid). */
  outcomes: Record<PushOutcome, number>;
  /** REST reconciles the stream asked for (snapshot, gap, rejected frame). */
  reconciles: number;
}

/**
 * A snapshot's fills first, oldest first (venue order kept for equal times), then its open
 * orders: an order's cumulative quantity then already includes the fills just applied.
 */
function byFillTime(a: PushedExecution, b: PushedExecution): number {
  if (!a.fill || !b.fill) return (a.fill ? 0 : 1) - (b.fill ? 0 : 1);
  return a.fill.ts - b.fill.ts;
}

/** The event without its fill: what it says of the order (filled quantity, state) only. */
function withoutFill(e: PushedExecution): PushedExecution {
  const { fill: _fill, ...order } = e;
  return order;
}

/** Subscribe failures in a row before the connection itself is dropped and rebuilt (with backoff). */
const MAX_SUBSCRIBE_TRIES = 3;
/** A cached token is reused only while this far from its unused-expiry. */
const TOKEN_MARGIN_MS = 60_000;

export class KrakenExecutionStream implements OrderUpdateStream {
  private conn: WsConnection | undefined;
  /** The execution client's push entry, from start() to stop(). */
  private sink: OrderUpdateSink | undefined;
  private readonly timers = new TimerSet();
  private cached: { token: string; expiresAt: number } | undefined;
  private live = false;
  private lastSeq: number | undefined;
  private reqId = 0;
  private subscribeTries = 0;
  private snapshotTimer: NodeJS.Timeout | undefined;
  /** Bumped on every open, so an answer for an old connection is ignored. */
  private epoch = 0;
  private lastLog = new Map<string, number>();
  readonly stats: KrakenExecutionStreamStats = {
    frames: 0, rejected: 0, foreign: 0, feeless: 0, connects: 0, tokenFetches: 0, tokenFailures: 0, subscribeFailures: 0, sequenceGaps: 0, reconciles: 0,
    outcomes: { applied: 0, duplicate: 0, untracked: 0, reconciling: 0, invalid: 0 },
  };

  /** Paces token fetches and subscriptions that fail on an open connection (a refused key must not spin). */
  private readonly retry: ExponentialBackoff;

  constructor(private readonly deps: KrakenExecutionStreamDeps) {
    this.retry = new ExponentialBackoff({ initialMs: deps.options.reconnect_initial_ms, maxMs: deps.options.reconnect_max_ms, random: deps.random });
  }

  /** True while subscribed and past the snapshot: fills arrive in push. */
  get isLive(): boolean {
    return this.live;
  }

  pendingTimers(): number {
    return this.timers.size + (this.conn?.pendingTimers ?? 0);
  }

  /** Connects in the background (retrying with backoff); returns at once. */
  start(sink: OrderUpdateSink): void {
    this.sink = sink;
    this.timers.reopen();
    const o = this.deps.options;
    this.conn = new WsConnection({
      name: `${this.deps.exchange} executions`,
      url: () => this.deps.url,
      onOpen: (conn, info) => this.onOpen(conn, info.reconnect),
      onMessage: (text) => this.onMessage(text),
      onBinary: (bytes) => this.onParsed(this.deps.parser.binary(bytes)),
      onDown: (reason) => this.onDown(reason),
      onError: (message) => this.log('conn', 'debug', message),
      pingIntervalMs: o.ping_interval_ms,
      pongTimeoutMs: o.pong_timeout_ms,
      staleAfterMs: o.stale_after_ms,
      backoff: { initialMs: o.reconnect_initial_ms, maxMs: o.reconnect_max_ms, random: this.deps.random },
      now: () => this.deps.clock.now(),
    });
    this.conn.start().catch(() => {});
  }

  async stop(): Promise<void> {
    this.live = false;
    this.sink = undefined;
    this.timers.close();
    this.snapshotTimer = undefined;
    const c = this.conn;
    this.conn = undefined;
    await c?.close();
  }

  /** Drops the connection now (tests, or a planned resync); it reconnects and resubscribes. */
  reconnect(reason: string): void {
    this.conn?.reconnect(reason);
  }

  private onOpen(conn: WsConnection, reconnect: boolean): void {
    this.epoch++;
    this.stats.connects++;
    this.live = false;
    this.lastSeq = undefined;
    this.subscribeTries = 0;
    if (reconnect) this.log('open', 'info', 'executions stream reconnected: resubscribing with a snapshot, then reading working orders over REST');
    void this.subscribe(conn, this.epoch);
  }

  private async subscribe(conn: WsConnection, epoch: number): Promise<void> {
    let token: string;
    try {
      token = await this.token();
    } catch (err) {
      if (epoch !== this.epoch || !this.conn) return;
      this.stats.tokenFailures++;
      this.log('token', 'warn', redactCredentials(`executions stream: GetWebSocketsToken failed (${(err as Error).message}); polling continues, retrying`));
      this.later(epoch, () => void this.subscribe(conn, epoch));
      return;
    }
    if (epoch !== this.epoch || !this.conn) return;
    this.subscribeTries++;
    const msg = { method: 'subscribe', params: { channel: 'executions', token, snap_orders: true, snap_trades: true }, req_id: ++this.reqId };
    if (!conn.send(JSON.stringify(msg))) return;
    this.timers.clear(this.snapshotTimer);
    this.snapshotTimer = this.timers.timeout(() => {
      this.snapshotTimer = undefined;
      // through the backoff: a venue that never answers the subscribe would be asked again at once
      if (epoch === this.epoch && !this.live) conn.reconnectWithBackoff('no executions snapshot in time');
    }, this.deps.options.executions_subscribe_timeout_ms);
  }

  /** Runs `fn` after the next backoff delay, if the connection it was meant for is still current. */
  private later(epoch: number, fn: () => void): void {
    this.timers.timeout(() => {
      if (epoch === this.epoch && this.conn) fn();
    }, this.retry.next());
  }

  private async token(): Promise<string> {
    const now = this.deps.clock.now();
    if (this.cached && now < this.cached.expiresAt - TOKEN_MARGIN_MS) return this.cached.token;
    this.cached = undefined;
    this.stats.tokenFetches++;
    const t = await this.deps.token();
    this.cached = { token: t.token, expiresAt: now + t.expiresS * 1000 };
    return t.token;
  }

  private onDown(reason: string): void {
    if (this.live) this.log('down', 'warn', `executions stream down (${reason}); polling continues until it is back`);
    this.live = false;
    this.timers.clear(this.snapshotTimer);
    this.snapshotTimer = undefined;
  }

  private onMessage(text: string): void {
    this.onParsed(this.deps.parser.parse(text));
  }

  private onParsed(m: ReturnType<KrakenExecutionsParser['parse']>): void {
    this.stats.frames = this.deps.parser.frames;
    this.stats.rejected = this.deps.parser.rejected;
    this.stats.foreign = this.deps.parser.foreign;
    this.stats.feeless = this.deps.parser.feeless;
    switch (m.kind) {
      case 'executions': {
        if (m.sequence !== undefined) {
          if (this.lastSeq !== undefined && m.sequence !== this.lastSeq + 1 && !m.snapshot) {
            this.stats.sequenceGaps++;
            this.log('gap', 'warn', `executions stream: sequence ${this.lastSeq} -> ${m.sequence}; reading working orders over REST`);
            this.reconcile('sequence gap');
          }
          this.lastSeq = m.sequence;
        }
        let invalid = 0;
        // a snapshot's fills in the order they happened, so each continues the one before it, then the orders
        const events = m.snapshot ? [...m.events].sort(byFillTime) : m.events;
        const sink = this.sink;
        if (!sink) return;
        const fillsFrom = this.deps.pushedFillsFrom?.();
        for (const e of events) {
          const outcome = sink.execution(fillsFrom !== undefined && e.fill !== undefined && e.fill.ts < fillsFrom ? withoutFill(e) : e);
          this.stats.outcomes[outcome]++;
          if (outcome === 'invalid') invalid++;
        }
        if (invalid > 0) {
          // a value off the order's grid (an event without a symbol is checked only here): nothing
          // of it was applied; the order is read over REST instead
          this.log('invalid', 'warn', `executions stream: ${invalid} event(s) with values off the order's grid were not applied; reading working orders over REST`);
          this.reconcile('events off the grid');
        }
        if (m.snapshot) {
          this.live = true;
          this.subscribeTries = 0;
          this.retry.reset();
          this.timers.clear(this.snapshotTimer);
          this.snapshotTimer = undefined;
          // the snapshot holds open orders and recent fills only: an order that closed while we
          // were away is read over REST
          this.reconcile('(re)subscribed');
        }
        return;
      }
      case 'subscribed':
        // the token now lives and dies with this subscription: the next connection needs a fresh one
        this.cached = undefined;
        return;
      case 'subscribe-failed': {
        this.stats.subscribeFailures++;
        // the usual cause is a token that expired unused or is unknown: drop it and fetch another
        this.cached = undefined;
        const conn = this.conn;
        this.log('subfail', 'warn', `executions subscribe refused: ${m.error}; fetching a fresh token`);
        if (!conn) return;
        const epoch = this.epoch;
        if (this.subscribeTries >= MAX_SUBSCRIBE_TRIES) this.later(epoch, () => conn.reconnect(`executions subscribe refused ${this.subscribeTries} times`));
        else this.later(epoch, () => void this.subscribe(conn, epoch));
        return;
      }
      case 'rejected':
        this.log(`rej:${m.reason}`, 'warn', `executions frame rejected (${m.reason}): ${m.message}; reading working orders over REST`);
        this.reconcile('rejected frame');
        return;
      default:
        return;
    }
  }

  private reconcile(reason: string): void {
    if (!this.sink) return;
    this.stats.reconciles++;
    this.sink.reconcile(`kraken executions: ${reason}`).catch((err) => this.log('reconcile', 'debug', `reconcile failed: ${(err as Error).message}`));
  }

  /** At most one line per key per 10 s: a hostile stream cannot flood the log. */
  private log(key: string, level: 'debug' | 'info' | 'warn', msg: string): void {
    const now = this.deps.clock.now();
    const last = this.lastLog.get(key);
    if (last !== undefined && now - last < 10_000) return;
    this.lastLog.set(key, now);
    if (this.lastLog.size > 100) this.lastLog.clear();
    this.deps.logger?.[level]({ exchange: this.deps.exchange }, msg);
  }
}
