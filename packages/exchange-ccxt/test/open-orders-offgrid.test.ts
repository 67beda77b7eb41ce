/**
 * One listed order whose amount is off the instrument's lot grid (lot size changed
 * after it was placed, or a hand-placed order) but partly filled makes the whole fetchOpenOrders
 * listing throw: qty is taken as 0 ("left to the engine's check of a listed order"), then
 * venueFilled > qty threw for the entire venue, so every other working order went unlisted and
 * reconciliation of the venue failed at every start while that order worked.
 */
import { defineInstrument, ManualClock, type ExecutionReport } from '@cwts/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { CcxtExchange, CcxtOrder } from '../src/ccxt-exchange.js';
import { CcxtExecution } from '../src/execution.js';
import { resolveCcxtOptions } from '../src/options.js';

const I = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const T0 = Date.parse('2026-12-05T10:00:00Z');

class ScriptedCcxt {
  readonly has: Record<string, boolean> = {};
  readonly markets_by_id = { BTCUSDT: [{ id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', precision: {} }] };
  open: unknown = [];
  async fetchOpenOrders(): Promise<unknown> {
    return this.open;
  }
  async fetchOrder(): Promise<unknown> {
    return undefined;
  }
  async fetchMyTrades(): Promise<unknown> {
    return [];
  }
  async fetchBalance() {
    return { total: {} };
  }
  numberToString(n: number | string): string {
    return String(n);
  }
}

const order = (extra: Partial<CcxtOrder> = {}): CcxtOrder => ({ id: 'O1', clientOrderId: 'c1', symbol: 'BTC/USDT', status: 'open', side: 'buy', amount: 0.01, price: 100, filled: 0, timestamp: T0, ...extra });

describe('ccxt openOrders with one order off the lot grid', () => {
  let x: CcxtExecution | undefined;
  afterEach(async () => {
    await x?.stop();
    x = undefined;
  });

  it('lists the other working orders (the odd one left to the engine check), not a failed listing', async () => {
    const clock = new ManualClock(T0);
    const fake = new ScriptedCcxt();
    x = new CcxtExecution({
      exchange: 'x', ccxt: async () => fake as unknown as CcxtExchange, options: resolveCcxtOptions({ poll_interval_ms: 600_000 }), clock, hasCredentials: true,
      instrument: (s) => (s === I.symbol ? I : undefined), ccxtSymbol: (s) => (s === I.symbol ? 'BTC/USDT' : undefined),
    });
    const reports: ExecutionReport[] = [];
    await x.start((r) => reports.push(r));
    fake.open = [
      order({ id: 'O1', clientOrderId: 'c1', amount: 0.01, filled: 0 }),
      // placed when the lot size was 0.0001 (or by hand): amount off today's grid, partly filled on it
      order({ id: 'O2', clientOrderId: 'manual-1', amount: 0.0105, filled: 0.002 }),
    ];
    const listed = await x.openOrders();
    expect(listed.map((o) => o.clientOrderId)).toContain('c1');
    // the odd one is listed at qty 0, for the engine's check of a listed order to report
    expect(listed.find((o) => o.venueOrderId === 'O2')).toMatchObject({ qty: 0, filledQty: 0 });
  });
});
