/**
 * BinanceExecution against a stub of the ccxt client (no network): reconciliation's reads at a
 * restart (queryOrder of an order sent moments before the crash, positions of symbols sharing a
 * base asset, tradesSince of a trade whose order the venue does not answer for), and a cancel
 * of an order whose create still waits for the order rate limit.
 */
import { ManualClock, defineInstrument, type ExecutionReport, type Instrument, type Order } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { RateLimiter } from '@cwts/core/adapter-kit';
import { waitUntil } from '@cwts/core/testing';
import { describe, expect, it } from 'vitest';
import { BinanceExecution } from './execution.js';
import { binanceEndpoints } from './market-data.js';
import { resolveBinanceOptions } from './options.js';

const BTCUSDT = defineInstrument({ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const BTCUSDC = defineInstrument({ exchange: 'binance', symbol: 'BTCUSDC', base: 'BTC', quote: 'USDC', tickSize: '0.01', lotSize: '0.00001' });
const ETHUSDT = defineInstrument({ exchange: 'binance', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.0001' });
const SOLBTC = defineInstrument({ exchange: 'binance', symbol: 'SOLBTC', base: 'SOL', quote: 'BTC', tickSize: '0.0000001', lotSize: '0.001' });
const INSTRUMENTS = new Map<string, Instrument>([BTCUSDT, BTCUSDC, ETHUSDT, SOLBTC].map((i) => [i.symbol, i]));

function client(clock: ManualClock, ccxt: Record<string, unknown>, options: Record<string, unknown> = {}): { ex: BinanceExecution; reports: ExecutionReport[] } {
  const ex = new BinanceExecution({
    exchange: 'binance', endpoints: binanceEndpoints({}), options: resolveBinanceOptions({ fills: 'polling', ...options }), clock, testnet: false,
    apiKey: new Secret('k'), apiSecret: new Secret('s'), instrument: (s) => INSTRUMENTS.get(s),
    limiter: new RateLimiter([{ name: 'ip', limit: 6000, intervalMs: 60_000 }], () => clock.now()),
  });
  const reports: ExecutionReport[] = [];
  // what start() sets, without its connections: the stub stands in for ccxt
  Object.assign(ex as unknown as Record<string, unknown>, { ccxt, onReport: (r: ExecutionReport) => reports.push(r) });
  return { ex, reports };
}

const notExist = () => Object.assign(new Error('binance {"code":-2013,"msg":"Order does not exist."}'), { name: 'OrderNotFound' });

function journaled(createdTs: number, clientOrderId = 'cw-restart-1'): Order {
  return {
    exchange: 'binance', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 6_400_000, qty: 10, tif: 'GTC', source: 'strategy',
    clientOrderId, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs, updatedTs: createdTs,
  } as Order;
}

describe('BinanceExecution reconciliation reads', () => {
  it('queryOrder at a restart does not declare an order that was sent moments ago unknown on the first "does not exist" (the venue may still take it)', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    // the order was created (and sent) 300 ms before the crash/restart; the venue's matching
    // engine is behind and takes it a moment after reconciliation's first query
    const createdTs = clock.now() - 300;
    let queries = 0;
    const ccxt = {
      privateGetOrder: async (p: Record<string, unknown>) => {
        queries++;
        clock.advance(1000); // each query costs a second of venue time
        if (queries === 1) throw notExist();
        return { symbol: 'BTCUSDT', orderId: 777, clientOrderId: p.origClientOrderId, price: '64000.00', origQty: '0.00010', executedQty: '0.00000', status: 'NEW', type: 'LIMIT', side: 'BUY', time: createdTs };
      },
      privateGetMyTrades: async () => [],
    };
    const { ex } = client(clock, ccxt, { recv_window_ms: 1000, poll_interval_ms: 50 });
    // Reported undefined, reconciliation closed it as "never arrived" while it rested at the
    // venue: working there, closed in the engine (not counted by risk, not cancelled by HALT).
    const st = await ex.queryOrder(journaled(createdTs));
    expect(st).toMatchObject({ status: 'open', venueOrderId: '777' });
    expect(queries).toBe(2);
  });

  it('queryOrder concludes an order unknown only on 3 "does not exist" answers, spaced 1 s, to queries sent past recvWindow + REST timeout + 1 s after its creation', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const createdTs = clock.now() - 300;
    const asked: number[] = [];
    const ccxt = {
      privateGetOrder: async () => {
        asked.push(clock.now() - createdTs);
        clock.advance(1000);
        throw notExist();
      },
    };
    // window: 1000 ms recvWindow + 1000 ms REST timeout + 1 s = 3000 ms after its creation
    const { ex } = client(clock, ccxt, { recv_window_ms: 1000, rest_timeout_ms: 1000, poll_interval_ms: 50 });
    expect(await ex.queryOrder(journaled(createdTs))).toBeUndefined();
    // three inside the window (not counted), then three past it
    expect(asked).toEqual([300, 1300, 2300, 3300, 4300, 5300]);
  });

  it('queryOrder of an order created long before the restart (settled) takes the first "does not exist": no seconds spent per order', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    let queries = 0;
    const ccxt = {
      privateGetOrder: async () => {
        queries++;
        throw notExist();
      },
    };
    const { ex } = client(clock, ccxt, { recv_window_ms: 1000, rest_timeout_ms: 1000, poll_interval_ms: 50 });
    expect(await ex.queryOrder(journaled(clock.now() - 10 * 60_000))).toBeUndefined();
    expect(queries).toBe(1);
  });

  it('queryOrder of an order without a creation time (createdTs 0) takes the first "does not exist"', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    let queries = 0;
    const ccxt = {
      privateGetOrder: async () => {
        queries++;
        throw notExist();
      },
    };
    const { ex } = client(clock, ccxt, { poll_interval_ms: 50 });
    expect(await ex.queryOrder(journaled(0))).toBeUndefined();
    expect(queries).toBe(1);
  });

  it('positions() of two symbols on one base asset do not both claim the whole base balance: a base asset no other symbol uses is a position, a shared one is none', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const ccxt = {
      privateGetAccount: async () => ({
        balances: [
          { asset: 'BTC', free: '0.60000000', locked: '0.00000000' }, { asset: 'ETH', free: '2.00000000', locked: '0.50000000' }, { asset: 'SOL', free: '3.00000000', locked: '0.00000000' },
          { asset: 'USDT', free: '100', locked: '0' }, { asset: 'USDC', free: '100', locked: '0' },
        ],
      }),
    };
    const { ex } = client(clock, ccxt);
    // 0.6 BTC held in all: the engine keeps one position per symbol (e.g. +1 BTC on BTCUSDT, -0.4
    // on BTCUSDC), and neither is the balance; ETH is ETHUSDT's alone
    expect(await ex.positions(['BTCUSDT', 'BTCUSDC', 'ETHUSDT'])).toEqual([{ symbol: 'ETHUSDT', qty: 25_000 }]);
    // SOLBTC trades move BTC too (its quote): BTC is not BTCUSDT's alone
    expect(await ex.positions(['BTCUSDT', 'SOLBTC'])).toEqual([{ symbol: 'SOLBTC', qty: 3000 }]);
    expect(await ex.positions(['BTCUSDT'])).toEqual([{ symbol: 'BTCUSDT', qty: 60_000 }]);
  });
});

