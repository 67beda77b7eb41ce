import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineInstrument, type BookLevel, type ExecutionReport, type Order, type OrderStatusReport, type OrderType, type Side, type TimeInForce } from '@cwts/core';
import { L2Book } from '@cwts/core/microstructure';
import { feeAtoms, PaperExchange, type PaperVenue } from './paper.js';

// BTCUSDT: tick 0.01, lot 0.00001 -> one quote atom is 10^-7 USDT
const BTC = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });

function setup(latencyMs = 5) {
  const book = new L2Book('sim', 'BTCUSDT');
  // asks 60000.00 x 0.001, 60000.50 x 0.002, 60001.00 x 0.005 ; bids 59999.00 x 0.003, 59998.00 x 0.01
  book.applySnapshot({
    seq: 1,
    bids: [{ price: 5_999_900, qty: 300 }, { price: 5_999_800, qty: 1000 }],
    asks: [{ price: 6_000_000, qty: 100 }, { price: 6_000_050, qty: 200 }, { price: 6_000_100, qty: 500 }],
  });
  const taken: { bids: BookLevel[]; asks: BookLevel[] }[] = [];
  const venue: PaperVenue = {
    exchange: 'sim',
    instrument: (s) => (s === 'BTCUSDT' ? BTC : undefined),
    book: (s) => (s === 'BTCUSDT' ? book : undefined),
    onLiquidityTaken: (_s, _ts, bids, asks) => taken.push({ bids, asks }),
  };
  const paper = new PaperExchange(venue, { latencyMs, makerFeeBps: '2', takerFeeBps: '5' });
  const reports: ExecutionReport[] = [];
  paper.setReportHandler((r) => reports.push(r));
  return { book, paper, reports, taken };
}

