import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ManualClock } from '../contracts/clock.js';
import { lotsToQty, priceToTicks, qtyToLots } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { PolledExecutionClient, type OrderRef, type PolledOrderDriver, type VenueFill, type VenueOrderView } from './polled-execution.js';
import { I, MemoryStream } from './polled-execution.fixture.js';

/**
 * The polled execution client against a model venue, over any interleaving of what a venue and
 * its private stream do: trades, venue-side cancels and expiries, our cancels (refused once the
 * order has ended), pushes of the whole order (Coinbase's running totals) or of each trade
 * (Kraken's executions: repeated, out of order, stale), a trade list that lags the order's state,
 * polls, and the client's own REST reads in between. Whatever the order of events, once the
 * client has polled after the venue went quiet its reports must be the venue's truth: every
 * trade exactly once at its price and size, cumulative quantities that add up, the order's end
 * once and after its trades, and nothing for an order still working.
 */
const FINAL = new Set(['filled', 'cancelled', 'expired', 'rejected']);

interface VenueOrder {
  view: VenueOrderView;
  fills: VenueFill[];
  /** fetchFills answers without the newest trade this many more times (the list lags the state). */
  lag: number;
}

/** The venue: orders and their trades, answering the driver's requests from that truth. */
class ModelVenue implements PolledOrderDriver {
  readonly orders = new Map<string, VenueOrder>();
  /** Cancels refused (the order had ended), by client id. */
  readonly refused = new Map<string, number>();
  private seq = 0;
  private trades = 0;
  ts = 1000;
  /** Client ids whose accepted order's answer cannot be read (the driver throws after the venue took it). */
  readonly unreadable = new Map<string, 'no-id' | 'parser'>();
  /** Venue orders whose next trade list also holds an entry that is not a trade (a broken venue), by kind. */
  readonly garbage = new Map<string, number>();
  private garbageSeq = 0;
  async connect(): Promise<void> {}
  close(): void {}
  private find(ref: OrderRef): VenueOrder | undefined {
    if (ref.venueOrderId) return this.orders.get(ref.venueOrderId);
    for (const o of this.orders.values()) if (o.view.clientOrderId === ref.clientOrderId) return o;
    return undefined;
  }
  async place(o: Readonly<Order>): Promise<string> {
    const id = `V${++this.seq}`;
    this.orders.set(id, { view: { venueOrderId: id, clientOrderId: o.clientOrderId, symbol: o.symbol, side: o.side, type: 'limit', price: '100.0', qty: lotsToQty(I, o.qty), filledQty: '0', state: 'open' }, fills: [], lag: 0 });
    // the order is working at the venue either way; only its answer is lost to us
    const how = this.unreadable.get(o.clientOrderId);
    if (how === 'no-id') throw new Error('venue: order/create answered without an order id');
    if (how === 'parser') throw new TypeError("Cannot read properties of null (reading 'order_id')");
    return id;
  }
  async cancel(o: Readonly<Order>): Promise<void> {
    const v = this.find(o);
    if (!v || FINAL.has(v.view.state)) {
      this.refused.set(o.clientOrderId, (this.refused.get(o.clientOrderId) ?? 0) + 1);
      throw new Error('unknown order');
    }
    v.view.state = 'cancelled';
  }
  /** Venue orders whose next read answers a view that is not one of the order (a broken venue), by kind. */
  readonly badView = new Map<string, number>();
  async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    const v = this.find(ref);
    if (!v) return undefined;
    const bad = this.badView.get(v.view.venueOrderId);
    if (bad !== undefined) {
      this.badView.delete(v.view.venueOrderId);
      const views: Partial<VenueOrderView>[] = [{ filledQty: '-0.01', state: 'cancelled' }, { filledQty: 'lots' }, { state: 'done' as 'open' }, { filledQty: '1000', state: 'filled' }];
      return { ...v.view, ...views[bad % views.length] };
    }
    return { ...v.view };
  }
  async fetchFills(view: VenueOrderView): Promise<VenueFill[]> {
    const v = this.orders.get(view.venueOrderId)!;
    const g = this.garbage.get(view.venueOrderId);
    if (g !== undefined) {
      this.garbage.delete(view.venueOrderId);
      const bad: Partial<VenueFill>[] = [{ price: '0.0' }, { qty: '-0.01' }, { qty: '0' }, { price: '1e2' }, { qty: 'lots' }, { fee: 'free' }, { tradeId: '' }];
      const junk = { tradeId: `G${++this.garbageSeq}`, venueOrderId: view.venueOrderId, symbol: view.symbol, price: '100.0', qty: '0.01', fee: '0.01', feeAsset: 'USD', liquidity: 'maker' as const, ts: ++this.ts, ...bad[g % bad.length] };
      return [junk, ...v.fills.map((f) => ({ ...f }))];
    }
    if (v.lag > 0 && v.fills.length > 0) {
      v.lag--;
      return v.fills.slice(0, -1).map((f) => ({ ...f }));
    }
    return v.fills.map((f) => ({ ...f }));
  }
  async fetchOpenOrders(symbols: readonly string[]): Promise<VenueOrderView[]> {
    return [...this.orders.values()].filter((v) => symbols.includes(v.view.symbol) && !FINAL.has(v.view.state)).map((v) => ({ ...v.view }));
  }
  async fetchFillsSince(symbols: readonly string[], sinceTs: number): Promise<VenueFill[]> {
    return [...this.orders.values()].flatMap((v) => v.fills).filter((f) => symbols.includes(f.symbol) && f.ts >= sinceTs);
  }
  /** Balances are not what this model is about. */
  fetchBalances = async () => [];
  mapError(err: unknown) {
    const text = String((err as Error)?.message ?? err);
    return { reason: /unknown order/.test(text) ? ('UNKNOWN_ORDER' as const) : ('VENUE_ERROR' as const), text, code: undefined, retryable: false };
  }
  /** The venue trades `lots` of a working order (at most what is left); false when none can. */
  trade(v: VenueOrder, lots: number, priceTicks: number): VenueFill | undefined {
    if (FINAL.has(v.view.state)) return undefined;
    const total = qtyToLots(I, v.view.qty);
    const done = qtyToLots(I, v.view.filledQty);
    const q = Math.min(lots, total - done);
    if (q <= 0) return undefined;
    const f: VenueFill = { tradeId: `T${++this.trades}`, venueOrderId: v.view.venueOrderId, symbol: v.view.symbol, price: `${Math.floor(priceTicks / 10)}.${priceTicks % 10}`, qty: lotsToQty(I, q), fee: '0.01', feeAsset: 'USD', liquidity: 'maker', ts: ++this.ts };
    v.fills.push(f);
    v.view.filledQty = lotsToQty(I, done + q);
    if (done + q === total) v.view.state = 'filled';
    return f;
  }
}

