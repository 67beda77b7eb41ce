/**
 * The exchange conformance suite: one vitest suite that every exchange adapter package runs
 * against itself, with its own factory and its own local fake venue (a server on 127.0.0.1
 * that speaks the venue's documented protocol):
 *
 *   describeExchangeConformance({ venue: 'binance', symbol: 'BTCUSDT', capabilities, createVenue, createAdapter });
 *
 * Every test starts a fresh venue and adapter and feeds the adapter's events into the engine's
 * own BookStore, so "the right book" means the book the engine would hold. Capability-based
 * skips (no checksums, no execution) happen inside the test with the reason shown.
 */
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { ExecutionClient, FeedReject, MarketDataClient, MarketEventSink } from '../contracts/exchange.js';
import type { BookSnapshotEvent, FeedStatusEvent, MarketEvent, TradeEvent } from '../domain/events.js';
import { lotsToQty, priceToTicks, qtyToLots, ticksToPrice, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderIntent, RejectReason } from '../domain/orders.js';
import { BookStore } from '../microstructure/venue-books.js';
import type { GuardedModuleRef } from './guarded-worker.js';
import { describeMalformedInput } from './malformed-input.js';

/** The adapter package's local fake venue, driven by the suite. */
export interface ConformanceVenue {
  /** The venue's true book now: top n levels per side, best first, as decimal strings. */
  truth(symbol: string, n: number): { bids: [string, string][]; asks: [string, string][] };
  /** Publishes n book updates (and whatever else the venue does) for the symbol. */
  step(symbol: string, n: number): void;
  /** Publishes one trade; returns the venue's trade id. */
  trade(symbol: string, t: { price: string; qty: string; side: 'buy' | 'sell' }): string;
  /** The next book update skips sequence numbers (a gap on the wire). */
  skipSequence(symbol: string): void;
  /** Drops every market-data connection (the adapter must reconnect and resync). */
  dropConnections(): void;
  /** Sends raw text to every market-data connection (malformed or unknown frames). */
  sendRaw(text: string): void;
  /** Venues with checksums: the next update carries a wrong checksum. */
  corruptChecksum?(symbol: string): void;
  /** Open market-data connections as the venue sees them. */
  connectionCount(): number;
  /** Venues with execution: local times (ms) at which order requests arrived (their count matters). */
  orderRequestTimes?(): number[];
  /**
   * Venues with execution: fills `qty` (decimal string on the lot grid) of a working order at its
   * limit `price`, as a trade against it would, with a fee, and tells the account about it the way
   * the venue does (its private stream and/or its fill list). Returns the venue's trade id. With
   * `execution: true` the suite's fill test runs when this is present and is skipped, saying so,
   * when not; every built-in venue provides it.
   */
  fillOrder?(order: ConformanceFill): string | Promise<string>;
  /**
   * Delivers the last fill again, unchanged, where the adapter reads fills (the same private
   * stream message re-sent, or the same trade listed twice): a venue or network that repeats.
   */
  repeatLastFill?(): void;
  /** Drops the private (user / order) stream connections: the adapter must reconnect and catch up. */
  dropUserStream?(): void;
  close(): Promise<void>;
}

/** What `ConformanceVenue.fillOrder` is asked to fill. */
export interface ConformanceFill {
  symbol: string;
  clientOrderId: string;
  venueOrderId: string;
  side: 'buy' | 'sell';
  /** The order's limit price (decimal string): the fill's price. */
  price: string;
  /** The quantity of this fill (decimal string), at most what is still working. */
  qty: string;
}

export interface AdapterUnderTest {
  marketData: MarketDataClient;
  execution?: ExecutionClient;
  /** Timers the adapter holds right now; must be 0 after stop. */
  pendingTimers(): number;
}

