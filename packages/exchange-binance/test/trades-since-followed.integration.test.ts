/**
 * Reconciliation's tradesSince() over the Binance client, against the local server: a trade it
 * reads first, of an order the client follows, counts in that order's total. Marked as booked
 * without being counted, every later read of the order skipped it as booked while the venue's
 * executed quantity stayed above the order's total, so the order's end (here the engine's own
 * cancel) was never reported: the engine's order stayed pending_cancel for ever.
 *
 * Timeline (what reconcileVenues does at every start): the journal's open order is asked about
 * (queryOrder) or the account's working orders are listed (openOrders), the order trades, then
 * tradesSince reads the account's trades; then the order is cancelled.
 */
import { SystemClock, type ExecutionClient, type ExecutionReport, type Order } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { silentLogger } from '@cwts/core/observability';
import { waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBinanceVenue } from '../src/index.js';
import { FakeBinance } from './fake-binance.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';

describe('Binance tradesSince: a trade first read there counts in the order it follows', () => {
  let fake: FakeBinance | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });


  async function startClient(f: FakeBinance): Promise<{ ex: ExecutionClient; reports: ExecutionReport[] }> {
    const v = createBinanceVenue(
      { api_url: f.wsUrl, rest_url: f.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { poll_interval_ms: 600_000, fills: 'polling' } },
      { exchange: 'binance', clock: new SystemClock(), logger: silentLogger() },
    );
    await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    return { ex: v.execution, reports };
  }

  /**
   * Cancels the order and waits for the cancel's report, or for the read of the order's trades
   * that the cancel's answer asks for when the venue counts more than the client booked (no poll
   * runs meanwhile: the poll interval is longer than the test). Without the fix that read found
   * the trade booked and the order short of the venue's count: the cancel was never reported.
   */
  const cancel = async (f: FakeBinance, ex: ExecutionClient, reports: ExecutionReport[], order: Order) => {
    const tradeReads = () => f.requests.filter((r) => r.method === 'GET' && r.path === '/api/v3/myTrades').length;
    const before = tradeReads();
    ex.cancel(order);
    await waitUntil(() => reports.some((r) => r.kind === 'cancelled') || tradeReads() > before, 'the cancel reported, or a read of its trades');
  };

  it('a journaled order asked about by queryOrder, whose trade tradesSince reads first: its cancel is reported, with that trade counted', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const now = Date.now();
    const fo = fake!.restingOrder(6001, 'cw-j1', now - 60_000);
    const { ex, reports } = await startClient(fake);

    // the journal's open order, as reconciliation asks about it (nothing filled yet)
    const journaled: Order = {
      exchange: 'binance', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 6400000, qty: 10, tif: 'GTC', source: 'test', clientOrderId: 'cw-j1',
      status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: now - 60_000, updatedTs: now - 60_000,
    };
    expect(await ex.queryOrder!(journaled)).toMatchObject({ status: 'open', filledQty: 0 });
    // it trades 2 lots; reconciliation reads the account's trades since the last fill
    fake.fill(6001, '0.00002');
    const trades = await ex.tradesSince!(['BTCUSDT'], now - 120_000);
    expect(trades.map((t) => [t.clientOrderId, t.lastQty])).toEqual([['cw-j1', 2]]);

    // the engine, having booked those 2 lots, cancels it
    await cancel(fake, ex, reports, { ...journaled, venueOrderId: '6001', filledQty: 2, status: 'pending_cancel' });
    expect(fo.status).toBe('CANCELED');
    expect(reports.filter((r) => r.kind === 'cancelled').map((r) => r.cumQty)).toEqual([2]);
    // tradesSince's trade is not reported a second time as a fill of the followed order
    expect(reports.filter((r) => r.kind === 'fill')).toEqual([]);
  });

  it('a listed order with lots filled before it was listed: its earlier trade is claimed as prior, its later one counted once, and its cancel reported with both', async () => {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const now = Date.now();
    const fo = fake!.restingOrder(6002, 'cw-l1', now - 60_000);
    fake.fill(6002, '0.00002'); // before the listing: 2 lots
    const { ex, reports } = await startClient(fake);

    const listed = await ex.openOrders!();
    expect(listed.map((o) => [o.clientOrderId, o.filledQty])).toEqual([['cw-l1', 2]]);
    // it trades 2 lots more; the trade window reaches back past both trades
    fake.fill(6002, '0.00002');
    const trades = await ex.tradesSince!(['BTCUSDT'], now - 120_000);
    expect(trades.map((t) => [t.clientOrderId, t.lastQty])).toEqual([['cw-l1', 2], ['cw-l1', 2]]);

    await cancel(fake, ex, reports, { ...listed[0]!, filledQty: 4, status: 'pending_cancel' });
    expect(fo.status).toBe('CANCELED');
    // 4 lots, as the venue counts: the earlier trade is in the listed total already, not counted again
    expect(reports.filter((r) => r.kind === 'cancelled').map((r) => r.cumQty)).toEqual([4]);
    expect(reports.filter((r) => r.kind === 'fill')).toEqual([]);
  });
});
