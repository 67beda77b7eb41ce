/**
 * The pair trading status scenarios every venue runs against its local protocol server
 * (docs/venues.md, "Pair trading status"): a pair loaded halted is named in a startup warning,
 * its book still syncs, and an order on it is refused locally with VENUE_NOT_TRADING (counted in
 * cwts_risk_rejections_total) with nothing reaching the server; a post-only pair refuses a
 * market/IOC order and sends a post-only limit; a pair that halts after start is refused once
 * the status is re-read, while a cancel of its resting order still goes out. The testing entry cannot import the engine, so the caller builds it.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionClient, MarketDataClient } from '../contracts/exchange.js';
import type { BookView, SubmitResult } from '../contracts/trading.js';
import type { Order, OrderIntent } from '../domain/orders.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { BookStore } from '../microstructure/venue-books.js';
import { waitUntil } from './exchange-conformance.js';

/** The three states a local server can put a pair in, written in the venue's own words by the caller. */
export type PairStatusCase = 'open' | 'closed' | 'post_only';

export interface PairStatusVenue {
  marketData: MarketDataClient & { refreshTradingStatus(): Promise<void> };
  execution: ExecutionClient;
  /** New-order requests the local server has received so far (cancels not counted). */
  ordersReceived(): number;
  /** Changes the pair's status at the local server (the venue's next instrument read sees it). */
  setStatus(status: PairStatusCase): void;
  /**
   * Makes the server refuse the next new order with the venue's own "not trading" error (mapped
   * to VENUE_NOT_TRADING by the adapter), as a venue does for a pair that halted before our
   * re-read; absent when the server cannot, and the refusal case is skipped.
   */
  refuseNextOrderAsNotTrading?(): void;
  /** Moves the venue's book (some venues sync only once an update follows the snapshot). */
  pump?(): void;
  close(): Promise<void>;
}

/** What the suite needs of an engine (core's Engine satisfies it). */
export interface PairStatusEngine {
  start(): Promise<void>;
  stop(): Promise<void>;
  submit(intent: OrderIntent): SubmitResult;
  cancel(clientOrderId: string): boolean;
  openOrders(exchange: string, symbol: string): readonly Readonly<Order>[];
  book(exchange: string, symbol: string): BookView | undefined;
}

export interface PairStatusSuiteOptions {
  /** Venue name as the adapter reports it (the `exchange` of its instruments). */
  exchange: string;
  symbol: string;
  /** Starts the local server with the pair in `initial` and builds the venue (with credentials) against it. */
  start(initial: PairStatusCase, logger: Logger): Promise<PairStatusVenue>;
  /** Builds core's Engine over the venue with these logger, metrics and book store. */
  engine(venue: PairStatusVenue, deps: { logger: Logger; metrics: MetricsRegistry; books: BookStore }): PairStatusEngine;
  /** The venue has no post-only pair status: the reason, and the post-only case is skipped. */
  noPostOnly?: string;
  /** The server cannot refuse an order as not trading (no refuseNextOrderAsNotTrading): the reason. */
  noRefusalCase?: string;
  /** Milliseconds to wait for a book to sync (default 45 s: a loaded 2-core machine). */
  syncTimeoutMs?: number;
}

interface LogLine {
  level: number;
  msg: string;
  symbol?: string;
}

function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination: sink, pretty: false }), lines };
}