export interface ExchangeErrorCase {
  name: string;
  /** Set the venue up to fail (e.g. a bad key, no balance); runs before the order is sent. */
  arrange(venue: ConformanceVenue): void | Promise<void>;
  /** Overrides on the test order. */
  order?: Partial<OrderIntent>;
  /** Cancel an order the venue does not know instead of placing one. */
  cancelUnknown?: boolean;
  /** The reject reason our adapter must map the venue's error to. */
  expect: RejectReason;
  /** Optional: the rejection text must match (e.g. the venue code). */
  text?: RegExp;
}

export interface ExchangeConformanceOptions {
  /** Exchange name the adapter reports in events. */
  venue: string;
  symbol: string;
  /**
   * `sequenceNumbers: false` (default true): the venue's book updates carry no sequence numbers
   * and a missed update is found by its checksum (Kraken v2), so the gap test accepts a
   * checksum resync as the detection.
   */
  capabilities: {
    checksum: boolean;
    execution: boolean;
    rateLimit: boolean;
    sequenceNumbers?: boolean;
    /**
     * true: the adapter must offer `MarketDataClient.requestResync` (the test fails without it).
     * Otherwise the test runs when the adapter offers it and is skipped, saying so, when not.
     */
    requestResync?: boolean;
  };
  createVenue(): Promise<ConformanceVenue>;
  /**
   * `orderRateLimit`: configure the adapter's order limit to this for the rate-limit test.
   * `clock`: when given, the adapter must take all its time from it (its rate limiter included):
   * the rate-limit test moves it by hand, so the test does not depend on the machine's speed.
   */
  createAdapter(venue: ConformanceVenue, opts: AdapterOptions): Promise<AdapterUnderTest>;
  /**
   * The adapter's frame harness for the malformed-input section: a module (path or file URL;
   * .ts needs tsx) exporting a FrameHarness factory (see the adapter kit's frame-harness.ts),
   * loaded in a worker thread. Every adapter must provide one; without it the section fails.
   */
  frameHarness?: GuardedModuleRef;
  /** Bound per input in the malformed-input section before it counts as a hang. Default 2000 ms. */
  hangBoundMs?: number;
  /** A limit order that rests (price and quantity as decimal strings on the instrument's grid). */
  restingOrder?: { side: 'buy' | 'sell'; price: string; qty: string };
  errorCases?: ExchangeErrorCase[];
  /** Upper bound for each wait in the suite (not a speed assertion). Default 10 s. */
  waitMs?: number;
}

export interface AdapterOptions {
  orderRateLimit?: { limit: number; intervalMs: number };
  clock?: ManualClock;
}

/** A sink that keeps the engine's book store plus every event, status and error. */
export class ConformanceSink implements MarketEventSink {
  readonly books = new BookStore();
  readonly events: MarketEvent[] = [];
  readonly statuses: FeedStatusEvent[] = [];
  readonly errors: { component: string; message: string }[] = [];
  /** Inputs rejected at the adapter edge (cwts_feed_errors_total in the engine). */
  readonly rejects: FeedReject[] = [];
  now = 0;
  onMarketEvent(ev: MarketEvent): void {
    this.events.push(JSON.parse(JSON.stringify(ev)) as MarketEvent);
    if (ev.type === 'book_snapshot') this.books.applySnapshot(ev, ++this.now);
    else if (ev.type === 'book_delta') this.books.applyDelta(ev, ++this.now);
  }
  onFeedStatus(st: FeedStatusEvent): void {
    this.statuses.push({ ...st });
    this.books.applyStatus(st);
  }
  onFeedError(component: string, message: string): void {
    this.errors.push({ component, message });
  }
  onFeedReject(r: FeedReject): void {
    this.rejects.push({ ...r });
  }
  /** Problems counted: rejections, or logged errors for adapters that report only through onFeedError. */
  counted(): number {
    return Math.max(this.rejects.length, this.errors.length);
  }
  snapshots(reason?: 'initial' | 'resync'): BookSnapshotEvent[] {
    return this.events.filter((e): e is BookSnapshotEvent => e.type === 'book_snapshot' && (reason === undefined || e.reason === reason));
  }
  trades(): TradeEvent[] {
    return this.events.filter((e): e is TradeEvent => e.type === 'trade');
  }
  /** Top n of the engine-side book as decimal strings. */
  top(exchange: string, i: Instrument, n: number): { state: string; bids: [string, string][]; asks: [string, string][] } {
    const rec = this.books.get(exchange, i.symbol);
    const out: { price: number; qty: number }[] = [];
    const side = (s: 'bid' | 'ask'): [string, string][] => {
      if (!rec) return [];
      const k = rec.book.topLevels(s, n, out);
      return out.slice(0, k).map((l) => [ticksToPrice(i, l.price), lotsToQty(i, l.qty)]);
    };
    return { state: rec?.state ?? 'missing', bids: side('bid'), asks: side('ask') };
  }
}

