/**
 * KrakenOrderDriver called directly with a scripted ccxt (no network): order params per type and
 * TIF, pair lookup, refused cancels, lost answers resolved by client id, malformed answers,
 * fill paging and balances. The round trip through real ccxt signing is covered by
 * execution.integration.test.ts.
 */
import { ManualClock, defineInstrument, priceToTicks, qtyToLots, type Instrument, type Order } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { refusedByVenue, type VenueOrderView } from '@cwts/core/adapter-kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KrakenOrderDriver, krakenAssetCode, krakenV2Symbol, type KrakenOrderInfo, type KrakenTradeInfo } from '../src/execution.js';
import { PAIRS_UNAVAILABLE } from '../src/errors.js';
import { DEFAULT_KRAKEN_OPTIONS } from '../src/options.js';

/** The scripted venue (@cwts/core/testing scriptedCcxt): each test sets the endpoints it needs; calls are recorded. Some Kraken calls carry no params. */
const venue = await vi.hoisted(async () => (await import('@cwts/core/testing')).scriptedCcxt<Record<string, unknown> | undefined>());
vi.mock('ccxt', () => venue.module('kraken', { urls: { api: { public: 'https://api.kraken.com', private: 'https://api.kraken.com', nested: { a: 'b' } } }, fields: { nonce: () => 0 } }));

