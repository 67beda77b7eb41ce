/**
 * One working order off today's tick grid (placed before Bybit coarsened the pair's tick; a
 * restart loads the new grid, docs/venues.md "A pair whose grid changes") made the adapter kit's
 * openOrders() throw for the whole venue (priceToTicks in orderFromView): every other working
 * order went unlisted and the restart's reconciliation of the venue failed at every try while
 * that order rested. It is listed at qty 0 now, for the engine to report and leave alone, as the
 * ccxt adapter lists one (open-orders-offgrid.test.ts there).
 */
import { ManualClock, defineInstrument, type Instrument } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BybitExecution, type BybitOrderJson } from '../src/execution.js';
import { bybitEndpoints } from '../src/market-data.js';
import { DEFAULT_BYBIT_OPTIONS } from '../src/options.js';

const venue = await vi.hoisted(async () => (await import('@cwts/core/testing')).scriptedCcxt());
vi.mock('ccxt', () => venue.module('bybit', { urls: { api: { spot: 'https://api.bybit.com' } } }));

// the tick is 0.1 since the restart; the order below was placed when it was 0.01
const BTC: Instrument = defineInstrument({ exchange: 'bybit', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.1', lotSize: '0.001' });
const NOW = Date.parse('2026-12-05T10:00:00Z');
const ok = <T>(result: T) => ({ retCode: 0, retMsg: 'OK', result });
const json = (extra: Partial<BybitOrderJson>): BybitOrderJson => ({
  orderId: 'O1', orderLinkId: 'cw-1', symbol: 'BTCUSDT', side: 'Buy', orderType: 'Limit', price: '64000.0', qty: '0.010', timeInForce: 'GTC', orderStatus: 'New', cumExecQty: '0', createdTime: '1764928800123', rejectReason: 'EC_NoError', ...extra,
});

describe('Bybit openOrders with one order off the tick grid', () => {
  let x: BybitExecution | undefined;
  beforeEach(() => venue.reset());
  afterEach(async () => {
    await x?.stop();
    x = undefined;
  });

  it('lists the other working orders instead of failing the whole listing; the odd one at qty 0, not followed', async () => {
    x = new BybitExecution({
      exchange: 'bybit', endpoints: bybitEndpoints({ rest_url: 'http://127.0.0.1:1', market: 'spot' }), options: { ...DEFAULT_BYBIT_OPTIONS, query_requests_per_second: 1000, poll_interval_ms: 600_000 },
      clock: new ManualClock(NOW), apiKey: new Secret('key'), apiSecret: new Secret('secret'), instrument: (s) => (s === 'BTCUSDT' ? BTC : undefined), symbols: () => ['BTCUSDT'],
    });
    let listing = false;
    venue.handlers.privateGetV5OrderRealtime = () =>
      ok({ list: listing ? [json({}), json({ orderId: 'O2', orderLinkId: 'cw-2', price: '63999.95' })] : [] });
    await x.start(() => {});
    listing = true;
    const listed = await x.openOrders();
    expect(listed.map((o) => o.clientOrderId)).toEqual(['cw-1', 'cw-2']);
    expect(listed[0]).toMatchObject({ venueOrderId: 'O1', qty: 10, price: 640_000, filledQty: 0, status: 'open' });
    // left to the engine's check of a listed order (qty 0: reported, never adopted)
    expect(listed[1]).toMatchObject({ venueOrderId: 'O2', qty: 0, filledQty: 0, status: 'open' });
    expect(listed[1]!.price).toBeUndefined();
    expect(x.workingOrders).toBe(1);
    expect(new Map(x.inputRejections())).toEqual(new Map([['order_read', 1]]));
  });
});