/** Normalizes venue decimal strings ("65000.10000000") to our canonical form ("65000.1"). */
function canon(i: Instrument, levels: [string, string][]): [string, string][] {
  return levels.map(([p, q]) => [ticksToPrice(i, priceToTicks(i, p)), lotsToQty(i, qtyToLots(i, q))]);
}

/** Polls `cond` (sync, or async such as an HTTP read) every `pollMs` until it holds or `ms` passes. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000, pollMs = 5): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

let orderSeq = 0;
export function conformanceOrder(i: Instrument, o: { side: 'buy' | 'sell'; price: string; qty: string }, extra: Partial<OrderIntent> = {}): Order {
  const now = Date.now();
  return {
    exchange: i.exchange, symbol: i.symbol, side: o.side, type: 'limit', price: priceToTicks(i, o.price), qty: qtyToLots(i, o.qty), tif: 'GTC', source: 'conformance',
    ...extra,
    clientOrderId: `cf${now.toString(36)}x${++orderSeq}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: now, updatedTs: now,
  };
}

export function describeExchangeConformance(opts: ExchangeConformanceOptions): void {
  const W = opts.waitMs ?? 10_000;
  const sym = opts.symbol;

  describe(`exchange conformance: ${opts.venue}`, () => {
    let venue: ConformanceVenue | undefined;
    let adapter: AdapterUnderTest | undefined;
    let sink: ConformanceSink;
    let instrument: Instrument;

    async function boot(adapterOpts: AdapterOptions = {}): Promise<void> {
      venue = await opts.createVenue();
      adapter = await opts.createAdapter(venue, adapterOpts);
      sink = new ConformanceSink();
      const list = await adapter.marketData.loadInstruments([sym]);
      expect(list.map((x) => x.symbol)).toEqual([sym]);
      instrument = list[0]!;
      expect(instrument.exchange).toBe(opts.venue);
      await adapter.marketData.start([sym], sink);
    }

    /** Waits for SYNCED, publishing an update now and then (venues that buffer before the snapshot need one). */
    async function synced(): Promise<void> {
      let n = 0;
      await waitUntil(() => {
        if (++n % 10 === 1) venue!.step(sym, 1);
        return sink.books.get(opts.venue, sym)?.state === 'synced';
      }, `${opts.venue}:${sym} synced`, W);
    }

    /** Steps the venue until the engine-side book equals the venue's truth (top 10). */
    async function converge(what: string): Promise<void> {
      const v = venue!;
      let last = '';
      try {
        await waitUntil(() => {
          const mine = sink.top(opts.venue, instrument, 10);
          const t = v.truth(sym, 10);
          const truth = { bids: canon(instrument, t.bids), asks: canon(instrument, t.asks) };
          last = JSON.stringify({ mine, truth });
          return mine.state === 'synced' && JSON.stringify(mine.bids) === JSON.stringify(truth.bids) && JSON.stringify(mine.asks) === JSON.stringify(truth.asks);
        }, what, W);
      } catch (err) {
        throw new Error(`${(err as Error).message}\nlast comparison: ${last}`);
      }
    }

    afterEach(async () => {
      await adapter?.marketData.stop().catch(() => {});
      await adapter?.execution?.stop().catch(() => {});
      await venue?.close();
      adapter = undefined;
      venue = undefined;
    });

    it('subscribes and builds the book the venue holds', async () => {
      await boot();
      await synced();
      expect(sink.snapshots('initial')).toHaveLength(1);
      venue!.step(sym, 50);
      await converge('book equals the venue after 50 updates');
      expect(sink.snapshots('resync')).toHaveLength(0);
    });

    it('normalizes trades exactly, each once', async () => {
      await boot();
      await synced();
      const sent = [
        { price: priceOf(venue!, sym, 'ask'), qty: lotsToQty(instrument, 3), side: 'buy' as const },
        { price: priceOf(venue!, sym, 'bid'), qty: lotsToQty(instrument, 12345), side: 'sell' as const },
        { price: priceOf(venue!, sym, 'ask'), qty: lotsToQty(instrument, 1), side: 'buy' as const },
      ];
      const ids = sent.map((t) => venue!.trade(sym, t));
      await waitUntil(() => sink.trades().length >= sent.length, 'three trades', W);
      const got = sink.trades();
      expect(got).toHaveLength(sent.length);
      got.forEach((g, k) => {
        expect(g).toMatchObject({ exchange: opts.venue, symbol: sym, tradeId: ids[k], side: sent[k]!.side, price: priceToTicks(instrument, sent[k]!.price), qty: qtyToLots(instrument, sent[k]!.qty) });
        expect(Number.isSafeInteger(g.price) && Number.isSafeInteger(g.qty)).toBe(true);
      });
    });

    it('resyncs after a sequence gap and ends with the right book', async () => {
      await boot();
      await synced();
      venue!.step(sym, 5);
      venue!.skipSequence(sym);
      venue!.step(sym, 20);
      await waitUntil(() => {
        venue!.step(sym, 1);
        return sink.snapshots('resync').length >= 1;
      }, 'a resync snapshot', W);
      const gapSeen = opts.capabilities.sequenceNumbers === false ? /gap|sequence|checksum/i : /gap|sequence/i;
      expect(sink.statuses.some((s) => s.state === 'resyncing' && gapSeen.test(s.reason))).toBe(true);
      venue!.step(sym, 10);
      await converge('book equals the venue after the gap');
    });

    it('reconnects after a dropped connection and resyncs', async () => {
      await boot();
      await synced();
      venue!.step(sym, 5);
      venue!.dropConnections();
      await waitUntil(() => sink.statuses.some((s) => s.state === 'resyncing' && /reconnect/i.test(s.reason)), 'a reconnect resync', W);
      await waitUntil(() => {
        venue!.step(sym, 1);
        return sink.snapshots('resync').length >= 1;
      }, 'a resync snapshot', W);
      venue!.step(sym, 10);
      await converge('book equals the venue after reconnecting');
      await waitUntil(() => venue!.connectionCount() === 1, 'exactly one connection', W);
    });

    it('counts and drops malformed JSON and unknown messages', async () => {
      await boot();
      await synced();
      const before = sink.counted();
      venue!.sendRaw('{"e":"depthUpdate","E":1,"s":');
      venue!.sendRaw('this is not json');
      venue!.sendRaw('{"totally":"unknown","message":[1,2,3]}');
      await waitUntil(() => sink.counted() >= before + 3, 'three counted errors', W);
      // a bad frame that may have been a book update may make the book resync (it may have
      // missed that update): the venue stays live until the book is SYNCED again
      await waitUntil(() => {
        venue!.step(sym, 1);
        return sink.books.get(opts.venue, sym)?.state === 'synced';
      }, 'SYNCED after the bad frames', W);
      venue!.step(sym, 10);
      await converge('book still right after bad frames');
      expect(sink.books.get(opts.venue, sym)!.state).toBe('synced');
    });

    it('resyncs after a checksum mismatch', async (ctx: TestContext) => {
      if (!opts.capabilities.checksum) {
        ctx.skip(`${opts.venue} publishes no book checksums`);
        return;
      }
      await boot();
      await synced();
      venue!.corruptChecksum!(sym);
      venue!.step(sym, 5);
      await waitUntil(() => {
        venue!.step(sym, 1);
        return sink.statuses.some((s) => s.state === 'resyncing' && /checksum/i.test(s.reason));
      }, 'a checksum resync', W);
      venue!.step(sym, 5);
      await converge('book equals the venue after the checksum resync');
    });

    it('starts a book over when the engine asks (requestResync) and ends with the right book', async (ctx: TestContext) => {
      await boot();
      const md = adapter!.marketData;
      if (opts.capabilities.requestResync === true) expect(md.requestResync, `${opts.venue} declares requestResync but its MarketDataClient has none`).toBeTypeOf('function');
      if (md.requestResync === undefined) {
        ctx.skip(`${opts.venue}'s adapter does not offer requestResync (optional)`);
        return;
      }
      await synced();
      venue!.step(sym, 5);
      await converge('book equals the venue before the request');
      const statusesBefore = sink.statuses.length;
      const resyncsBefore = sink.snapshots('resync').length;
      // what the engine's book found (in the engine: a gap between the deltas the adapter let through)
      md.requestResync(sym, 'sequence_gap: expected 101, got 103..103');
      await waitUntil(() => {
        venue!.step(sym, 1);
        return sink.snapshots('resync').length > resyncsBefore;
      }, 'a resync snapshot after the engine asked', W);
      expect(sink.statuses.slice(statusesBefore).some((s) => s.state === 'resyncing' && s.symbol === sym)).toBe(true);
      venue!.step(sym, 10);
      await converge('book equals the venue after the resync the engine asked for');
    });

    it('places and cancels an order, and maps venue errors to our reasons', async (ctx: TestContext) => {
      if (!opts.capabilities.execution) {
        ctx.skip(`${opts.venue} adapter has no execution client`);
        return;
      }
      await boot();
      const ex = adapter!.execution!;
      const reports: ExecutionReport[] = [];
      await ex.start((r) => reports.push(r));
      expect(ex.availability()).toEqual({ canTrade: true });
      const o = conformanceOrder(instrument, opts.restingOrder ?? { side: 'buy', price: priceOf(venue!, sym, 'bid'), qty: lotsToQty(instrument, 10) });
      ex.submit(o);
      await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'an ack', W);
      const ack = reports.find((r) => r.clientOrderId === o.clientOrderId)!;
      expect(ack).toMatchObject({ kind: 'ack', exchange: opts.venue, symbol: sym, side: o.side, leavesQty: o.qty });
      expect(ack.venueOrderId).toBeTruthy();
      expect((await ex.openOrders()).map((x) => x.clientOrderId)).toContain(o.clientOrderId);
      ex.cancel({ ...o, venueOrderId: ack.venueOrderId, status: 'pending_cancel' });
      await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'cancelled'), 'a cancel confirmation', W);
      for (const c of opts.errorCases ?? []) {
        await c.arrange(venue!);
        const bad = conformanceOrder(instrument, opts.restingOrder ?? { side: 'buy', price: priceOf(venue!, sym, 'bid'), qty: lotsToQty(instrument, 10) }, c.order);
        if (c.cancelUnknown) ex.cancel({ ...bad, venueOrderId: '999999999', status: 'pending_cancel' });
        else ex.submit(bad);
        await waitUntil(() => reports.some((r) => r.clientOrderId === bad.clientOrderId && r.kind === 'rejected'), `rejection for ${c.name}`, W);
        const rej = reports.find((r) => r.clientOrderId === bad.clientOrderId && r.kind === 'rejected')!;
        expect(rej.rejectReason, c.name).toBe(c.expect);
        // a refused cancel leaves its order as it was; a refused order is final (ExecutionReport.rejects)
        expect(rej.rejects, c.name).toBe(c.cancelUnknown ? 'request' : 'order');
        if (c.text) expect(rej.text, c.name).toMatch(c.text);
      }
    });

    it('reports each fill once, as integer ticks and lots with a fee, even when the venue repeats it or the private stream drops', async (ctx: TestContext) => {
      if (!opts.capabilities.execution) {
        ctx.skip(`${opts.venue} adapter has no execution client`);
        return;
      }
      await boot();
      if (venue!.fillOrder === undefined) {
        ctx.skip(`${opts.venue}'s conformance venue offers no fillOrder hook (fills are not checked)`);
        return;
      }
      const ex = adapter!.execution!;
      const reports: ExecutionReport[] = [];
      await ex.start((r) => reports.push(r));
      const spec = opts.restingOrder ?? { side: 'buy' as const, price: priceOf(venue!, sym, 'bid'), qty: lotsToQty(instrument, 10) };
      const o = conformanceOrder(instrument, spec);
      expect(o.qty, "restingOrder must be at least 2 lots (the test fills it in two parts)").toBeGreaterThanOrEqual(2);
      ex.submit(o);
      const mine = () => reports.filter((r) => r.clientOrderId === o.clientOrderId);
      await waitUntil(() => mine().some((r) => r.kind === 'ack'), 'an ack', W);
      const ack = mine().find((r) => r.kind === 'ack')!;
      const ref = { symbol: sym, clientOrderId: o.clientOrderId, venueOrderId: String(ack.venueOrderId), side: o.side, price: ticksToPrice(instrument, o.price!) };
      const parts = [Math.max(1, Math.floor(o.qty / 3)), 0];
      parts[1] = o.qty - parts[0]!;
      const fills = () => mine().filter((r) => r.kind === 'fill');
      const filledLots = () => fills().reduce((a, r) => a + r.lastQty, 0);
      const tradeIds: string[] = [];
      // first part: reported, then delivered again by the venue
      tradeIds.push(String(await venue!.fillOrder({ ...ref, qty: lotsToQty(instrument, parts[0]!) })));
      await waitUntil(() => filledLots() >= parts[0]!, `a fill of ${parts[0]} lots`, W);
      venue!.repeatLastFill?.();
      // the private stream drops (where the venue can): the rest fills while the adapter reconnects and catches up
      venue!.dropUserStream?.();
      tradeIds.push(String(await venue!.fillOrder({ ...ref, qty: lotsToQty(instrument, parts[1]!) })));
      venue!.repeatLastFill?.();
      await waitUntil(() => filledLots() >= o.qty, `fills of ${o.qty} lots in all`, W);
      // a repeat or a catch-up after the reconnect arrives later than the first report: give it time
      await new Promise((r) => setTimeout(r, 750));
      venue!.repeatLastFill?.();
      await new Promise((r) => setTimeout(r, 750));
      const got = fills();
      const show = JSON.stringify(got.map((r) => ({ tradeId: r.tradeId, lastQty: r.lastQty, cumQty: r.cumQty, leavesQty: r.leavesQty })));
      expect(got.map((r) => r.lastQty), `each trade reported exactly once (venue trade ids ${tradeIds.join(', ')}); fills: ${show}`).toEqual(parts);
      const ids = got.map((r) => r.tradeId);
      if (ids.every((t) => t !== undefined)) expect(new Set(ids).size, `distinct trade ids: ${show}`).toBe(got.length);
      let cum = 0;
      for (const r of got) {
        cum += r.lastQty;
        expect(r, show).toMatchObject({ exchange: opts.venue, symbol: sym, side: o.side });
        expect(Number.isSafeInteger(r.lastPrice) && Number.isSafeInteger(r.lastQty) && r.lastQty > 0, `integer ticks and positive lots: ${show}`).toBe(true);
        expect(r.lastPrice, 'a resting limit order fills at its price').toBe(o.price);
        // cumQty and leavesQty are optional (a venue that does not say); when given they add up
        if (typeof r.cumQty === 'number') expect(r.cumQty, `cumQty after each fill: ${show}`).toBe(cum);
        if (typeof r.leavesQty === 'number') expect(r.leavesQty, `leavesQty after each fill: ${show}`).toBe(o.qty - cum);
        expect(typeof r.feeAtoms, 'feeAtoms is a bigint').toBe('bigint');
        expect(r.feeAtoms > 0n, `the venue charged a fee on each fill: ${show}`).toBe(true);
      }
      // the order ends filled once: nothing reported for it after the fill that completed it
      const all = mine();
      const last = all.indexOf(got[got.length - 1]!);
      expect(all.slice(last + 1).map((r) => r.kind), 'reports after the order was filled').toEqual([]);
      expect((await ex.openOrders()).map((x) => x.clientOrderId)).not.toContain(o.clientOrderId);
    });

    it('respects its order rate limit', async (ctx: TestContext) => {
      if (!opts.capabilities.execution || !opts.capabilities.rateLimit) {
        ctx.skip(`${opts.venue} adapter has no rate-limited execution`);
        return;
      }
      // The adapter's time comes from a clock this test moves by hand: a request the limiter holds
      // back can only be released by advancing it, so what is checked is the limiter's decision,
      // not how fast this machine is (wall-clock arrival times flaked under load).
      const limit = { limit: 3, intervalMs: 400 };
      const clock = new ManualClock(Date.now());
      await boot({ orderRateLimit: limit, clock });
      const ex = adapter!.execution!;
      const reports: ExecutionReport[] = [];
      await ex.start((r) => reports.push(r));
      const n = 7;
      const orders = Array.from({ length: n }, () => conformanceOrder(instrument, opts.restingOrder ?? { side: 'buy', price: priceOf(venue!, sym, 'bid'), qty: lotsToQty(instrument, 1) }));
      const base = venue!.orderRequestTimes!().length;
      const sent = () => venue!.orderRequestTimes!().length - base;
      const answered = () => orders.filter((o) => reports.some((r) => r.clientOrderId === o.clientOrderId)).length;
      for (const o of orders) ex.submit(o);
      for (let allowed = limit.limit; ; allowed += limit.limit) {
        const expected = Math.min(allowed, n);
        await waitUntil(() => answered() >= expected, `${expected} orders answered`, W);
        // with the clock standing still nothing more may go out, however long we wait
        await new Promise((r) => setTimeout(r, limit.intervalMs * 1.5));
        expect(sent(), `requests sent with ${allowed} allowed`).toBe(expected);
        expect(answered()).toBe(expected);
        if (expected === n) break;
        clock.advance(limit.intervalMs + 1);
      }
      expect(reports.filter((r) => r.kind === 'ack')).toHaveLength(n);
    });

    it('closes cleanly with no dangling timers or sockets', async () => {
      await boot();
      await synced();
      if (adapter!.execution) await adapter!.execution.start(() => {});
      await adapter!.marketData.stop();
      await adapter!.execution?.stop();
      expect(adapter!.pendingTimers()).toBe(0);
      await waitUntil(() => venue!.connectionCount() === 0, 'the venue sees no connection', W);
      const n = sink.events.length;
      venue!.step(sym, 5);
      await new Promise((r) => setTimeout(r, 50));
      expect(sink.events.length).toBe(n);
    });

    describeMalformedInput({ frameHarness: opts.frameHarness, venue: opts.venue, boundMs: opts.hangBoundMs });
  });
}

function priceOf(v: ConformanceVenue, symbol: string, side: 'bid' | 'ask'): string {
  const t = v.truth(symbol, 1);
  const l = side === 'bid' ? t.bids[0] : t.asks[0];
  if (!l) throw new Error(`venue has no ${side} for ${symbol}`);
  return l[0];
}
