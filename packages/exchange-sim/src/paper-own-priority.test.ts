import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineInstrument, type ExecutionReport, type Order, type OrderType, type Side, type TimeInForce } from '@cwts/core';
import { L2Book } from '@cwts/core/microstructure';
import { PaperExchange, type PaperVenue } from './paper.js';

const BTC = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });

// asks 60000.00 x 100, 60000.50 x 200 ; bids 59999.00 x 300, 59998.00 x 1000 (lots)
const SNAPSHOT = {
  bids: [{ price: 5_999_900, qty: 300 }, { price: 5_999_800, qty: 1000 }],
  asks: [{ price: 6_000_000, qty: 100 }, { price: 6_000_050, qty: 200 }],
};

function setup(latencyMs = 5) {
  const book = new L2Book('sim', 'BTCUSDT');
  book.applySnapshot({ seq: 1, ...SNAPSHOT });
  const venue: PaperVenue = { exchange: 'sim', instrument: () => BTC, book: () => book, onLiquidityTaken: () => {} };
  const paper = new PaperExchange(venue, { latencyMs, makerFeeBps: '2', takerFeeBps: '5' });
  const reports: ExecutionReport[] = [];
  paper.setReportHandler((r) => reports.push(r));
  return { paper, reports, book };
}

let n = 0;
function order(side: Side, type: OrderType, qty: number, tif: TimeInForce, price?: number): Order {
  return {
    exchange: 'sim', symbol: 'BTCUSDT', side, type, qty, tif, source: 'test', ...(price !== undefined ? { price } : {}),
    clientOrderId: `o${++n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
  };
}

/** Rests `resting` (a passive limit), then sends `taker`; returns the taker's reports. */
function restThenSend(resting: Order, taker: Order) {
  const s = setup();
  s.paper.submit(resting, 0);
  s.paper.processDue(5);
  expect(s.reports.map((r) => r.kind)).toEqual(['ack']);
  s.paper.submit(taker, 6);
  s.paper.processDue(11);
  return { ...s, mine: s.reports.filter((r) => r.clientOrderId === taker.clientOrderId) };
}

const shape = (rs: ExecutionReport[]) => rs.map((r) => (r.kind === 'fill' ? `fill:${r.lastQty}@${r.lastPrice}` : r.rejectReason ? `${r.kind}:${r.rejectReason}` : r.kind));

describe('PaperExchange: a taker meets our own better-priced resting order before the venue levels behind it', () => {
  it('a market buy does not pay the venue ask 60000.00 while our own offer at 59999.50 rests: self-trade prevention cancels it (cancel newest)', () => {
    const sell = order('sell', 'limit', 100, 'GTC', 5_999_950);
    const { mine, paper, book } = restThenSend(sell, order('buy', 'market', 100, 'IOC'));
    expect(shape(mine)).toEqual(['ack', 'cancelled']);
    expect(mine[1]!.text).toMatch(/self-trade prevention: remainder 100 lots would trade against our own sell at 5999950/);
    // our offer was the liquidity: not NO_LIQUIDITY
    expect(mine[1]!.rejectReason).toBeUndefined();
    expect(paper.openOrders().map((o) => o.clientOrderId)).toEqual([sell.clientOrderId]);
    expect(book.qtyAt('ask', 6_000_000)).toBe(100);
  });

  it('a GTC buy limit above our own offer neither fills against the venue ask behind it nor rests crossed', () => {
    const sell = order('sell', 'limit', 100, 'GTC', 5_999_950);
    const { mine, paper } = restThenSend(sell, order('buy', 'limit', 100, 'GTC', 6_000_000));
    expect(shape(mine)).toEqual(['ack', 'cancelled']);
    expect(mine[1]!.text).toMatch(/self-trade prevention/);
    expect(paper.openOrders().map((o) => o.clientOrderId)).toEqual([sell.clientOrderId]);
  });

  it('price-ordered: venue levels better than our own order fill first; at our price (ours first at an equal price) the rest is cancelled', () => {
    const sell = order('sell', 'limit', 50, 'GTC', 6_000_050); // at the venue's second level
    const { mine, book } = restThenSend(sell, order('buy', 'market', 250, 'IOC'));
    expect(shape(mine)).toEqual(['ack', 'fill:100@6000000', 'cancelled']);
    expect(mine[2]).toMatchObject({ cumQty: 100, leavesQty: 0 });
    expect(mine[2]!.text).toMatch(/remainder 150 lots .* our own sell at 6000050/);
    expect(book.qtyAt('ask', 6_000_050)).toBe(200);
  });

  it('the same on the bid side: a sell limit below our own bid at the venue best bid takes nothing', () => {
    const buy = order('buy', 'limit', 100, 'GTC', 5_999_900);
    const { mine } = restThenSend(buy, order('sell', 'limit', 100, 'IOC', 5_999_800));
    expect(shape(mine)).toEqual(['ack', 'cancelled']);
    expect(mine[1]!.text).toMatch(/our own buy at 5999900/);
  });

  it('an order whose limit stops before our own order trades as before', () => {
    const sell = order('sell', 'limit', 100, 'GTC', 6_000_050);
    const { mine, paper } = restThenSend(sell, order('buy', 'limit', 150, 'IOC', 6_000_000));
    expect(shape(mine)).toEqual(['ack', 'fill:100@6000000', 'cancelled']);
    expect(mine[2]!.text).toMatch(/IOC remainder 50 lots cancelled/);
    expect(paper.openOrders()).toHaveLength(1);
  });

  it('FOK counts only the venue liquidity before our own order (no ack, book untouched); within it, it fills', () => {
    const sell = order('sell', 'limit', 100, 'GTC', 6_000_050);
    const big = restThenSend(sell, order('buy', 'market', 150, 'FOK'));
    expect(shape(big.mine)).toEqual(['rejected:FOK_UNFILLABLE']);
    expect(big.mine[0]!.text).toMatch(/only 100 of 150 lots available before our own sell at 6000050/);
    expect(big.book.qtyAt('ask', 6_000_000)).toBe(100);
    const fits = restThenSend(order('sell', 'limit', 100, 'GTC', 6_000_050), order('buy', 'limit', 100, 'FOK', 6_000_050));
    expect(shape(fits.mine)).toEqual(['ack', 'fill:100@6000000']);
  });

  it('any order flow: no taker fill at or behind our own opposite resting order, and our resting orders never cross', () => {
    type Step = { op: 'order'; side: Side; type: OrderType; tif: TimeInForce; qty: number; offset: number } | { op: 'refill' };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        op: fc.constant('order' as const),
        side: fc.constantFrom<Side>('buy', 'sell'),
        type: fc.constantFrom<OrderType>('limit', 'market'),
        tif: fc.constantFrom<TimeInForce>('GTC', 'IOC', 'FOK', 'POST_ONLY'),
        qty: fc.integer({ min: 1, max: 600 }),
        offset: fc.integer({ min: -4, max: 4 }),
      }),
      fc.constant({ op: 'refill' as const }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 40 }), (steps) => {
        const { book, paper, reports } = setup(0);
        let ts = 0;
        for (const s of steps) {
          ts += 1;
          if (s.op === 'refill') {
            book.applySnapshot({ seq: ts + 1, ...SNAPSHOT });
            paper.onBookChange('BTCUSDT', ts);
            continue;
          }
          // limits 0.50 apart around the spread, inside it included
          const o = order(s.side, s.type, s.qty, s.tif, s.type === 'limit' ? 5_999_950 + s.offset * 50 : undefined);
          const before = paper.openOrders();
          const from = reports.length;
          paper.submit(o, ts);
          paper.processDue(ts);
          for (const f of reports.slice(from)) {
            if (f.kind !== 'fill' || f.liquidity !== 'taker') continue;
            const blocking = before.filter((r) => r.side !== f.side && (f.side === 'buy' ? r.price! <= f.lastPrice : r.price! >= f.lastPrice));
            expect(blocking).toEqual([]);
          }
          const open = paper.openOrders();
          const bids = open.filter((r) => r.side === 'buy').map((r) => r.price!);
          const asks = open.filter((r) => r.side === 'sell').map((r) => r.price!);
          if (bids.length > 0 && asks.length > 0) expect(Math.max(...bids)).toBeLessThan(Math.min(...asks));
        }
      }),
      { numRuns: 300 },
    );
  });
});