const BTC: Instrument = defineInstrument({ exchange: 'kraken', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.00000001', minNotional: '0.5' });
const PAIRS = { XXBTZUSD: { altname: 'XBTUSD', wsname: 'XBT/USD', base: 'XXBT', quote: 'ZUSD' } };
const ok = <T>(result: T) => ({ error: [], result });

function order(extra: Partial<Order> = {}): Order {
  return {
    exchange: 'kraken', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(BTC, '64000.0'), qty: qtyToLots(BTC, '0.01'), tif: 'GTC', source: 't',
    clientOrderId: 'c1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
    ...extra,
  } as Order;
}

function info(extra: Partial<KrakenOrderInfo> = {}): KrakenOrderInfo {
  return { cl_ord_id: 'c1', status: 'open', opentm: 1764928800.123, descr: { pair: 'XBTUSD', type: 'buy', ordertype: 'limit', price: '64000.0' }, vol: '0.01000000', vol_exec: '0.00000000', ...extra };
}

function trade(extra: Partial<KrakenTradeInfo> = {}): KrakenTradeInfo {
  return { ordertxid: 'O1', pair: 'XXBTZUSD', time: 1764928801.5, type: 'buy', price: '64000.0', vol: '0.004', fee: '1.0240', maker: true, ...extra };
}

const view = (extra: Partial<VenueOrderView> = {}): VenueOrderView => ({ venueOrderId: 'O1', symbol: 'BTC/USD', side: 'buy', type: 'limit', qty: '0.01', filledQty: '0', state: 'open', tif: 'GTC', ...extra });

function newDriver(warn: (o: unknown, m: string) => void = () => {}, clock = new ManualClock(Date.parse('2026-12-05T10:00:00Z'))) {
  return new KrakenOrderDriver({
    exchange: 'kraken', restRoot: 'http://127.0.0.1:1', options: { ...DEFAULT_KRAKEN_OPTIONS, private_requests_per_interval: 10_000, order_deadline_ms: 5000 }, clock,
    logger: { warn } as never, apiKey: new Secret('key'), apiSecret: new Secret('c2VjcmV0'),
    instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD', 'ETH/USD'],
  });
}

async function started(warn?: (o: unknown, m: string) => void) {
  const d = newDriver(warn);
  venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
  venue.handlers.privatePostOpenOrders = () => ok({ open: {} });
  await d.connect();
  venue.calls.length = 0;
  return d;
}

describe('Kraken symbols and assets', () => {
  it.each([
    ['XXBT', 'BTC'], ['ZUSD', 'USD'], ['XETH', 'ETH'], ['USDT', 'USDT'], ['USDC', 'USDC'], ['ZEUS', 'ZEUS'], ['XXDG', 'DOGE'], ['DOT', 'DOT'], ['ETH2.S', 'ETH2.S'],
    ['XETC', 'ETC'], ['XLTC', 'LTC'], ['XMLN', 'MLN'], ['XREP', 'REP'], ['XXLM', 'XLM'], ['XXMR', 'XMR'], ['XXRP', 'XRP'], ['XZEC', 'ZEC'],
    ['ZAUD', 'AUD'], ['ZCAD', 'CAD'], ['ZEUR', 'EUR'], ['ZGBP', 'GBP'], ['ZJPY', 'JPY'], ['XBT', 'BTC'], ['XDG', 'DOGE'],
    // newer assets that merely begin with X or Z are no legacy codes: kept whole
    ['ZETA', 'ZETA'], ['XAUT', 'XAUT'], ['XION', 'XION'], ['XTER', 'XTER'], ['ZORA', 'ZORA'], ['ZRX', 'ZRX'], ['XTZ', 'XTZ'], ['XCN', 'XCN'],
    // hostile words find nothing in the table
    ['toString', 'toString'], ['__proto__', '__proto__'],
  ])('REST asset %s is %s', (rest, code) => expect(krakenAssetCode(rest)).toBe(code));

  it('v2 symbol from wsname (legacy codes renamed), else from base/quote', () => {
    expect(krakenV2Symbol({ altname: 'XBTUSD', wsname: 'XBT/USD', base: 'XXBT', quote: 'ZUSD' })).toBe('BTC/USD');
    expect(krakenV2Symbol({ altname: 'ETHXBT', wsname: 'ETH/XBT', base: 'XETH', quote: 'XXBT' })).toBe('ETH/BTC');
    expect(krakenV2Symbol({ altname: 'XDGUSD', base: 'XXDG', quote: 'ZUSD' })).toBe('DOGE/USD');
    expect(krakenV2Symbol({ altname: 'ODD', wsname: 'ODDPAIR', base: 'ADA', quote: 'ZEUR' })).toBe('ADA/EUR');
    // a pair without wsname named from its REST assets: a 4-letter X/Z asset that is no legacy code keeps its first letter
    expect(krakenV2Symbol({ altname: 'ZETAUSD', base: 'ZETA', quote: 'ZUSD' })).toBe('ZETA/USD');
    expect(krakenV2Symbol({ altname: 'XAUTEUR', base: 'XAUT', quote: 'ZEUR' })).toBe('XAUT/EUR');
    expect(krakenV2Symbol({ altname: 'XRPGBP', base: 'XXRP', quote: 'ZGBP' })).toBe('XRP/GBP');
  });
});

describe('KrakenOrderDriver (scripted venue)', () => {
  let driver: KrakenOrderDriver | undefined;
  beforeEach(() => venue.reset());
  afterEach(() => {
    driver?.close();
    driver = undefined;
  });

  it('connect: loads pairs, warns once per configured symbol Kraken does not list, checks the key with one signed request', async () => {
    const warns: string[] = [];
    driver = newDriver((_o, m) => warns.push(m));
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostOpenOrders = () => ok({ open: {} });
    await driver.connect();
    expect(warns).toEqual(["ETH/USD is not in Kraken's AssetPairs: orders on it will be refused"]);
    expect(venue.calls.map((c) => c.fn)).toEqual(['publicGetAssetPairs', 'privatePostOpenOrders']);
    expect(driver.hasCredentials).toBe(true);
    expect(driver.pendingTimers()).toBe(0);
  });

  it('a refused key at connect is AUTH_FAILED, with no secret in the text', async () => {
    driver = newDriver();
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostOpenOrders = () => {
      throw Object.assign(new Error('kraken {"error":["EAPI:Invalid key"]} API-Key: key'), { name: 'AuthenticationError' });
    };
    const err = await driver.connect().catch((e: unknown) => e);
    const m = driver.mapError(err);
    expect(m.reason).toBe('AUTH_FAILED');
    expect(m.text).not.toContain('c2VjcmV0');
  });

  it('has no credentials without a key; refuses calls before connect; FOK is unsupported', async () => {
    const d = new KrakenOrderDriver({ exchange: 'kraken', restRoot: 'x', options: DEFAULT_KRAKEN_OPTIONS, clock: new ManualClock(0), instrument: () => BTC, symbols: () => [] });
    expect(d.hasCredentials).toBe(false);
    expect(d.unsupported(order({ tif: 'FOK' }))).toMatch(/no fill-or-kill/);
    expect(d.unsupported(order({ tif: 'IOC' }))).toBeUndefined();
    await expect(d.fetchBalances()).rejects.toThrow(/execution not started/);
  });

  it.each([
    [{ tif: 'GTC' }, { ordertype: 'limit', price: '64000', oflags: 'fciq' }],
    [{ tif: 'IOC' }, { ordertype: 'limit', price: '64000', timeinforce: 'IOC', oflags: 'fciq' }],
    [{ tif: 'POST_ONLY' }, { ordertype: 'limit', price: '64000', oflags: 'post,fciq' }],
    [{ type: 'market', tif: 'IOC', price: undefined }, { ordertype: 'market', oflags: 'fciq' }],
  ] as const)('place (a sell) %j sends %j with the REST pair, client id, a deadline and the fee pinned to the quote currency (a sell would pay it in base)', async (o, extra) => {
    driver = await started();
    venue.handlers.privatePostAddOrder = () => ok({ txid: ['OTX-1'] });
    await expect(driver.place(order({ ...(o as Partial<Order>), side: 'sell' }), BTC)).resolves.toBe('OTX-1');
    expect(venue.calls[0]!.params).toEqual({ pair: 'XXBTZUSD', type: 'sell', volume: '0.01', cl_ord_id: 'c1', deadline: '2026-12-05T10:00:05.000Z', ...extra });
  });

  it('place: an answer without a txid is not an ack', async () => {
    driver = await started();
    venue.handlers.privatePostAddOrder = () => ok({ txid: [] });
    await expect(driver.place(order(), BTC)).rejects.toThrow(/AddOrder answered without a txid/);
    venue.handlers.privatePostAddOrder = () => ({ error: [] });
    await expect(driver.place(order(), BTC)).rejects.toThrow(/without a txid/);
  });

  it('place on a pair missing at start asks AssetPairs again; unreachable is a retryable refusal, still missing is INVALID_ORDER; nothing is sent', async () => {
    driver = newDriver();
    venue.handlers.publicGetAssetPairs = () => ({ error: [] }); // no result: no pairs
    venue.handlers.privatePostOpenOrders = () => ok({ open: {} });
    await driver.connect();
    venue.handlers.publicGetAssetPairs = () => {
      throw new Error('connect ECONNREFUSED');
    };
    const downErr = await driver.place(order(), BTC).catch((e: unknown) => e);
    // not Kraken's EService:Unavailable (an unknown outcome): nothing was sent
    expect(driver.mapError(downErr)).toMatchObject({ reason: 'VENUE_ERROR', retryable: true, code: PAIRS_UNAVAILABLE });
    expect(refusedByVenue(downErr, driver.mapError(downErr))).toBe(true);
    expect((downErr as Error).message).toMatch(/AssetPairs failed: connect ECONNREFUSED/);

    venue.handlers.publicGetAssetPairs = () => ok({});
    expect(driver.mapError(await driver.place(order(), BTC).catch((e: unknown) => e))).toMatchObject({ reason: 'INVALID_ORDER', code: 'EQuery:Unknown asset pair' });

    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostAddOrder = () => ok({ txid: ['OTX-2'] });
    await expect(driver.place(order(), BTC)).resolves.toBe('OTX-2');
    expect(venue.calls.filter((c) => c.fn === 'privatePostAddOrder')).toHaveLength(1);
  });

  it('cancel by txid or by client id; a count of 0 (or no result) is a refused cancel: UNKNOWN_ORDER', async () => {
    driver = await started();
    venue.handlers.privatePostCancelOrder = () => ok({ count: 1 });
    await driver.cancel(order({ venueOrderId: 'O1' }));
    await driver.cancel(order());
    expect(venue.calls.map((c) => c.params)).toEqual([{ txid: 'O1' }, { cl_ord_id: 'c1' }]);
    venue.handlers.privatePostCancelOrder = () => ok({ count: 0 });
    expect(driver.mapError(await driver.cancel(order({ venueOrderId: 'O1' })).catch((e: unknown) => e)).reason).toBe('UNKNOWN_ORDER');
    venue.handlers.privatePostCancelOrder = () => ({ error: [] });
    expect(driver.mapError(await driver.cancel(order({ venueOrderId: 'O1' })).catch((e: unknown) => e)).reason).toBe('UNKNOWN_ORDER');
  });

  it.each([
    ['open', '0', 'open'],
    ['pending', '0', 'pending'],
    ['canceled', '0.004', 'cancelled'],
    ['expired', '0', 'expired'],
    ['closed', '0.01', 'filled'],
    // closed short of the full quantity (an IOC remainder): not filled
    ['closed', '0.004', 'expired'],
  ] as const)('status %s with %s executed is %s', async (status, exec, state) => {
    driver = await started();
    venue.handlers.privatePostQueryOrders = () => ok({ O1: info({ status, vol_exec: exec }) });
    const v = await driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'O1' });
    expect(v).toMatchObject({ state, filledQty: exec });
  });

  it('order view: post-only flag, market without price, reason text, trade ids, time in ms; a missing entry is no view, one that cannot be read a failed read', async () => {
    driver = await started();
    const fetch = async (j: KrakenOrderInfo | undefined) => {
      venue.handlers.privatePostQueryOrders = () => ok(j ? { O1: j } : {});
      return driver!.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'O1' });
    };
    expect(await fetch(info({ oflags: 'fciq,post', trades: ['T1', 'T2'], reason: 'User requested' }))).toEqual({
      venueOrderId: 'O1', symbol: 'BTC/USD', side: 'buy', type: 'limit', qty: '0.01000000', filledQty: '0.00000000', state: 'open', tif: 'POST_ONLY',
      createdTs: 1764928800123, clientOrderId: 'c1', price: '64000.0', text: 'kraken: User requested', tradeIds: ['T1', 'T2'],
    });
    const m = await fetch(info({ cl_ord_id: null, descr: { pair: 'XXBTZUSD', type: 'sell', ordertype: 'market', price: '0' }, vol_exec: '' }));
    expect(m).toMatchObject({ type: 'market', side: 'sell', filledQty: '0', tif: 'GTC' });
    expect(m!.price).toBeUndefined();
    expect(m!.clientOrderId).toBeUndefined();
    expect(venue.calls.find((c) => c.fn === 'privatePostQueryOrders')!.params).toEqual({ txid: 'O1', trades: true, consolidate_taker: false });
    // Kraken has the order (asked for by its txid) but it cannot be read as ours: never "unknown"
    // (the order would be taken for one that never reached the venue), a failed read instead
    await expect(fetch(info({ descr: { pair: 'ETHUSD', type: 'buy', ordertype: 'limit', price: '1' } }))).rejects.toThrow(/order O1 is on pair ETHUSD/);
    await expect(fetch({ ...info(), descr: undefined } as unknown as KrakenOrderInfo)).rejects.toThrow(/maps to no configured instrument/);
    expect(await fetch(undefined)).toBeUndefined();
  });

  it('fetchOrder by txid: EOrder:Invalid order / Unknown order is no order; a rate limit propagates', async () => {
    driver = await started();
    venue.handlers.privatePostQueryOrders = () => {
      throw new Error('kraken {"error":["EOrder:Invalid order"]}');
    };
    await expect(driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'O1' })).resolves.toBeUndefined();
    venue.handlers.privatePostQueryOrders = () => {
      throw new Error('kraken {"error":["EAPI:Rate limit exceeded"]}');
    };
    await expect(driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'O1' })).rejects.toThrow(/Rate limit/);
  });

  it('a lost submit answer is resolved by client id: open orders, then closed orders, else absent', async () => {
    driver = await started();
    venue.handlers.privatePostOpenOrders = () => ok({ open: { O9: info({ cl_ord_id: 'someone-else' }), O1: info() } });
    // found open, then read by its txid: the view, its vol_exec and its trade ids from that one answer
    venue.handlers.privatePostQueryOrders = () => ok({ O1: info({ vol_exec: '0.004', trades: ['T1'] }) });
    expect(await driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1' })).toMatchObject({ venueOrderId: 'O1', filledQty: '0.004', tradeIds: ['T1'] });
    expect(venue.calls.map((c) => c.fn)).toEqual(['privatePostOpenOrders', 'privatePostQueryOrders']);
    // OpenOrders without trade ids (it cannot be asked for unconsolidated ones); QueryOrders and ClosedOrders with consolidate_taker=false
    expect(venue.calls.map((c) => c.params)).toEqual([{ cl_ord_id: 'c1' }, { txid: 'O1', trades: true, consolidate_taker: false }]);
    // listed open, then not found by its txid: a failed read, never "unknown"
    venue.handlers.privatePostQueryOrders = () => ok({});
    await expect(driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1' })).rejects.toThrow(/listed open, then QueryOrders did not find it/);

    venue.calls.length = 0;
    venue.handlers.privatePostOpenOrders = () => ok({ open: {} });
    venue.handlers.privatePostClosedOrders = () => ok({ closed: { O2: info({ status: 'closed', vol_exec: '0.01' }) } });
    expect(await driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1' })).toMatchObject({ venueOrderId: 'O2', state: 'filled' });
    expect(venue.calls.map((c) => c.params)).toEqual([{ cl_ord_id: 'c1' }, { cl_ord_id: 'c1', trades: true, consolidate_taker: false }]);

    venue.handlers.privatePostOpenOrders = () => ({ error: [] });
    venue.handlers.privatePostClosedOrders = () => ({ error: [] });
    expect(await driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1' })).toBeUndefined();
  });

  it('fills: QueryTrades in chunks of 20, fee in quote, maker flag, trades of other orders dropped; one of ours that cannot be read fails the read', async () => {
    driver = await started();
    const ids = Array.from({ length: 21 }, (_, k) => `T${k}`);
    venue.handlers.privatePostQueryTrades = (p) => {
      const asked = String(p!.txid).split(',');
      if (asked.length === 20) return ok({ T0: trade(), T1: trade({ maker: false }), T2: trade({ ordertxid: 'O2', pair: 'XETHZUSD' }), T4: trade({ maker: undefined }) });
      return ok({});
    };
    // two taker fills from before the driver started: Kraken's consolidated view is asked too (it lists each as itself)
    venue.handlers.privatePostQueryOrders = () => ok({ O1: info({ vol_exec: '0.012', trades: ids }) });
    const fills = await driver.fetchFills(view({ tradeIds: ids, filledQty: '0.012' }));
    expect(venue.calls.filter((c) => c.fn === 'privatePostQueryTrades').map((c) => String(c.params!.txid).split(',').length)).toEqual([20, 1]);
    expect(fills.map((f) => [f.tradeId, f.liquidity])).toEqual([['T0', 'maker'], ['T1', 'taker'], ['T4', undefined]]);
    expect(fills[0]).toEqual({ tradeId: 'T0', venueOrderId: 'O1', symbol: 'BTC/USD', price: '64000.0', qty: '0.004', fee: '1.0240', feeAsset: 'USD', ts: 1764928801500, liquidity: 'maker', side: 'buy' });
    // a trade of this order that maps to no instrument would never be booked: the read fails
    venue.handlers.privatePostQueryTrades = () => ok({ T0: trade(), T3: trade({ pair: 'XETHZUSD' }) });
    await expect(driver.fetchFills(view({ tradeIds: ['T0', 'T3'] }))).rejects.toThrow(/trade T3 of order O1 is on pair XETHZUSD/);
  });

  it('fills of a view without trade ids: the order is asked for them first; none known is no QueryTrades', async () => {
    driver = await started();
    venue.handlers.privatePostQueryOrders = () => ok({ O1: info({ trades: ['TX'], vol_exec: '0.004' }) });
    venue.handlers.privatePostQueryTrades = () => ok({ TX: trade() });
    expect((await driver.fetchFills(view())).map((f) => f.tradeId)).toEqual(['TX']);
    expect(venue.calls.map((c) => c.fn)).toEqual(['privatePostQueryOrders', 'privatePostQueryTrades']);

    venue.calls.length = 0;
    venue.handlers.privatePostQueryOrders = () => ok({});
    expect(await driver.fetchFills(view({ clientOrderId: 'c1' }))).toEqual([]);
    expect(venue.calls.map((c) => c.fn)).toEqual(['privatePostQueryOrders']);
  });

  it('fetchOpenOrders keeps our symbols only', async () => {
    driver = await started();
    venue.handlers.privatePostOpenOrders = () => ok({ open: { O1: info(), O2: info({ descr: { pair: 'ETHUSD', type: 'buy', ordertype: 'limit', price: '1' } }) } });
    expect((await driver.fetchOpenOrders(['BTC/USD'])).map((v) => v.venueOrderId)).toEqual(['O1']);
    expect(await driver.fetchOpenOrders(['SOL/USD'])).toEqual([]);
    venue.handlers.privatePostOpenOrders = () => ({ error: [] });
    expect(await driver.fetchOpenOrders(['BTC/USD'])).toEqual([]);
  });

  it('fetchFillsSince: start one second early, paged by ofs until count, filtered by ms and symbol', async () => {
    driver = await started();
    const since = 1764928801500;
    venue.handlers.privatePostTradesHistory = (p) =>
      p!.ofs === 0
        ? ok({ trades: { A: trade({ time: 1764928801.4 }), B: trade() }, count: 4 })
        : ok({ trades: { C: trade({ time: 1764928802, pair: 'XBTUSD' }), D: trade({ pair: 'XETHZUSD' }) }, count: 4 });
    expect((await driver.fetchFillsSince(['BTC/USD'], since)).map((f) => f.tradeId)).toEqual(['B', 'C']);
    // consolidate_taker=false: single fills, with the ids and prices the executions stream gives
    expect(venue.calls.filter((c) => c.fn === 'privatePostTradesHistory').map((c) => c.params)).toEqual([
      { start: 1764928800, ofs: 0, consolidate_taker: false },
      { start: 1764928800, ofs: 2, consolidate_taker: false },
    ]);

    // an empty page ends paging even when count says more; a missing result is no fills
    venue.calls.length = 0;
    venue.handlers.privatePostTradesHistory = () => ok({ trades: {}, count: 10 });
    expect(await driver.fetchFillsSince(['BTC/USD'], since)).toEqual([]);
    expect(venue.calls).toHaveLength(1);
    venue.handlers.privatePostTradesHistory = () => ({ error: [] });
    expect(await driver.fetchFillsSince(['BTC/USD'], since)).toEqual([]);
  });

  it('a taker match from before the driver started is one trade under its consolidated id, the same from fetchFills and fetchFillsSince; a match since is its single fills; trades adding past vol_exec fail the read', async () => {
    driver = await started(); // connected at 2026-12-05T10:00:00Z; these trades are a year older
    const early = 1764928801.5;
    const since = Date.parse('2026-12-05T10:00:05Z') / 1000;
    const trades: Record<string, KrakenTradeInfo> = {
      // one taker match across two levels (one time), then a maker fill of the same order
      TA: trade({ time: early, maker: false, vol: '0.001', price: '64000.0', fee: '0.0256' }),
      TB: trade({ time: early, maker: false, vol: '0.003', price: '64000.5', fee: '0.0768' }),
      TC: trade({ time: early + 10, vol: '0.002' }),
      // a match made since the driver started (order O2)
      TD: trade({ ordertxid: 'O2', time: since, maker: false, vol: '0.001' }),
      TE: trade({ ordertxid: 'O2', time: since, maker: false, vol: '0.002', price: '64000.5' }),
    };
    venue.handlers.privatePostQueryTrades = (p) => ok(Object.fromEntries(String(p!.txid).split(',').map((id) => [id, trades[id]!])));
    // Kraken's default view lists the match under its first fill's id; single fills each under its own
    venue.handlers.privatePostQueryOrders = (p) => ok({ O1: info({ vol_exec: '0.006', trades: p!.consolidate_taker === true ? ['TA', 'TC'] : ['TA', 'TB', 'TC'] }) });
    venue.handlers.privatePostTradesHistory = () => ok({ trades, count: 5 });
    const match = { tradeId: 'TA', venueOrderId: 'O1', symbol: 'BTC/USD', price: '64000.4', qty: '0.004', fee: '0.1024', feeAsset: 'USD', ts: 1764928801500, liquidity: 'taker' };
    const fills = await driver.fetchFills(view({ tradeIds: ['TA', 'TB', 'TC'], filledQty: '0.006' }));
    // quantity and fee summed; the price the average (64000.375) to the tick, half up
    expect(fills.map((f) => f.tradeId).sort()).toEqual(['TA', 'TC']);
    expect(fills.find((f) => f.tradeId === 'TA')).toEqual(match);
    expect(venue.calls.filter((c) => c.fn === 'privatePostQueryOrders').map((c) => c.params!.consolidate_taker)).toEqual([true, false]);
    const history = await driver.fetchFillsSince(['BTC/USD'], 1764928801000);
    expect(history.find((f) => f.tradeId === 'TA')).toEqual(match);
    // the match since the start: its single fills, Kraken's consolidated view not asked for it
    expect(history.map((f) => f.tradeId).sort()).toEqual(['TA', 'TC', 'TD', 'TE']);
    expect(venue.calls.filter((c) => c.fn === 'privatePostQueryOrders').map((c) => c.params!.txid)).toEqual(['O1', 'O1', 'O1', 'O1']);
    // what is reported of an order never adds up past its vol_exec
    await expect(driver.fetchFills(view({ tradeIds: ['TA', 'TB', 'TC'], filledQty: '0.005' }))).rejects.toThrow(/add up past its vol_exec 0.005/);
    // a match Kraken's default view does not name by one id: the read fails (booked as fills, one a journal held as the match would be new)
    venue.handlers.privatePostQueryOrders = (p) => ok({ O1: info({ vol_exec: '0.006', trades: p!.consolidate_taker === true ? ['TC'] : ['TA', 'TB', 'TC'] }) });
    await expect(driver.fetchFills(view({ tradeIds: ['TA', 'TB', 'TC'], filledQty: '0.006' }))).rejects.toThrow(/order O1: its fills TA, TB .* consolidated under no one trade id/);
  });

  it('fetchFillsSince: a trade a page shift lists twice (a new trade made between pages) is counted once, also inside a taker match from before the start', async () => {
    driver = await started();
    // O1's taker match (TA, TB at one time) made while the process was down, and 49 newer maker fills of OX
    const TA = trade({ time: 1764928801.5, maker: false, vol: '0.001', price: '64000.0', fee: '0.0256' });
    const TB = trade({ time: 1764928801.5, maker: false, vol: '0.003', price: '64000.5', fee: '0.0768' });
    const newer: Record<string, KrakenTradeInfo> = {};
    for (let k = 0; k < 49; k++) newer[`X${k}`] = trade({ ordertxid: 'OX', maker: true, time: 1764928900 + k, vol: '0.001' });
    // page 1: the 49 newer and TB; a trade made before page 2 pushes TB to ofs 50, read again
    venue.handlers.privatePostTradesHistory = (p) => (p!.ofs === 0 ? ok({ trades: { ...newer, TB }, count: 51 }) : ok({ trades: { TB, TA }, count: 52 }));
    venue.handlers.privatePostQueryOrders = (p) => ok({
      O1: info({ status: 'closed', vol: '0.004', vol_exec: '0.004', trades: p!.consolidate_taker === true ? ['TA'] : ['TA', 'TB'] }),
      OX: info({ cl_ord_id: 'cx', vol: '1', vol_exec: '0.049', trades: Object.keys(newer) }),
    });
    const fills = await driver.fetchFillsSince(['BTC/USD'], 1764928801000);
    expect(venue.calls.filter((c) => c.fn === 'privatePostTradesHistory')).toHaveLength(2);
    expect(fills.filter((f) => f.venueOrderId === 'O1')).toEqual([{ tradeId: 'TA', venueOrderId: 'O1', symbol: 'BTC/USD', price: '64000.4', qty: '0.004', fee: '0.1024', feeAsset: 'USD', ts: 1764928801500, liquidity: 'taker' }]);
    expect(fills.filter((f) => f.venueOrderId === 'OX')).toHaveLength(49);
    expect(new Set(fills.map((f) => f.tradeId)).size).toBe(fills.length);

    // the anchor of the match repeated (the shift at another page boundary): still one match
    venue.handlers.privatePostTradesHistory = (p) => (p!.ofs === 0 ? ok({ trades: { ...newer, TA }, count: 51 }) : ok({ trades: { TA, TB }, count: 52 }));
    expect((await driver.fetchFillsSince(['BTC/USD'], 1764928801000)).filter((f) => f.venueOrderId === 'O1').map((f) => [f.tradeId, f.qty])).toEqual([['TA', '0.004']]);
  });

  it('fetchFillsSince: a taker match adding up past its order\'s vol_exec fails the read, never booked', async () => {
    driver = await started();
    const TA = trade({ time: 1764928801.5, maker: false, vol: '0.001', price: '64000.0', fee: '0.0256' });
    const TB = trade({ time: 1764928801.5, maker: false, vol: '0.003', price: '64000.5', fee: '0.0768' });
    venue.handlers.privatePostTradesHistory = () => ok({ trades: { TB, TA }, count: 2 });
    venue.handlers.privatePostQueryOrders = (p) => ok({ O1: info({ status: 'closed', vol: '0.004', vol_exec: '0.003', trades: p!.consolidate_taker === true ? ['TA'] : ['TA', 'TB'] }) });
    await expect(driver.fetchFillsSince(['BTC/USD'], 1764928801000)).rejects.toThrow(/trades read for order O1 add up past its vol_exec 0.003; not used/);
  });

  it('fetchFillsSince past its 200 pages (10,050 trades since the last fill) fails the read; never 10,000 returned as if complete', async () => {
    driver = await started();
    const N = 10_050;
    const since = 1764928800000;
    // newest first, as Kraken lists them: the 50 left past the cap are the oldest, the first made after the journal's last fill
    const all = Array.from({ length: N }, (_, k): [string, KrakenTradeInfo] => [`T${String(N - k).padStart(6, '0')}`, trade({ time: since / 1000 + (N - k), vol: '0.0001' })]);
    venue.handlers.privatePostTradesHistory = (p) => {
      const ofs = Number(p!.ofs);
      return ok({ trades: Object.fromEntries(all.slice(ofs, ofs + 50)), count: N });
    };
    await expect(driver.fetchFillsSince(['BTC/USD'], since)).rejects.toThrow(/TradesHistory did not end after 200 pages of 50; not used incomplete/);
    expect(venue.calls.filter((c) => c.fn === 'privatePostTradesHistory')).toHaveLength(200);
    // exactly 200 pages' worth ends on the last page: complete
    venue.handlers.privatePostTradesHistory = (p) => {
      const ofs = Number(p!.ofs);
      return ok({ trades: Object.fromEntries(all.slice(ofs, Math.min(ofs + 50, 10_000))), count: 10_000 });
    };
    expect(await driver.fetchFillsSince(['BTC/USD'], since)).toHaveLength(10_000);
  });

  it('balances: REST asset names as v2 codes; staking/earn balances left out', async () => {
    driver = await started();
    venue.handlers.privatePostBalance = () => ok({ XXBT: '0.5', ZUSD: '1000.00', 'ETH2.S': '3', 'DOT.F': '1', USDT: '7', ZETA: '12.5', XAUT: '0.25' });
    expect(await driver.fetchBalances()).toEqual([
      { asset: 'BTC', total: '0.5' },
      { asset: 'USD', total: '1000.00' },
      { asset: 'USDT', total: '7' },
      { asset: 'ZETA', total: '12.5' },
      { asset: 'XAUT', total: '0.25' },
    ]);
    venue.handlers.privatePostBalance = () => ({ error: [] });
    expect(await driver.fetchBalances()).toEqual([]);
  });

  it("AddOrder's deadline is set when it leaves the nonce queue: held behind a slow query, it still reaches Kraken with the whole order_deadline_ms", async () => {
    const clock = new ManualClock(Date.parse('2026-12-05T10:00:00Z'));
    driver = newDriver(() => {}, clock); // order_deadline_ms 5000
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostOpenOrders = () => ok({ open: {} });
    await driver.connect();
    // a poll's QueryOrders answered 4.5 s later, within rest_timeout_ms
    let answer!: () => void;
    venue.handlers.privatePostQueryOrders = () => new Promise((r) => (answer = () => r(ok({})))) as never;
    const polled = driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c0', venueOrderId: 'O0' });
    await vi.waitFor(() => expect(venue.calls.some((c) => c.fn === 'privatePostQueryOrders')).toBe(true));
    let sentAt = 0;
    venue.handlers.privatePostAddOrder = () => {
      sentAt = clock.now();
      return ok({ txid: ['OTX-1'] });
    };
    const placed = driver.place(order(), BTC);
    await new Promise((r) => setImmediate(r));
    expect(venue.calls.map((c) => c.fn)).not.toContain('privatePostAddOrder');
    clock.advance(4_500);
    answer();
    await polled;
    await expect(placed).resolves.toBe('OTX-1');
    const add = venue.calls.find((c) => c.fn === 'privatePostAddOrder')!;
    // set before the wait, 0.5 s would be left: under Kraken's minimum of now + 2 s, refused
    expect(Date.parse(String(add.params!.deadline)) - sentAt).toBe(5_000);
  });

  it('private calls run one at a time even after a failure (nonce order)', async () => {
    driver = await started();
    let inFlight = 0;
    let maxInFlight = 0;
    venue.handlers.privatePostBalance = async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      throw new Error('kraken {"error":["EService:Busy"]}');
    };
    const all = await Promise.allSettled([driver.fetchBalances(), driver.fetchBalances(), driver.fetchBalances()]);
    expect(all.every((r) => r.status === 'rejected')).toBe(true);
    expect(maxInFlight).toBe(1);
  });

  it('a cancel and an order are sent at once while a query waits for the REST counter (they draw from the trading counter only)', async () => {
    // the REST counter: 2 calls per 20 s, and the clock does not move: a query that waits for it waits until close
    driver = new KrakenOrderDriver({
      exchange: 'kraken', restRoot: 'http://127.0.0.1:1', options: { ...DEFAULT_KRAKEN_OPTIONS, private_requests_per_interval: 2, private_interval_ms: 20_000 }, clock: new ManualClock(Date.parse('2026-12-05T10:00:00Z')),
      apiKey: new Secret('key'), apiSecret: new Secret('c2VjcmV0'), instrument: (s) => (s === 'BTC/USD' ? BTC : undefined), symbols: () => ['BTC/USD'],
    });
    venue.handlers.publicGetAssetPairs = () => ok(PAIRS);
    venue.handlers.privatePostOpenOrders = () => ok({ open: {} });
    venue.handlers.privatePostQueryOrders = () => ok({ O1: info() });
    venue.handlers.privatePostCancelOrder = () => ok({ count: 1 });
    venue.handlers.privatePostAddOrder = () => ok({ txid: ['OTX-2'] });
    await driver.connect(); // OpenOrders: the first REST call
    await driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'O1' }); // the second
    venue.calls.length = 0;
    const waiting = driver.fetchOrder({ symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'O1' }).catch((e: unknown) => e);
    // the kill switch cancels, the strategy places: no timer stands between either and the venue
    const cancelled = driver.cancel(order({ venueOrderId: 'O1' }));
    const placed = driver.place(order({ clientOrderId: 'c2' }), BTC);
    await new Promise((r) => setImmediate(r));
    expect(venue.calls.map((c) => c.fn)).toEqual(['privatePostCancelOrder', 'privatePostAddOrder']);
    await cancelled;
    expect(await placed).toBe('OTX-2');
    driver.close();
    expect(String(await waiting)).toMatch(/rate limiter closed/);
    expect(venue.calls.map((c) => c.fn)).not.toContain('privatePostQueryOrders');
  });
});
