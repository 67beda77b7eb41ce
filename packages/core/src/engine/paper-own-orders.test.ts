import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderIntent } from '../domain/orders.js';
import { L2Book } from '../microstructure/l2-book.js';
import { PaperExecutionClient } from './paper-execution.js';

const I = defineInstrument({ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

function setup(bestAsk = 1003) {
  const book = new L2Book('binance', 'BTCUSDT');
  book.applySnapshot({ seq: 1, bids: [{ price: 1000, qty: 5 }, { price: 999, qty: 5 }], asks: [{ price: bestAsk, qty: 5 }, { price: bestAsk + 1, qty: 5 }] });
  const reports: ExecutionReport[] = [];
  const paper = new PaperExecutionClient('binance', () => book, () => I, new ManualClock(0), { latencyMs: 5, makerFeeBps: '2', takerFeeBps: '10' });
  void paper.start((r) => reports.push(r));
  let n = 0;
  const order = (i: Partial<OrderIntent>): Order => ({
    exchange: 'binance', symbol: 'BTCUSDT', side: 'buy', type: 'limit', qty: 1, tif: 'GTC', source: 't', ...i,
    clientOrderId: `cw-${++n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
  } as Order);
  /** Rests `resting`, then sends `taker`; returns the taker's reports. */
  const restThenSend = (resting: Order, taker: Order): ExecutionReport[] => {
    paper.submit(resting);
    vi.advanceTimersByTime(5);
    expect(reports.filter((r) => r.clientOrderId === resting.clientOrderId).map((r) => r.kind)).toEqual(['ack']);
    paper.submit(taker);
    vi.advanceTimersByTime(5);
    return reports.filter((r) => r.clientOrderId === taker.clientOrderId);
  };
  return { book, reports, paper, order, restThenSend };
}

const kinds = (rs: ExecutionReport[]) => rs.map((r) => r.kind + (r.kind === 'fill' ? `:${r.lastQty}@${r.lastPrice}` : r.rejectReason ? `:${r.rejectReason}` : ''));

describe('PaperExecutionClient: our own resting orders are part of the book a taker meets', () => {
  afterEach(() => vi.useRealTimers());

  it('a buy never pays the venue ask 1003 while our own offer at 1001 rests: self-trade prevention cancels it (cancel newest)', async () => {
    vi.useFakeTimers();
    const { order, restThenSend, paper } = setup();
    const sell = order({ side: 'sell', price: 1001, qty: 3 }); // inside the spread: the best offer
    const mine = restThenSend(sell, order({ side: 'buy', price: 1003, qty: 3 }));
    expect(kinds(mine)).toEqual(['ack', 'cancelled']);
    expect(mine[1]!.text).toMatch(/self-trade prevention: remainder 3 lots would trade against our own sell cw-1 at 1001/);
    expect((await paper.openOrders()).map((o) => o.clientOrderId)).toEqual([sell.clientOrderId]);
  });

  it('a market sell meets our own bid at the venue best bid first (ours first at an equal price) and takes nothing', () => {
    vi.useFakeTimers();
    const { order, restThenSend } = setup();
    const mine = restThenSend(order({ side: 'buy', price: 1000, qty: 2 }), order({ side: 'sell', type: 'market', tif: 'IOC', price: undefined, qty: 4 }));
    expect(kinds(mine)).toEqual(['ack', 'cancelled']);
    expect(mine[1]!.text).toMatch(/our own buy cw-1 at 1000/);
  });

  it('price-ordered: venue levels better than our own order fill first, then the rest is cancelled at it', () => {
    vi.useFakeTimers();
    const { order, restThenSend } = setup();
    const mine = restThenSend(order({ side: 'sell', price: 1004, qty: 1 }), order({ side: 'buy', type: 'market', tif: 'IOC', price: undefined, qty: 8 }));
    expect(kinds(mine)).toEqual(['ack', 'fill:5@1003', 'cancelled']);
    expect(mine[2]).toMatchObject({ cumQty: 5, leavesQty: 0 });
    expect(mine[2]!.text).toMatch(/remainder 3 lots/);
  });

  it('an order whose limit stops before our own order trades and rests as before', async () => {
    vi.useFakeTimers();
    const { order, restThenSend, paper } = setup();
    const mine = restThenSend(order({ side: 'sell', price: 1004, qty: 1 }), order({ side: 'buy', price: 1003, qty: 7 }));
    expect(kinds(mine)).toEqual(['ack', 'fill:5@1003']);
    expect((await paper.openOrders()).map((o) => [o.side, o.price])).toEqual([['sell', 1004], ['buy', 1003]]);
  });

  it('FOK counts only the venue liquidity before our own order; POST_ONLY crossing our own order is rejected', async () => {
    vi.useFakeTimers();
    const { order, restThenSend, paper, reports } = setup(1005);
    const fok = restThenSend(order({ side: 'sell', price: 1006, qty: 1 }), order({ side: 'buy', price: 1006, qty: 6, tif: 'FOK' }));
    expect(kinds(fok)).toEqual(['rejected:FOK_UNFILLABLE']);
    expect(fok[0]!.text).toMatch(/5 of 6 lots available before our own sell cw-1 at 1006/);
    paper.submit(order({ side: 'sell', price: 1001, qty: 1 })); // inside the spread (bid 1000, ask 1005)
    vi.advanceTimersByTime(5);
    const passiveForVenue = order({ side: 'buy', price: 1002, qty: 1, tif: 'POST_ONLY' }); // below the venue ask 1005, above our 1001
    paper.submit(passiveForVenue);
    vi.advanceTimersByTime(5);
    expect(kinds(reports.filter((r) => r.clientOrderId === passiveForVenue.clientOrderId))).toEqual(['rejected:POST_ONLY_WOULD_CROSS']);
    expect(reports.find((r) => r.clientOrderId === passiveForVenue.clientOrderId)!.text).toMatch(/our own sell/);
    expect((await paper.openOrders()).map((o) => o.price)).toEqual([1006, 1001]);
  });

  it('a print between our own orders never fills both sides: the crossing one never rested (no guaranteed-loss wash)', () => {
    vi.useFakeTimers();
    const { paper, reports, order } = setup(1005);
    paper.submit(order({ side: 'sell', price: 1001, qty: 3 })); // inside the spread (bid 1000, ask 1005)
    vi.advanceTimersByTime(5);
    paper.submit(order({ side: 'buy', price: 1003, qty: 3 })); // passive for the venue, crosses our own offer at 1001
    vi.advanceTimersByTime(5);
    paper.onMarketEvent({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: 20, recvTs: 20, tradeId: 't1', price: 1002, qty: 10, side: 'buy' });
    expect(kinds(reports)).toEqual(['ack', 'ack', 'cancelled', 'fill:3@1001']);
    expect(reports[3]!.side).toBe('sell');
  });

  it('our orders on another symbol are not in the way', () => {
    vi.useFakeTimers();
    const { order, restThenSend } = setup();
    const mine = restThenSend(order({ symbol: 'ETHUSDT', side: 'sell', price: 1001, qty: 3 }), order({ side: 'buy', price: 1003, qty: 3 }));
    expect(kinds(mine)).toEqual(['ack', 'fill:3@1003']);
  });
});
