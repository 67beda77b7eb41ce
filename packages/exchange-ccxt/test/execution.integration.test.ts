/**
 * Execution through ccxt (ccxt_id "binance") against the local Binance server: fills learned by
 * polling fetchOrder + fetchMyTrades arrive once each, at exact ticks/lots, with the real fee in
 * quote atoms and the liquidity; without credentials the venue is market-data only.
 */
import { SystemClock, type ExecutionReport, type Instrument } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBinance } from '../../exchange-binance/test/fake-binance.js';
import { createCcxtVenue, type CcxtVenue } from '../src/index.js';
import { BINANCE_CCXT_OPTIONS } from './binance-ccxt-options.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real';

describe('ccxt execution against the local Binance server', () => {
  let fake: FakeBinance | undefined;
  let v: CcxtVenue | undefined;
  afterEach(async () => {
    await v?.execution.stop();
    await v?.marketData.stop();
    await fake?.close();
    v = undefined;
    fake = undefined;
  });

  async function boot(options: Record<string, unknown> = {}): Promise<{ i: Instrument; reports: ExecutionReport[] }> {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    v = createCcxtVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { ccxt_id: 'binance', poll_interval_ms: 50, ccxt_options: BINANCE_CCXT_OPTIONS, ...options } },
      { exchange: 'ccxt-binance', clock: new SystemClock() },
    );
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    return { i: i!, reports };
  }

  it('reports polled fills once each, exact, with the real fee and liquidity', async () => {
    const { i, reports } = await boot();
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v!.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    fake!.fill(id, '0.005');
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'a partial fill');
    fake!.fill(id, '0.015');
    await waitUntil(() => reports.filter((r) => r.kind === 'fill').length === 2, 'the second fill');
    await new Promise((r) => setTimeout(r, 300)); // more polls: nothing may repeat
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills.map((f) => [f.lastPrice, f.lastQty, f.cumQty, f.leavesQty])).toEqual([
      [6400050, 500, 500, 1500],
      [6400050, 1500, 2000, 0],
    ]);
    // maker 0.075 % of 320.0025 = 0.24000188 USDT; quote atoms are 1e-7 USDT, rounded up
    expect(fills.map((f) => [f.liquidity, f.feeAtoms])).toEqual([
      ['maker', 2400019n],
      ['maker', 7200057n],
    ]);
    expect(new Set(fills.map((f) => f.tradeId)).size).toBe(2);
    const q = await v!.execution.queryOrder!({ ...o, venueOrderId: String(id) });
    expect(q).toMatchObject({ status: 'filled', filledQty: 2000 });
    expect(q!.fills.map((f) => f.tradeId)).toEqual(fills.map((f) => f.tradeId));
  });

  it.each(['limit', 'market'] as const)("an order answer ccxt fails to read (%s order) is looked up by client id, not reported rejected: the order and its fill are followed", async (type) => {
    const { i, reports } = await boot();
    // the venue takes the order; its answer holds what ccxt's parser throws on
    fake!.editNextOrderAnswer = (b) => (b.fills = [null, 7]);
    const o = type === 'limit' ? conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' }) : conformanceOrder(i, { side: 'buy', price: '65000', qty: '0.02' }, { type: 'market', price: undefined });
    v!.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack' || r.kind === 'rejected'), 'the order found by client id');
    expect(reports.filter((r) => r.kind === 'rejected')).toEqual([]);
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    if (type === 'limit') fake!.fill(id, '0.02'); // a market order filled on arrival (a closed order by then)
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'its fill');
    expect(reports.filter((r) => r.kind === 'fill').map((f) => [f.lastQty, f.cumQty, f.clientOrderId])).toEqual([[2000, 2000, o.clientOrderId]]);
  });

  it('an order whose answer never came is found by client id once the venue shows it; one that never arrived is rejected after the grace', async () => {
    const { i, reports } = await boot({ rest_timeout_ms: 300, unknown_order_grace_ms: 1500 });
    // executed by the venue, its answer swallowed: ccxt times out
    fake!.wsApi.swallowOrderResponses(1);
    const kept = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v!.execution.submit(kept);
    await waitUntil(() => reports.some((r) => r.clientOrderId === kept.clientOrderId), 'the swallowed order resolved');
    expect(reports.filter((r) => r.clientOrderId === kept.clientOrderId).map((r) => r.kind)).toEqual(['ack']);
    // lost before the venue saw it: asked for until the grace has passed, then rejected
    fake!.wsApi.loseOrderRequests(1);
    const lost = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    const t0 = Date.now();
    v!.execution.submit(lost);
    await waitUntil(() => reports.some((r) => r.clientOrderId === lost.clientOrderId), 'the lost order resolved');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(reports.filter((r) => r.clientOrderId === lost.clientOrderId)).toMatchObject([{ kind: 'rejected', rejects: 'order', text: expect.stringMatching(/never reached the venue/) }]);
    expect(fake!.orders.size).toBe(1);
  });

  it('a trade the venue lists with a quantity or price that is not positive is not applied; the true one is, once', async () => {
    const { i, reports } = await boot();
    const o = conformanceOrder(i, { side: 'buy', price: '64000.5', qty: '0.02' });
    v!.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    // the first three trade lists are broken: a negative quantity, then a price of 0
    let broken = 0;
    fake!.wsApi.editTradeList = (list) => {
      for (const t of list) if (broken < 2) t.qty = `-${String(t.qty)}`;
      else t.price = '0.00000000';
      return ++broken < 3;
    };
    fake!.fill(id, '0.005');
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'the fill, once the list is right');
    expect(broken).toBe(3);
    await new Promise((r) => setTimeout(r, 200)); // more polls: nothing may repeat
    expect(reports.filter((r) => r.kind === 'fill').map((f) => [f.lastQty, f.lastPrice, f.cumQty])).toEqual([[500, 6400050, 500]]);
  });

  it('is market-data only without credentials', async () => {
    fake = await FakeBinance.start({});
    v = createCcxtVenue({ api_url: fake.wsUrl, rest_url: fake.restUrl, options: { ccxt_id: 'binance' } }, { exchange: 'ccxt-binance', clock: new SystemClock() });
    await v.execution.start(() => {});
    expect(v.execution.availability()).toEqual({ canTrade: false, reason: 'ccxt-binance: no api_key/api_secret' });
  });
});