async function rejectionsCounted(metrics: MetricsRegistry, reason: string): Promise<number> {
  const text = await metrics.text();
  const m = new RegExp(`^cwts_risk_rejections_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export function describePairTradingStatus(name: string, o: PairStatusSuiteOptions): void {
  const syncMs = o.syncTimeoutMs ?? 45_000;
  describe(`${name}: pair trading status`, () => {
    let venue: PairStatusVenue | undefined;
    let engine: PairStatusEngine | undefined;
    let pump: NodeJS.Timeout | undefined;

    afterEach(async () => {
      if (pump) clearInterval(pump);
      pump = undefined;
      await engine?.stop();
      await venue?.close();
      engine = undefined;
      venue = undefined;
    });

    const boot = async (initial: PairStatusCase) => {
      const { logger, lines } = recordingLogger();
      const metrics = new MetricsRegistry({ processMetrics: false });
      const books = new BookStore();
      venue = await o.start(initial, logger);
      engine = o.engine(venue, { logger, metrics, books });
      await engine.start();
      const v = venue;
      if (v.pump) pump = setInterval(() => v.pump!(), 20);
      const synced = () => waitUntil(() => books.get(o.exchange, o.symbol)?.state === 'synced', `${o.exchange} ${o.symbol} book SYNCED`, syncMs, 10);
      return { logger, lines, metrics, books, venue: v, engine, synced };
    };

    const limit = (e: PairStatusEngine, tif: OrderIntent['tif']): OrderIntent => {
      const bid = e.book(o.exchange, o.symbol)?.bestBid();
      expect(bid, 'a best bid to price the order from').toBeGreaterThan(100);
      // far below the touch: rests (a post-only order never crosses), never fills
      return { exchange: o.exchange, symbol: o.symbol, side: 'buy', type: 'limit', price: Math.floor(bid! / 2), qty: 1, tif, source: 'pair-status-test' };
    };
    const market = (): OrderIntent => ({ exchange: o.exchange, symbol: o.symbol, side: 'buy', type: 'market', qty: 1, tif: 'IOC', source: 'pair-status-test' });

    it('a pair loaded halted: startup warning naming it, its book syncs, an order is refused locally and never reaches the server', async () => {
      const t = await boot('closed');
      const warn = t.lines.find((l) => l.level === 40 && l.msg.includes(o.symbol) && /closed/.test(l.msg));
      expect(warn, `a startup warning naming ${o.symbol} and its status; got ${JSON.stringify(t.lines.map((l) => l.msg))}`).toBeDefined();
      await t.synced(); // market data keeps running on a halted pair
      const r1 = t.engine.submit(limit(t.engine, 'GTC'));
      const r2 = t.engine.submit(market());
      expect(r1).toMatchObject({ accepted: false, reason: 'VENUE_NOT_TRADING' });
      expect(r2).toMatchObject({ accepted: false, reason: 'VENUE_NOT_TRADING' });
      expect(r1.message).toContain(o.symbol);
      expect(await rejectionsCounted(t.metrics, 'VENUE_NOT_TRADING')).toBe(2);
      await new Promise((r) => setTimeout(r, 100));
      expect(t.venue.ordersReceived()).toBe(0);
    });

    it.skipIf(o.noPostOnly !== undefined)(`a post-only pair refuses a market and an IOC order and sends a post-only limit${o.noPostOnly ? ` (skipped: ${o.noPostOnly})` : ''}`, async () => {
      const t = await boot('post_only');
      expect(t.lines.some((l) => l.level === 40 && l.msg.includes(o.symbol) && /post_only/.test(l.msg))).toBe(true);
      await t.synced();
      expect(t.engine.submit(market())).toMatchObject({ accepted: false, reason: 'VENUE_NOT_TRADING' });
      expect(t.engine.submit(limit(t.engine, 'IOC'))).toMatchObject({ accepted: false, reason: 'VENUE_NOT_TRADING' });
      expect(t.engine.submit(limit(t.engine, 'GTC'))).toMatchObject({ accepted: false, reason: 'VENUE_NOT_TRADING' });
      expect(t.venue.ordersReceived()).toBe(0);
      const ok = t.engine.submit(limit(t.engine, 'POST_ONLY'));
      expect(ok, JSON.stringify(ok)).toMatchObject({ accepted: true });
      await waitUntil(() => t.venue.ordersReceived() === 1, 'the post-only order at the server', 10_000, 10);
    });

    it('a pair that halts after start is refused once the status is re-read, and trades again when it reopens', async () => {
      const t = await boot('open');
      expect(t.lines.some((l) => l.level === 40 && l.msg.includes(o.symbol) && /VENUE_NOT_TRADING/.test(l.msg))).toBe(false);
      await t.synced();
      const first = t.engine.submit(limit(t.engine, 'GTC'));
      expect(first, JSON.stringify(first)).toMatchObject({ accepted: true });
      await waitUntil(() => t.venue.ordersReceived() === 1, 'the first order at the server', 10_000, 10);
      t.venue.setStatus('closed');
      await t.venue.marketData.refreshTradingStatus();
      expect(t.lines.some((l) => l.level === 40 && l.msg.includes(o.symbol) && /now closed/.test(l.msg))).toBe(true);
      expect(t.engine.submit(limit(t.engine, 'GTC'))).toMatchObject({ accepted: false, reason: 'VENUE_NOT_TRADING' });
      await new Promise((r) => setTimeout(r, 100));
      expect(t.venue.ordersReceived()).toBe(1);
      // cancels always go out, whatever the pair's status
      await waitUntil(() => t.engine.openOrders(o.exchange, o.symbol).some((x) => x.clientOrderId === first.clientOrderId && x.status === 'open'), 'the first order acknowledged', 10_000, 10);
      expect(t.engine.cancel(first.clientOrderId!)).toBe(true);
      await waitUntil(() => t.engine.openOrders(o.exchange, o.symbol).length === 0, 'the cancel of the resting order answered by the server', 10_000, 10);
      t.venue.setStatus('open');
      await t.venue.marketData.refreshTradingStatus();
      expect(t.engine.submit(limit(t.engine, 'GTC'))).toMatchObject({ accepted: true });
      await waitUntil(() => t.venue.ordersReceived() === 2, 'the order after the reopening at the server', 10_000, 10);
    });

    it.skipIf(o.noRefusalCase !== undefined)(`a venue refusal (VENUE_NOT_TRADING) on a pair still open here makes the adapter re-read the status at once${o.noRefusalCase ? ` (skipped: ${o.noRefusalCase})` : ''}`, async () => {
      const t = await boot('open');
      await t.synced();
      // the pair halts at the venue; our periodic re-read has not run yet
      t.venue.setStatus('closed');
      t.venue.refuseNextOrderAsNotTrading?.();
      const sent = t.engine.submit(limit(t.engine, 'GTC'));
      expect(sent, 'our stale status lets it through').toMatchObject({ accepted: true });
      await waitUntil(() => t.venue.marketData.tradingStatus?.(o.symbol) === 'closed', 'the status re-read after the venue refused', 15_000, 10);
      expect(t.engine.openOrders(o.exchange, o.symbol)).toHaveLength(0); // the venue's refusal closed it
      expect(t.engine.submit(limit(t.engine, 'GTC'))).toMatchObject({ accepted: false, reason: 'VENUE_NOT_TRADING' });
      await new Promise((r) => setTimeout(r, 100));
      expect(t.venue.ordersReceived()).toBe(1);
    });
  });
}