let n = 0;
function order(side: Side, type: OrderType, qty: number, tif: TimeInForce, price?: number): Order {
  return {
    exchange: 'sim', symbol: 'BTCUSDT', side, type, qty, tif, source: 'test', ...(price !== undefined ? { price } : {}),
    clientOrderId: `c${++n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
  };
}

describe('fees', () => {
  it('computes fees in quote atoms, rounded up', () => {
    // 60000.01 USDT x 0.00003 BTC = 1.8000003 USDT = 18,000,003 atoms; 5 bps = 9000.0015 -> 9001
    expect(feeAtoms(BTC, 6_000_001, 3, '5')).toBe(9001n);
    // exact: 60000 x 0.001 = 60 USDT = 600,000,000 atoms; 2 bps = 120,000
    expect(feeAtoms(BTC, 6_000_000, 100, '2')).toBe(120_000n);
    // fractional bps: 0.75 bps of 600,000,000 = 45,000
    expect(feeAtoms(BTC, 6_000_000, 100, '0.75')).toBe(45_000n);
    // a rebate rounds toward +infinity too: -0.5 bps of 18,000,003 = -900.00015 -> -900
    expect(feeAtoms(BTC, 6_000_001, 3, '-0.5')).toBe(-900n);
  });
});

describe('PaperExchange', () => {
  it('nothing happens before the latency has elapsed', () => {
    const { paper, reports } = setup(5);
    paper.submit(order('buy', 'market', 50, 'IOC'), 1000);
    expect(paper.nextDue()).toBe(1005);
    paper.processDue(1004);
    expect(reports).toEqual([]);
    paper.processDue(1005);
    expect(reports.map((r) => [r.kind, r.ts])).toEqual([['ack', 1005], ['fill', 1005]]);
  });

  it('a market order sweeps levels with taker fees and removes the liquidity it took', () => {
    const { paper, reports, book, taken } = setup();
    const o = order('buy', 'market', 250, 'GTC');
    paper.submit(o, 0);
    paper.processDue(10);
    expect(reports.map((r) => r.kind)).toEqual(['ack', 'fill', 'fill']);
    const [ack, f1, f2] = reports as [ExecutionReport, ExecutionReport, ExecutionReport];
    expect(ack).toMatchObject({ clientOrderId: o.clientOrderId, leavesQty: 250, cumQty: 0 });
    expect(ack.venueOrderId).toBeDefined();
    // level 1: 60000.00 x 0.001 = 60 USDT -> 600,000,000 atoms x 5 bps = 300,000
    expect(f1).toMatchObject({ lastPrice: 6_000_000, lastQty: 100, leavesQty: 150, cumQty: 100, feeAtoms: 300_000n, liquidity: 'taker', side: 'buy' });
    // level 2: 60000.50 x 0.0015 = 90.00075 USDT = 900,007,500 atoms x 5 bps = 450,003.75 -> 450,004
    expect(f2).toMatchObject({ lastPrice: 6_000_050, lastQty: 150, leavesQty: 0, cumQty: 250, feeAtoms: 450_004n, liquidity: 'taker' });
    expect(f1.tradeId).not.toBe(f2.tradeId);
    expect(book.qtyAt('ask', 6_000_000)).toBe(0);
    expect(book.qtyAt('ask', 6_000_050)).toBe(50);
    expect(book.bestAsk()).toBe(6_000_050);
    expect(taken).toEqual([{ bids: [], asks: [{ price: 6_000_000, qty: 0 }, { price: 6_000_050, qty: 50 }] }]);
  });

  it('a market order larger than the book fills what exists and cancels the rest', () => {
    const { paper, reports, book } = setup();
    paper.submit(order('sell', 'market', 2000, 'IOC'), 0);
    paper.processDue(5);
    expect(reports.map((r) => r.kind)).toEqual(['ack', 'fill', 'fill', 'cancelled']);
    expect(reports[3]).toMatchObject({ leavesQty: 0, cumQty: 1300 });
    expect(book.levelCount('bid')).toBe(0);
    paper.submit(order('sell', 'market', 10, 'IOC'), 10);
    paper.processDue(20);
    expect(reports.slice(4).map((r) => [r.kind, r.rejectReason])).toEqual([['ack', undefined], ['cancelled', 'NO_LIQUIDITY']]);
  });

  it('FOK is all or nothing', () => {
    const { paper, reports, book } = setup();
    paper.submit(order('buy', 'limit', 400, 'FOK', 6_000_050), 0); // only 300 lots at or below the limit
    paper.processDue(5);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'rejected', rejectReason: 'FOK_UNFILLABLE', cumQty: 0 });
    expect(book.qtyAt('ask', 6_000_000)).toBe(100);
    paper.submit(order('buy', 'limit', 300, 'FOK', 6_000_050), 10);
    paper.processDue(15);
    expect(reports.slice(1).map((r) => [r.kind, r.lastQty, r.leavesQty])).toEqual([['ack', 0, 300], ['fill', 100, 200], ['fill', 200, 0]]);
    expect(book.bestAsk()).toBe(6_000_100);
  });

  it('POST_ONLY rests when passive and is rejected when it would cross', () => {
    const { paper, reports } = setup();
    paper.submit(order('buy', 'limit', 100, 'POST_ONLY', 6_000_000), 0);
    paper.submit(order('buy', 'limit', 100, 'POST_ONLY', 5_999_950), 0);
    paper.processDue(5);
    expect(reports.map((r) => [r.kind, r.rejectReason])).toEqual([['rejected', 'POST_ONLY_WOULD_CROSS'], ['ack', undefined]]);
    expect(paper.openOrders().map((o) => o.price)).toEqual([5_999_950]);
  });

  it('IOC limit takes what is within the limit and cancels the remainder', () => {
    const { paper, reports } = setup();
    paper.submit(order('buy', 'limit', 150, 'IOC', 6_000_000), 0);
    paper.processDue(5);
    expect(reports.map((r) => [r.kind, r.lastQty, r.cumQty])).toEqual([['ack', 0, 0], ['fill', 100, 100], ['cancelled', 0, 100]]);
    expect(paper.openOrders()).toEqual([]);
  });

  it('a resting GTC limit fills as maker when trades go through it or the book crosses it', () => {
    const { paper, reports, book } = setup();
    const o = order('buy', 'limit', 300, 'GTC', 5_999_950);
    paper.submit(o, 0);
    paper.processDue(5);
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    const open = paper.openOrders();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ clientOrderId: o.clientOrderId, status: 'open', filledQty: 0 });
    // a sell printing at our price does not go through it; a buy never fills a buy
    paper.onTrade({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: 6, recvTs: 6, tradeId: 't1', price: 5_999_950, qty: 50, side: 'sell' });
    paper.onTrade({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: 6, recvTs: 6, tradeId: 't2', price: 5_999_900, qty: 50, side: 'buy' });
    expect(reports).toHaveLength(1);
    // a sell printing below it fills up to the trade's size, at our price, maker fee
    paper.onTrade({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: 7, recvTs: 7, tradeId: 't3', price: 5_999_900, qty: 120, side: 'sell' });
    // 59999.50 x 0.0012 = 71.9994 USDT = 719,994,000 atoms x 2 bps = 143,998.8 -> 143,999
    expect(reports[1]).toMatchObject({ kind: 'fill', lastPrice: 5_999_950, lastQty: 120, leavesQty: 180, cumQty: 120, liquidity: 'maker', feeAtoms: 143_999n, ts: 7 });
    expect(paper.openOrders()[0]).toMatchObject({ status: 'partially_filled', filledQty: 120, filledNotionalTicksLots: 5_999_950n * 120n, feeAtoms: 143_999n });
    // an offer coming down through our bid fills it at our price, as far as the offer goes
    // (10 lots, not the 180 left), and that offer is gone from the venue book: it traded with us
    book.applyLevels([], [{ price: 5_999_940, qty: 10 }]);
    paper.onBookChange('BTCUSDT', 9);
    expect(reports[2]).toMatchObject({ kind: 'fill', lastPrice: 5_999_950, lastQty: 10, leavesQty: 170, cumQty: 130, liquidity: 'maker', ts: 9 });
    expect(book.qtyAt('ask', 5_999_940)).toBe(0);
    expect(book.bestAsk()).toBe(6_000_000);
    // a larger offer at our price fills the rest and keeps what we did not take
    book.applyLevels([], [{ price: 5_999_950, qty: 500 }]);
    paper.onBookChange('BTCUSDT', 10);
    expect(reports[3]).toMatchObject({ kind: 'fill', lastPrice: 5_999_950, lastQty: 170, leavesQty: 0, cumQty: 300, liquidity: 'maker', ts: 10 });
    expect(book.qtyAt('ask', 5_999_950)).toBe(330);
    expect(paper.openOrders()).toEqual([]);
  });

  it('resting orders live in a matching engine: price-time priority among our orders on a trade-through', () => {
    const { paper, reports } = setup();
    const a = order('buy', 'limit', 100, 'GTC', 5_999_950);
    const b = order('buy', 'limit', 100, 'GTC', 5_999_920);
    const c = order('buy', 'limit', 50, 'GTC', 5_999_950);
    paper.submit(a, 0);
    paper.submit(b, 0);
    paper.submit(c, 0);
    paper.processDue(5);
    expect(reports.map((r) => r.kind)).toEqual(['ack', 'ack', 'ack']);
    paper.onTrade({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: 6, recvTs: 6, tradeId: 't1', price: 5_999_910, qty: 180, side: 'sell' });
    expect(reports.slice(3).map((r) => [r.clientOrderId, r.lastPrice, r.lastQty, r.liquidity])).toEqual([
      [a.clientOrderId, 5_999_950, 100, 'maker'],
      [c.clientOrderId, 5_999_950, 50, 'maker'],
      [b.clientOrderId, 5_999_920, 30, 'maker'],
    ]);
    expect(paper.openOrders().map((o) => [o.clientOrderId, o.filledQty])).toEqual([[b.clientOrderId, 30]]);
    expect(paper.hasResting('BTCUSDT')).toBe(true);
  });

  it('a trade printed before a resting order reached the venue does not fill it; older orders fill, and the later one keeps its priority', () => {
    const { paper, reports } = setup();
    const early = order('buy', 'limit', 100, 'GTC', 5_999_950);
    const late = order('buy', 'limit', 100, 'GTC', 5_999_960); // the better price: first to fill if it had been there
    const later = order('buy', 'limit', 100, 'GTC', 5_999_950);
    paper.submit(early, 0); // arrives at 5
    paper.submit(late, 10); // arrives at 15
    paper.submit(later, 10); // arrives at 15, behind `late`
    paper.processDue(15);
    expect(reports.map((r) => [r.clientOrderId, r.kind, r.ts])).toEqual([[early.clientOrderId, 'ack', 5], [late.clientOrderId, 'ack', 15], [later.clientOrderId, 'ack', 15]]);
    // a sell that printed at 12 (delivered late: venues stamp trades before the update that came first)
    paper.onTrade({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: 12, recvTs: 16, tradeId: 't1', price: 5_999_900, qty: 250, side: 'sell' });
    expect(reports.slice(3).map((r) => [r.clientOrderId, r.lastPrice, r.lastQty])).toEqual([[early.clientOrderId, 5_999_950, 100]]);
    // a trade at 15 fills both, `late` first (better price), then `later` (same price as early, behind it in time)
    paper.onTrade({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: 15, recvTs: 17, tradeId: 't2', price: 5_999_900, qty: 150, side: 'sell' });
    expect(reports.slice(4).map((r) => [r.clientOrderId, r.lastPrice, r.lastQty])).toEqual([[late.clientOrderId, 5_999_960, 100], [later.clientOrderId, 5_999_950, 50]]);
    expect(paper.openOrders().map((o) => [o.clientOrderId, o.filledQty])).toEqual([[later.clientOrderId, 50]]);
  });

  it('a book change stamped before a resting order reached the venue does not fill it; older orders fill, and a later change fills it', () => {
    const { paper, reports, book } = setup();
    const early = order('buy', 'limit', 100, 'GTC', 5_999_950);
    const late = order('buy', 'limit', 100, 'GTC', 5_999_960); // the better price: first to fill if it had been there
    paper.submit(early, 0); // arrives at 5
    paper.submit(late, 10); // arrives at 15
    paper.processDue(15);
    // an offer through both bids, in a venue update stamped 12 but delivered after `late` arrived
    book.applyLevels([], [{ price: 5_999_940, qty: 150 }]);
    paper.onBookChange('BTCUSDT', 12);
    expect(reports.slice(2).map((r) => [r.clientOrderId, r.ts, r.lastPrice, r.lastQty])).toEqual([[early.clientOrderId, 12, 5_999_950, 100]]);
    expect(book.qtyAt('ask', 5_999_940)).toBe(50);
    // the next change (at `late`'s arrival) still shows what is left of the offer: `late` takes it
    paper.onBookChange('BTCUSDT', 15);
    expect(reports.slice(3).map((r) => [r.clientOrderId, r.ts, r.lastPrice, r.lastQty, r.leavesQty])).toEqual([[late.clientOrderId, 15, 5_999_960, 50, 50]]);
    expect(paper.openOrders().map((o) => [o.clientOrderId, o.filledQty])).toEqual([[late.clientOrderId, 50]]);
  });

  it('an offer reaching a resting bid fills it only as far as the offer goes, and leaves the venue book', () => {
    const { paper, reports, book, taken } = setup();
    const bid = order('buy', 'limit', 1000, 'GTC', 5_999_950);
    paper.submit(bid, 0);
    paper.processDue(5);
    // 1 lot offered at our price, 2 more below it: 3 lots trade with our bid, not 1000
    book.applyLevels([], [{ price: 5_999_950, qty: 1 }, { price: 5_999_930, qty: 2 }]);
    paper.onBookChange('BTCUSDT', 6);
    expect(reports.slice(1).map((r) => [r.kind, r.lastPrice, r.lastQty, r.leavesQty, r.liquidity])).toEqual([
      ['fill', 5_999_950, 2, 998, 'maker'],
      ['fill', 5_999_950, 1, 997, 'maker'],
    ]);
    expect([book.qtyAt('ask', 5_999_930), book.qtyAt('ask', 5_999_950), book.bestAsk()]).toEqual([0, 0, 6_000_000]);
    expect(taken).toEqual([{ bids: [], asks: [{ price: 5_999_930, qty: 0 }, { price: 5_999_950, qty: 0 }] }]);
    // the next book change finds nothing to take: the lots are not taken twice
    paper.onBookChange('BTCUSDT', 7);
    expect(reports).toHaveLength(3);
    // a market buy pays the next offer
    paper.submit(order('buy', 'market', 100, 'IOC'), 7);
    paper.processDue(12);
    expect(reports.slice(3).map((r) => [r.kind, r.lastPrice, r.lastQty])).toEqual([['ack', 0, 0], ['fill', 6_000_000, 100]]);
  });

  it('our own orders never trade with each other: a crossing GTC remainder is cancelled, a crossing POST_ONLY rejected', () => {
    const { paper, reports } = setup();
    paper.submit(order('sell', 'limit', 100, 'GTC', 6_000_020), 0); // rests inside the spread
    paper.submit(order('buy', 'limit', 150, 'GTC', 6_000_030), 0); // takes the venue's 100 at 6_000_000, rest would cross our sell
    paper.submit(order('buy', 'limit', 10, 'POST_ONLY', 6_000_020), 0); // passive for the venue, crosses our sell
    paper.processDue(5);
    expect(reports.map((r) => [r.kind, r.lastQty, r.cumQty, r.rejectReason])).toEqual([
      ['ack', 0, 0, undefined],
      ['ack', 0, 0, undefined],
      ['fill', 100, 100, undefined],
      ['cancelled', 0, 100, undefined],
      ['rejected', 0, 0, 'POST_ONLY_WOULD_CROSS'],
    ]);
    expect(reports[3]!.text).toMatch(/self-trade/);
    expect(paper.openOrders().map((o) => o.price)).toEqual([6_000_020]);
  });

  it('a market FOK is all or nothing over the whole book', () => {
    const { paper, reports, book } = setup();
    paper.submit(order('buy', 'market', 900, 'FOK'), 0);
    paper.processDue(5);
    expect(reports.map((r) => [r.kind, r.rejectReason])).toEqual([['rejected', 'FOK_UNFILLABLE']]);
    expect(book.levelCount('ask')).toBe(3);
    paper.submit(order('buy', 'market', 800, 'FOK'), 10);
    paper.processDue(15);
    expect(reports.slice(1).map((r) => [r.kind, r.lastQty, r.leavesQty])).toEqual([['ack', 0, 800], ['fill', 100, 700], ['fill', 200, 500], ['fill', 500, 0]]);
    expect(book.levelCount('ask')).toBe(0);
  });

  it('cancels working orders; cancelling an unknown or finished order is a rejected report, never a throw', () => {
    const { paper, reports } = setup();
    const rest = order('sell', 'limit', 100, 'GTC', 6_000_500);
    paper.submit(rest, 0);
    paper.cancel(rest, 1);
    paper.cancel(order('buy', 'limit', 1, 'GTC', 1), 1);
    paper.processDue(10);
    expect(reports.map((r) => [r.kind, r.clientOrderId === rest.clientOrderId, r.rejectReason])).toEqual([
      ['ack', true, undefined],
      ['cancelled', true, undefined],
      ['rejected', false, 'UNKNOWN_ORDER'],
    ]);
    paper.cancel(rest, 20);
    expect(() => paper.processDue(30)).not.toThrow();
    expect(reports[3]).toMatchObject({ kind: 'rejected', rejectReason: 'UNKNOWN_ORDER', clientOrderId: rest.clientOrderId });
  });

  it('rejects invalid, duplicate and too-small orders', () => {
    const { paper, reports } = setup();
    const a = order('sell', 'limit', 100, 'GTC', 6_000_500);
    paper.submit(a, 0);
    paper.submit(a, 0);
    paper.submit(order('buy', 'limit', 0, 'GTC', 5_000_000), 0);
    paper.submit(order('buy', 'limit', 1, 'GTC', 5_000_000), 0); // 50000 x 0.00001 = 0.5 USDT < 5
    paper.submit({ ...order('buy', 'market', 1, 'IOC'), symbol: 'NOPE' }, 0);
    paper.submit(order('buy', 'market', 10, 'POST_ONLY'), 0);
    paper.processDue(10);
    expect(reports.map((r) => r.rejectReason ?? r.kind)).toEqual(['ack', 'DUPLICATE_ORDER', 'INVALID_ORDER', 'MIN_NOTIONAL', 'INVALID_ORDER', 'INVALID_ORDER']);
  });

  it('keeps the min-notional rule when the minimum in quote atoms passes 2^53 (tick 1e-7, lot 1e-8, 10 USDT: 1e16 atoms), and takes an order above it', () => {
    const TOK = defineInstrument({ exchange: 'sim', symbol: 'TOKUSDT', base: 'TOK', quote: 'USDT', tickSize: '0.0000001', lotSize: '0.00000001', minNotional: '10' });
    const book = new L2Book('sim', 'TOKUSDT');
    book.applySnapshot({ seq: 1, bids: [{ price: 9_000_000, qty: 1e10 }], asks: [{ price: 10_000_000, qty: 1e10 }] }); // 0.9 / 1.0 USDT
    const venue: PaperVenue = { exchange: 'sim', instrument: () => TOK, book: () => book, onLiquidityTaken: () => {} };
    const paper = new PaperExchange(venue, { latencyMs: 1, makerFeeBps: '0', takerFeeBps: '0' });
    const reports: ExecutionReport[] = [];
    paper.setReportHandler((r) => reports.push(r));
    const tok = (qty: number): Order => ({ ...order('buy', 'market', qty, 'IOC'), symbol: 'TOKUSDT' });
    paper.submit(tok(1), 0); // 1e-8 TOK at 1.0 USDT: far below 10 USDT
    paper.submit(tok(999_999_999), 0); // 9.99999999 USDT: one lot short
    paper.submit(tok(1_000_000_000), 0); // 10 TOK: 10 USDT
    paper.processDue(10);
    expect(reports.map((r) => r.rejectReason ?? r.kind)).toEqual(['MIN_NOTIONAL', 'MIN_NOTIONAL', 'ack', 'fill']);
  });

  it('any order flow, ids used again included: the scratch engine is emptied by id after every order, and the venue answers queries with the reports it sent', () => {
    type Step =
      | { op: 'order'; side: Side; type: OrderType; tif: TimeInForce; qty: number; offset: number; reuse: number | undefined }
      | { op: 'cancel'; pick: number }
      | { op: 'trade'; side: Side; offset: number; qty: number }
      | { op: 'refill' };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        op: fc.constant('order' as const),
        side: fc.constantFrom<Side>('buy', 'sell'),
        type: fc.constantFrom<OrderType>('limit', 'market'),
        tif: fc.constantFrom<TimeInForce>('GTC', 'IOC', 'FOK', 'POST_ONLY'),
        qty: fc.integer({ min: 1, max: 1500 }),
        offset: fc.integer({ min: -300, max: 300 }),
        // half the orders take the id of an earlier one (refused as a duplicate while it works)
        reuse: fc.option(fc.nat(), { nil: undefined, freq: 2 }),
      }),
      fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('trade' as const), side: fc.constantFrom<Side>('buy', 'sell'), offset: fc.integer({ min: -300, max: 300 }), qty: fc.integer({ min: 1, max: 800 }) }),
      fc.constant({ op: 'refill' as const }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60, size: 'max' }), (steps) => {
        const { book, paper, reports } = setup(0);
        const internals = paper as unknown as { scratch: { orderCount: number }; scratchSweeps: number };
        const sent: Order[] = [];
        let ts = 0;
        for (const s of steps) {
          ts += 1;
          if (s.op === 'order') {
            const o = order(s.side, s.type, s.qty, s.tif, s.type === 'limit' ? 6_000_000 + s.offset * 50 : undefined);
            if (s.reuse !== undefined && sent.length > 0) o.clientOrderId = sent[s.reuse % sent.length]!.clientOrderId;
            sent.push(o);
            paper.submit(o, ts);
          } else if (s.op === 'cancel' && sent.length > 0) paper.cancel(sent[s.pick % sent.length]!, ts);
          else if (s.op === 'trade') paper.onTrade({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', price: 6_000_000 + s.offset * 50, qty: s.qty, side: s.side, ts, tradeId: `m${ts}` } as never);
          else if (s.op === 'refill') {
            book.applySnapshot({ seq: ts + 1, bids: [{ price: 5_999_900, qty: 300 }, { price: 5_999_800, qty: 1000 }], asks: [{ price: 6_000_000, qty: 100 }, { price: 6_000_050, qty: 200 }] });
            paper.onBookChange('BTCUSDT', ts);
          }
          paper.processDue(ts);
          expect(internals.scratch.orderCount).toBe(0);
        }
        expect(internals.scratchSweeps).toBe(0);
        const fills = reports.filter((r) => r.kind === 'fill');
        for (const id of new Set(sent.map((o) => o.clientOrderId))) {
          // the id names the last order that arrived under it: its ack, or its rejection
          const all = reports.filter((r) => r.clientOrderId === id);
          const start = all.findLastIndex((r) => r.kind === 'ack' || (r.kind === 'rejected' && r.rejects === 'order'));
          const q = paper.queryOrder(id);
          if (start < 0) {
            expect(q).toBeUndefined();
            continue;
          }
          const mine = all.slice(start);
          const myFills = mine.filter((r) => r.kind === 'fill');
          let status: OrderStatusReport['status'] = mine[0]!.kind === 'rejected' ? 'rejected' : 'open';
          for (const r of mine) {
            if (r.kind === 'fill') status = r.leavesQty === 0 ? 'filled' : 'partially_filled';
            else if (r.kind === 'cancelled' && status !== 'filled') status = 'cancelled';
          }
          expect(q!.fills).toStrictEqual(myFills);
          expect(q!.filledQty).toBe(myFills.at(-1)?.cumQty ?? 0);
          expect(q!.status).toBe(status);
          expect(q!.venueOrderId).toBe(mine.findLast((r) => r.venueOrderId !== undefined)?.venueOrderId);
        }
        expect(paper.fillsSince(['BTCUSDT'], 0)).toStrictEqual(fills.slice().sort((a, b) => a.ts - b.ts));
      }),
      { numRuns: 300 },
    );
  });
});

describe('PaperExchange: a clientOrderId used again after its order ended', () => {
  const withId = (o: Order, clientOrderId: string): Order => ({ ...o, clientOrderId });

  it('queryOrder describes the order now working under the id, not the rejected one that used it before', () => {
    const { paper, reports } = setup(0);
    paper.submit(withId(order('buy', 'limit', 1, 'GTC', 5_000_000), 'retry-1'), 0); // 0.5 USDT: MIN_NOTIONAL
    paper.processDue(0);
    expect(reports.at(-1)!.rejectReason).toBe('MIN_NOTIONAL');
    expect(paper.queryOrder('retry-1')).toMatchObject({ status: 'rejected' });
    // nothing works under the id: the venue takes the corrected order (as Binance does)
    paper.submit(withId(order('buy', 'limit', 100, 'GTC', 5_000_000), 'retry-1'), 1); // 50 USDT, rests below the book
    paper.processDue(1);
    const ack = reports.at(-1)!;
    expect(ack.kind).toBe('ack');
    expect(paper.openOrders().map((o) => o.clientOrderId)).toEqual(['retry-1']);
    // what reconciliation after a restart asks: the venue holds it open
    expect(paper.queryOrder('retry-1')).toStrictEqual({ clientOrderId: 'retry-1', venueOrderId: ack.venueOrderId, status: 'open', filledQty: 0, fills: [] });
  });

  it('queryOrder of an id used again after a fill reports only the new order; fillsSince keeps each fill with its own order', () => {
    const { paper, reports } = setup(0);
    paper.submit(withId(order('buy', 'limit', 100, 'GTC', 6_000_000), 'x'), 0); // takes the 100 lots at 6_000_000: filled
    paper.processDue(0);
    const [firstAck, firstFill] = reports;
    expect(paper.queryOrder('x')).toMatchObject({ status: 'filled', filledQty: 100 });

    paper.submit(withId(order('buy', 'limit', 100, 'GTC', 5_999_950), 'x'), 1); // a new order under the freed id, rests
    paper.processDue(1);
    const secondAck = reports.at(-1)!;
    expect(secondAck.kind).toBe('ack');
    expect(secondAck.venueOrderId).not.toBe(firstAck!.venueOrderId);
    expect(paper.openOrders().map((o) => o.clientOrderId)).toEqual(['x']);
    expect(paper.queryOrder('x')).toStrictEqual({ clientOrderId: 'x', venueOrderId: secondAck.venueOrderId, status: 'open', filledQty: 0, fills: [] });

    // while it works, the id is refused and the working order's description stays
    paper.submit(withId(order('buy', 'limit', 5, 'GTC', 5_000_000), 'x'), 2);
    paper.processDue(2);
    expect(reports.at(-1)).toMatchObject({ kind: 'rejected', rejectReason: 'DUPLICATE_ORDER', rejects: 'request' });
    expect(paper.queryOrder('x')).toMatchObject({ status: 'open', venueOrderId: secondAck.venueOrderId });

    // a sell printing through it fills the new order; the earlier fill stays the earlier order's
    paper.onTrade({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: 3, recvTs: 3, tradeId: 't1', price: 5_999_900, qty: 40, side: 'sell' });
    const secondFill = reports.at(-1)!;
    expect(paper.queryOrder('x')).toStrictEqual({ clientOrderId: 'x', venueOrderId: secondAck.venueOrderId, status: 'partially_filled', filledQty: 40, fills: [secondFill] });
    expect(paper.fillsSince(['BTCUSDT'], 0).map((f) => [f.venueOrderId, f.lastQty, f.cumQty])).toEqual([
      [firstAck!.venueOrderId, 100, 100],
      [secondAck.venueOrderId, 40, 40],
    ]);
    expect(paper.fillsSince(['BTCUSDT'], 0)[0]).toStrictEqual(firstFill);
  });
});

describe('PaperExchange: a venue book that is not synced', () => {
  it('refuses orders while the book is crossed or resyncing, and takes them once it is synced again', () => {
    const { paper, reports, book } = setup(0);
    // a replayed book keeps a stale bid (a dropped delete): bid 60002.00 >= ask 60000.00
    book.applyLevels([{ price: 6_000_200, qty: 500 }], []);
    book.endUpdate(0, 0);
    expect(book.state).toBe('crossed');
    paper.submit(order('buy', 'market', 100, 'IOC'), 1); // would fill at 60000.00 under a bid of 60002.00: phantom profit
    paper.submit(order('sell', 'limit', 100, 'GTC', 6_000_100), 1); // would fill against the stale bid
    paper.processDue(1);
    expect(reports.map((r) => [r.kind, r.rejectReason])).toEqual([['rejected', 'BOOK_NOT_SYNCED'], ['rejected', 'BOOK_NOT_SYNCED']]);
    expect(reports[0]!.text).toMatch(/crossed/);
    expect(book.levelCount('ask')).toBe(3); // nothing was taken
    expect(paper.openOrders()).toEqual([]);

    book.beginResync('sequence_gap', 'expected 2, got 5', 2);
    paper.submit(order('buy', 'market', 100, 'IOC'), 2);
    paper.processDue(2);
    expect(reports.at(-1)).toMatchObject({ kind: 'rejected', rejectReason: 'BOOK_NOT_SYNCED' });

    book.applySnapshot({ seq: 10, bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 100 }] });
    paper.submit(order('buy', 'market', 100, 'IOC'), 3);
    paper.processDue(3);
    expect(reports.slice(3).map((r) => [r.kind, r.lastPrice, r.lastQty])).toEqual([['ack', 0, 0], ['fill', 6_000_000, 100]]);
  });

  it('a resting order does not fill from a crossed book; it fills on the first change after which the book is synced', () => {
    const { paper, reports, book } = setup(0);
    const sell = order('sell', 'limit', 100, 'GTC', 6_000_150);
    const buy = order('buy', 'limit', 100, 'GTC', 5_999_950);
    paper.submit(sell, 0);
    paper.submit(buy, 0);
    paper.processDue(0);
    expect(reports.map((r) => r.kind)).toEqual(['ack', 'ack']);
    // a stale bid at 60002.00 crosses our sell at 60001.50, and the asks come down through our buy
    book.applyLevels([{ price: 6_000_200, qty: 500 }], [{ price: 5_999_940, qty: 50 }]);
    book.endUpdate(0, 1);
    expect(book.state).toBe('crossed');
    paper.onBookChange('BTCUSDT', 1);
    expect(reports).toHaveLength(2);
    // the resync snapshot: no such bid; the 50 lots offered at 59999.40 are real
    book.applySnapshot({ seq: 10, bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 5_999_940, qty: 50 }, { price: 6_000_000, qty: 100 }] });
    paper.onBookChange('BTCUSDT', 2);
    expect(reports.slice(2).map((r) => [r.clientOrderId, r.kind, r.lastPrice, r.lastQty, r.liquidity])).toEqual([[buy.clientOrderId, 'fill', 5_999_950, 50, 'maker']]);
    expect(paper.openOrders().map((o) => [o.clientOrderId, o.filledQty])).toEqual([[sell.clientOrderId, 0], [buy.clientOrderId, 50]]);
  });
});

describe('PaperExchange: a venue level at a non-positive price', () => {
  it('a market sell takes no bid at 0 ticks or below (no negative notional or fee)', () => {
    const { book, paper, reports } = setup(0);
    // levels the book's raw path took as given (a bad recorded level in a replay book)
    book.applyLevels([{ price: 0, qty: 400 }, { price: -10, qty: 400 }], []);
    book.endUpdate(0, 0);
    expect(book.synced).toBe(true);
    const sell = order('sell', 'market', 2000, 'IOC');
    paper.submit(sell, 1000);
    paper.processDue(1000);
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills.map((f) => [f.lastPrice, f.lastQty])).toEqual([[5_999_900, 300], [5_999_800, 1000]]);
    expect(fills.filter((f) => f.feeAtoms <= 0n)).toEqual([]);
    expect(reports.at(-1)).toMatchObject({ kind: 'cancelled', cumQty: 1300 });
    // the levels at 0 and -10 are still there: nothing took them
    expect(book.qtyAt('bid', 0)).toBe(400);
    expect(book.qtyAt('bid', -10)).toBe(400);
  });
});