describe('BinanceExecution.tradesSince', () => {
  it('a listed trade whose order the venue answers "does not exist" is reported from the trade itself, with no client id, never dropped', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const trade = { symbol: 'BTCUSDT', id: 501, orderId: 9001, price: '64000.00', qty: '0.00010', commission: '0.01', commissionAsset: 'USDT', time: clock.now() - 60_000, isBuyer: false, isMaker: true };
    const ccxt = {
      privateGetMyTrades: async () => [trade],
      privateGetOrder: async () => {
        throw notExist();
      },
    };
    const { ex } = client(clock, ccxt);
    const out = await ex.tradesSince(['BTCUSDT'], clock.now() - 3_600_000);
    // matched to the journal by symbol, side and trade id (the reconcile contract for a trade without a client id)
    expect(out).toEqual([
      expect.objectContaining({ kind: 'fill', symbol: 'BTCUSDT', clientOrderId: '', venueOrderId: '9001', side: 'sell', tradeId: '501', lastQty: 10, lastPrice: 6_400_000, liquidity: 'maker', ts: trade.time }),
    ]);
  });

  it('a listed trade whose order the venue does not answer for, and that names no side, fails the read', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const trade = { symbol: 'BTCUSDT', id: 502, orderId: 9002, price: '64000.00', qty: '0.00010', commission: '0.01', commissionAsset: 'USDT', time: clock.now() - 60_000, isMaker: true };
    const ccxt = {
      privateGetMyTrades: async () => [trade],
      privateGetOrder: async () => {
        throw notExist();
      },
    };
    const { ex } = client(clock, ccxt);
    await expect(ex.tradesSince(['BTCUSDT'], clock.now() - 3_600_000)).rejects.toThrow(/not one/);
  });
});

