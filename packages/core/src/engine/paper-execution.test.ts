import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument, feeAtoms } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderIntent } from '../domain/orders.js';
import { L2Book } from '../microstructure/l2-book.js';
import { PaperExecutionClient } from './paper-execution.js';

const I = defineInstrument({ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

function setup(synced = true) {
  const book = new L2Book('binance', 'BTCUSDT');
  if (synced) {
    book.applySnapshot({ seq: 1, bids: [{ price: 1000, qty: 5 }, { price: 999, qty: 5 }], asks: [{ price: 1001, qty: 3 }, { price: 1002, qty: 4 }, { price: 1005, qty: 10 }] });
  }
  const reports: ExecutionReport[] = [];
  const paper = new PaperExecutionClient('binance', () => book, () => I, new ManualClock(0), { latencyMs: 5, makerFeeBps: '2', takerFeeBps: '10' });
  void paper.start((r) => reports.push(r));
  let n = 0;
  const order = (i: Partial<OrderIntent>): Order => ({
    exchange: 'binance', symbol: 'BTCUSDT', side: 'buy', type: 'limit', qty: 1, tif: 'GTC', source: 't', ...i,
    clientOrderId: `cw-${++n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
  } as Order);
  return { book, reports, paper, order };
}

const kinds = (rs: ExecutionReport[]) => rs.map((r) => r.kind + (r.kind === 'fill' ? `:${r.lastQty}@${r.lastPrice}/${r.liquidity}` : r.rejectReason ? `:${r.rejectReason}` : ''));

describe('PaperExecutionClient (paper trading on a real venue book)', () => {
  afterEach(() => vi.useRealTimers());

  it('nothing happens before the latency; then a marketable limit sweeps levels as taker with exact fees', () => {
    vi.useFakeTimers();
    const { paper, reports, order } = setup();
    paper.submit(order({ price: 1002, qty: 5, tif: 'IOC' }));
    vi.advanceTimersByTime(4);
    expect(reports).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(kinds(reports)).toEqual(['ack', 'fill:3@1001/taker', 'fill:2@1002/taker']);
    expect(reports[1]!.feeAtoms).toBe(feeAtoms(I, 1001, 3, '10'));
    expect(reports[2]!.leavesQty).toBe(0);
  });

  it('IOC and market remainders are cancelled and reported; FOK is all-or-nothing; POST_ONLY never crosses', () => {
    vi.useFakeTimers();
    const { paper, reports, order } = setup();
    paper.submit(order({ price: 1001, qty: 5, tif: 'IOC' }));
    paper.submit(order({ type: 'market', qty: 100, tif: 'IOC', price: undefined }));
    paper.submit(order({ price: 1002, qty: 8, tif: 'FOK' }));
    paper.submit(order({ price: 1001, qty: 1, tif: 'POST_ONLY' }));
    vi.advanceTimersByTime(5);
    expect(kinds(reports)).toEqual([
      'ack', 'fill:3@1001/taker', 'cancelled',
      'ack', 'fill:3@1001/taker', 'fill:4@1002/taker', 'fill:10@1005/taker', 'cancelled',
      'rejected:FOK_UNFILLABLE',
      'rejected:POST_ONLY_WOULD_CROSS',
    ]);
    expect(reports[2]!.text).toMatch(/IOC remainder 2 lots cancelled/);
    expect(reports[7]!.text).toMatch(/insufficient liquidity: 83 lots cancelled/);
  });

  it('a resting GTC order fills as maker when a trade prints through its price, and can be cancelled', async () => {
    vi.useFakeTimers();
    const { paper, reports, order } = setup();
    const o = order({ price: 999, qty: 4 });
    paper.submit(o);
    vi.advanceTimersByTime(5);
    expect(kinds(reports)).toEqual(['ack']);
    expect((await paper.openOrders()).map((x) => x.clientOrderId)).toEqual([o.clientOrderId]);
    const trade = (price: number, qty: number) => paper.onMarketEvent({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: 1, recvTs: 1, tradeId: 'x', price, qty, side: 'sell' });
    trade(999, 10); // at our price: queue position unknown, no fill
    trade(998, 1);
    expect(kinds(reports)).toEqual(['ack', 'fill:1@999/maker']);
    expect(reports[1]!.feeAtoms).toBe(feeAtoms(I, 999, 1, '2'));
    paper.cancel(o);
    paper.cancel(o);
    vi.advanceTimersByTime(5);
    expect(kinds(reports)).toEqual(['ack', 'fill:1@999/maker', 'cancelled', 'rejected:UNKNOWN_ORDER']);
    expect(await paper.openOrders()).toEqual([]);
  });

  it('a print through several resting orders fills the best-priced first, then the earliest placed at one price', () => {
    vi.useFakeTimers();
    const { paper, reports, order } = setup();
    const low = order({ price: 980, qty: 1 });
    const high = order({ price: 985, qty: 1 });
    const highLater = order({ price: 985, qty: 1 });
    const sells = [order({ side: 'sell', price: 1020, qty: 1 }), order({ side: 'sell', price: 1015, qty: 1 })];
    for (const o of [low, high, highLater, ...sells]) paper.submit(o);
    vi.advanceTimersByTime(5);
    reports.length = 0;
    // an aggressive sell printing at 979 went through all three bids: at a venue it meets 985 first, the earlier 985 before the later
    paper.onMarketEvent({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: 1, recvTs: 1, tradeId: 'x', price: 979, qty: 2, side: 'sell' });
    paper.onMarketEvent({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: 2, recvTs: 2, tradeId: 'y', price: 1021, qty: 1, side: 'buy' });
    expect(reports.filter((r) => r.kind === 'fill').map((f) => [f.clientOrderId, f.lastPrice])).toEqual([
      [high.clientOrderId, 985], [highLater.clientOrderId, 985], [sells[1]!.clientOrderId, 1015],
    ]);
  });

  it('refuses orders while the book is not synced, and stop() leaves no timers behind', async () => {
    vi.useFakeTimers();
    const { paper, reports, order } = setup(false);
    paper.submit(order({ price: 1001 }));
    vi.advanceTimersByTime(5);
    expect(kinds(reports)).toEqual(['rejected:BOOK_NOT_SYNCED']);
    paper.submit(order({ price: 1001 }));
    await paper.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