const settle = () => new Promise((r) => setImmediate(r));

type Step =
  | { t: 'submit'; qty: number; answer: 'ok' | 'no-id' | 'parser' }
  | { t: 'trade'; pick: number; lots: number; price: number }
  | { t: 'venueEnd'; pick: number; kind: 'cancelled' | 'expired' }
  | { t: 'cancel'; pick: number }
  | { t: 'push'; pick: number; which: number; stateOnly: boolean }
  | { t: 'lag'; pick: number }
  | { t: 'garbage'; pick: number; kind: number }
  | { t: 'badView'; pick: number; kind: number }
  | { t: 'poll'; wait: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('submit' as const), qty: fc.integer({ min: 1, max: 40 }), answer: fc.constantFrom('ok' as const, 'ok' as const, 'no-id' as const, 'parser' as const) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('trade' as const), pick: fc.nat(), lots: fc.integer({ min: 1, max: 25 }), price: fc.integer({ min: 990, max: 1010 }) }), weight: 5 },
  { arbitrary: fc.record({ t: fc.constant('venueEnd' as const), pick: fc.nat(), kind: fc.constantFrom('cancelled' as const, 'expired' as const) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('cancel' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('push' as const), pick: fc.nat(), which: fc.nat(), stateOnly: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constant('lag' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('garbage' as const), pick: fc.nat(), kind: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('badView' as const), pick: fc.nat(), kind: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('poll' as const), wait: fc.boolean() }), weight: 2 },
);

describe('PolledExecutionClient against a model venue (property)', () => {
  it("fails a reconciliation read whose trade list holds a fill that is not one, instead of booking it", async () => {
    const venue = new ModelVenue();
    const client = new PolledExecutionClient({
      exchange: 'v', clock: new ManualClock(1000), hasCredentials: true, driver: venue, orderLimit: { limit: 1000, intervalMs: 1000 }, pollIntervalMs: 3_600_000,
      unknownOrderGraceMs: 10_000, instrument: (s) => (s === 'BTC/USD' ? I : undefined), symbols: () => ['BTC/USD'],
    });
    await client.start(() => undefined);
    try {
      const o: Order = {
        exchange: 'v', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(I, '100.0'), qty: 10, tif: 'GTC', source: 't',
        clientOrderId: 'r1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
      };
      client.submit(o);
      await settle();
      const v = [...venue.orders.values()][0]!;
      venue.trade(v, 3, 1000);
      expect((await client.queryOrder(o))?.fills.map((f) => f.lastQty)).toEqual([3]);
      venue.garbage.set(v.view.venueOrderId, 1); // a fill of -0.01
      await expect(client.queryOrder(o)).rejects.toThrow(/holds a fill that is not one \(trade quantity "-0.01"/);
      expect(client.invalidFills).toBe(1);
    } finally {
      await client.stop();
    }
  });

  it('reports exactly the venue\'s trades, once each, and each order\'s end once after them, whatever the order of pushes, polls and cancels', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('none' as const, 'view' as const, 'execution' as const), fc.array(fc.tuple(step, fc.boolean()), { minLength: 1, maxLength: 60 }), async (style, steps) => {
        const venue = new ModelVenue();
        const stream = new MemoryStream();
        const client = new PolledExecutionClient({
          exchange: 'v', clock: new ManualClock(1000), hasCredentials: true, driver: venue, orderLimit: { limit: 1000, intervalMs: 1000 }, pollIntervalMs: 3_600_000,
          unknownOrderGraceMs: 10_000, instrument: (s) => (s === 'BTC/USD' ? I : undefined), symbols: () => ['BTC/USD'], stream: style === 'none' ? undefined : stream,
        });
        const reports: ExecutionReport[] = [];
        await client.start((r) => reports.push(r));
        const orders: Order[] = [];
        const venueOf = (o: Order) => [...venue.orders.values()].find((v) => v.view.clientOrderId === o.clientOrderId);
        /** Any venue order (pushes may be about ended ones), or only working ones. */
        const pickVenue = (pick: number, working = false) => {
          const list = [...venue.orders.values()].filter((v) => !working || !FINAL.has(v.view.state));
          return list.length === 0 ? undefined : list[pick % list.length];
        };
        try {
          for (const [s, flush] of steps) {
            if (s.t === 'submit') {
              const o: Order = {
                exchange: 'v', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(I, '100.0'), qty: s.qty, tif: 'GTC', source: 't',
                clientOrderId: `c${orders.length + 1}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
              };
              orders.push(o);
              if (s.answer !== 'ok') venue.unreadable.set(o.clientOrderId, s.answer);
              client.submit(o);
            } else if (s.t === 'trade') {
              const v = pickVenue(s.pick, true);
              if (v) venue.trade(v, s.lots, s.price);
            } else if (s.t === 'venueEnd') {
              const v = pickVenue(s.pick, true);
              if (v) v.view.state = s.kind;
            } else if (s.t === 'cancel') {
              if (orders.length === 0) continue;
              const o = orders[s.pick % orders.length]!;
              const v = venueOf(o);
              // the engine cancels what it believes working; the venue refuses a cancel for an ended order
              if (v) client.cancel({ ...o, venueOrderId: v.view.venueOrderId, status: 'pending_cancel' });
            } else if (s.t === 'push') {
              const v = pickVenue(s.pick);
              if (!v || style === 'none') continue;
              if (style === 'view') stream.sink.order({ ...v.view });
              else if (s.stateOnly || v.fills.length === 0) stream.sink.execution({ venueOrderId: v.view.venueOrderId, clientOrderId: v.view.clientOrderId, symbol: v.view.symbol, state: v.view.state, filledQty: v.view.filledQty });
              else {
                // any of its trades, the newest or an old one again, with the total as it was after it
                const k = s.which % v.fills.length;
                const after = v.fills.slice(0, k + 1).reduce((n, f) => n + qtyToLots(I, f.qty), 0);
                const last = k === v.fills.length - 1;
                stream.sink.execution({ venueOrderId: v.view.venueOrderId, clientOrderId: v.view.clientOrderId, symbol: v.view.symbol, state: last ? v.view.state : 'open', filledQty: lotsToQty(I, after), fill: { ...v.fills[k]! } });
              }
            } else if (s.t === 'lag') {
              const v = pickVenue(s.pick);
              if (v) v.lag = 1;
            } else if (s.t === 'garbage') {
              const v = pickVenue(s.pick);
              if (v) venue.garbage.set(v.view.venueOrderId, s.kind);
            } else if (s.t === 'badView') {
              const v = pickVenue(s.pick);
              if (v) venue.badView.set(v.view.venueOrderId, s.kind);
            } else if (s.wait) await stream.sink?.reconcile('test') ?? client.reconcile('test');
            else void client.reconcile('test');
            if (flush) await settle();
          }
          // the venue goes quiet: polls until the client has caught up (a lagging trade list answers in full the next time)
          for (let k = 0; k < 4; k++) {
            await settle();
            await client.reconcile('final');
          }
          await settle();
          for (const o of orders) {
            const v = venueOf(o);
            const mine = reports.filter((r) => r.clientOrderId === o.clientOrderId);
            expect(v, `${o.clientOrderId} reached the venue`).toBeDefined();
            const fills = mine.filter((r) => r.kind === 'fill');
            // every venue trade once, exactly, in the venue's order, cumulative quantities adding up
            expect(fills.map((f) => f.tradeId)).toEqual(v!.fills.map((f) => f.tradeId));
            expect(fills.map((f) => [f.lastPrice, f.lastQty])).toEqual(v!.fills.map((f) => [priceToTicks(I, f.price), qtyToLots(I, f.qty)]));
            let cum = 0;
            for (const f of fills) {
              cum += f.lastQty;
              expect(f.cumQty).toBe(cum);
              expect(f.leavesQty).toBe(o.qty - cum);
            }
            expect(mine.filter((r) => r.kind === 'ack')).toHaveLength(1);
            const ends = mine.filter((r) => r.kind === 'cancelled' || r.kind === 'expired' || (r.kind === 'rejected' && r.rejects !== 'request'));
            const state = v!.view.state;
            if (state === 'filled' || state === 'open') expect(ends).toEqual([]);
            else {
              expect(ends.map((e) => e.kind)).toEqual([state]);
              expect(ends[0]!.cumQty).toBe(cum);
              // the end comes after every trade
              expect(mine.indexOf(ends[0]!)).toBeGreaterThan(fills.length === 0 ? -1 : mine.indexOf(fills.at(-1)!));
            }
            if (state === 'open') expect(fills.at(-1)?.leavesQty ?? o.qty).toBeGreaterThan(0);
            // a refused cancel is a refused request, never the order's end
            const refusals = mine.filter((r) => r.kind === 'rejected' && r.rejects === 'request');
            expect(refusals).toHaveLength(venue.refused.get(o.clientOrderId) ?? 0);
          }
          // followed: exactly the orders still working at the venue
          expect(client.workingOrders).toBe([...venue.orders.values()].filter((v) => !FINAL.has(v.view.state)).length);
        } finally {
          await client.stop();
        }
      }),
      { numRuns: 300 },
    );
  });
});