describe('BinanceExecution: a cancel of an order whose create waits for the order rate limit', () => {
  it('is answered cancelled here and the create is never sent; a cancel of an order whose create left goes to the venue', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const created: string[] = [];
    const cancelled: string[] = [];
    let nextId = 100;
    const ccxt = {
      markets_by_id: { BTCUSDT: [{ symbol: 'BTC/USDT' }] },
      createOrder: async (_s: string, _t: string, _side: string, amount: string, price: string, params: Record<string, unknown>) => {
        created.push(String(params.newClientOrderId));
        return { info: { symbol: 'BTCUSDT', orderId: nextId++, clientOrderId: params.newClientOrderId, price, origQty: amount, executedQty: '0.00000', status: 'NEW', type: 'LIMIT', side: 'BUY' } };
      },
      cancelOrder: async (id: string | undefined, _s: string, params: Record<string, unknown>) => {
        cancelled.push(id ?? String(params.origClientOrderId));
        // a cancel of an order the venue does not know (its create not sent yet) is refused
        if (id === undefined) throw notExist();
        return { info: { symbol: 'BTCUSDT', orderId: Number(id), status: 'CANCELED', executedQty: '0.00000' } };
      },
    };
    // one order per 100 ms of the stub's clock, which moves only when the test says
    const { ex, reports } = client(clock, ccxt, { orders_per_10s: 1, order_limit_interval_ms: 100 });
    const waiting = () => (ex as unknown as { ordersWaitingTurn: number }).ordersWaitingTurn;
    const a = { ...journaled(clock.now(), 'cw-a'), status: 'pending_new' } as Order;
    const b = { ...journaled(clock.now(), 'cw-b'), status: 'pending_new' } as Order;
    ex.submit(a); // takes the window's one slot
    ex.submit(b); // waits for the next window
    await waitUntil(() => created.length === 1 && reports.some((r) => r.clientOrderId === 'cw-a' && r.kind === 'ack'), 'a sent and acked');
    expect(waiting()).toBe(1);
    // a HALT's mass cancel: b's create has not left
    ex.cancel({ ...b, status: 'pending_cancel' });
    await Promise.resolve();
    expect(reports.filter((r) => r.clientOrderId === 'cw-b')).toEqual([expect.objectContaining({ kind: 'cancelled', leavesQty: 0, cumQty: 0 })]);
    // b's turn comes: nothing goes out for it
    clock.advance(100);
    await waitUntil(() => waiting() === 0, "b's turn under the limit");
    expect(created).toEqual(['cw-a']);
    expect(cancelled).toEqual([]);
    // a's create left: its cancel is the venue's
    ex.cancel({ ...a, venueOrderId: '100', status: 'pending_cancel' });
    await waitUntil(() => reports.some((r) => r.clientOrderId === 'cw-a' && r.kind === 'cancelled'), "a's cancel answered");
    expect(cancelled).toEqual(['100']);
    expect(reports.filter((r) => r.clientOrderId === 'cw-b').map((r) => r.kind)).toEqual(['cancelled']);
    await ex.stop();
  });
});
