/**
 * CoinbaseOrderDriver called directly with a scripted ccxt (no network): each order type / TIF,
 * refused cancels, lost answers, malformed venue answers and pagination. The round trip through
 * real ccxt signing is covered by execution.integration.test.ts.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { ManualClock, defineInstrument, priceToTicks, qtyToLots, type ExecutionReport, type Instrument, type Order } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { createLogger } from '@cwts/core/observability';
import { PolledExecutionClient } from '@cwts/core/adapter-kit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CoinbaseOrderDriver, type CoinbaseFillJson, type CoinbaseOrderJson } from '../src/execution.js';
import { DEFAULT_COINBASE_OPTIONS } from '../src/options.js';

/** The scripted venue (@cwts/core/testing scriptedCcxt): each test sets the endpoints it needs; calls are recorded. */
const venue = await vi.hoisted(async () => (await import('@cwts/core/testing')).scriptedCcxt());
vi.mock('ccxt', () => venue.module('coinbase', { urls: { api: { rest: 'https://api.coinbase.com', other: 'https://x', nested: { a: 'b' } } } }));

const BTC: Instrument = defineInstrument({ exchange: 'coinbase', symbol: 'BTC-USD', base: 'BTC', quote: 'USD', tickSize: '0.01', lotSize: '0.00000001', minNotional: '1' });
const KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const PEM = KEY.export({ type: 'sec1', format: 'pem' }) as string;
/** As in Coinbase's key file: newlines escaped as \\n. */
const PEM_ESCAPED = PEM.replace(/\n/g, '\\n');

function order(extra: Partial<Order> = {}): Order {
  return {
    exchange: 'coinbase', symbol: 'BTC-USD', side: 'buy', type: 'limit', price: priceToTicks(BTC, '64000.00'), qty: qtyToLots(BTC, '0.01'), tif: 'GTC', source: 't',
    clientOrderId: 'c1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0,
    ...extra,
  } as Order;
}

function orderJson(extra: Partial<CoinbaseOrderJson> = {}): CoinbaseOrderJson {
  return {
    order_id: 'v1', product_id: 'BTC-USD', side: 'BUY', client_order_id: 'c1', status: 'OPEN', time_in_force: 'GOOD_UNTIL_CANCELLED', created_time: '2026-12-05T10:00:00Z',
    filled_size: '0', order_configuration: { limit_limit_gtc: { base_size: '0.01', limit_price: '64000', post_only: false } },
    // what Coinbase writes on every order it did not reject (the enum's zero value, never absent)
    reject_reason: 'REJECT_REASON_UNSPECIFIED',
    ...extra,
  };
}

function fillJson(extra: Partial<CoinbaseFillJson> = {}): CoinbaseFillJson {
  return { entry_id: 'e1', trade_id: 't1', order_id: 'v1', trade_time: '2026-12-05T10:00:01Z', price: '64000', size: '0.004', commission: '1.28', product_id: 'BTC-USD', liquidity_indicator: 'MAKER', side: 'BUY', ...extra };
}

/** A time in the tests' December 2026. */
const T0 = Date.parse('2026-12-05T10:00:00Z');

/** A logger whose warnings are kept (each record parsed). */
function capture() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  const logger = createLogger({ level: 'debug', destination: dest as never, pretty: false });
  return { logger, warnings: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.level === 40) };
}

/**
 * The account's orders of one product as the venue lists them (orders/historical/batch): newest
 * first, those created at or after `start_date` only, 250 a page behind a cursor.
 */
function orderHistory(all: readonly CoinbaseOrderJson[]) {
  const newestFirst = all.map((o) => ({ o, at: Date.parse(o.created_time!) })).sort((a, b) => b.at - a.at);
  return (params: Record<string, unknown>) => {
    const from = typeof params.start_date === 'string' ? Date.parse(params.start_date) : -Infinity;
    const list = newestFirst.filter((x) => x.at >= from).map((x) => x.o);
    const start = Number(params.cursor ?? 0);
    const next = start + 250 < list.length;
    return { orders: list.slice(start, start + 250), has_next: next, cursor: next ? String(start + 250) : '' };
  };
}

async function started(opts: Partial<typeof DEFAULT_COINBASE_OPTIONS> = {}) {
  const d = new CoinbaseOrderDriver({
    exchange: 'coinbase', restRoot: 'http://127.0.0.1:1', options: { ...DEFAULT_COINBASE_OPTIONS, private_requests_per_second: 10_000, ...opts }, clock: new ManualClock(0),
    apiKey: new Secret('organizations/o/apiKeys/k'), apiSecret: new Secret(PEM_ESCAPED), instrument: (s) => (s === 'BTC-USD' ? BTC : undefined),
  });
  venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [] });
  await d.connect();
  venue.calls.length = 0;
  return d;
}

describe('CoinbaseOrderDriver (scripted venue)', () => {
  let driver: CoinbaseOrderDriver | undefined;
  beforeEach(() => venue.reset());
  afterEach(() => {
    driver?.close();
    driver = undefined;
  });

  it('connect: unescapes the key file PEM, re-roots every REST url, and checks the key with one signed request', async () => {
    driver = await started();
    expect(venue.ctorConfig!.secret).toBe(PEM);
    expect(venue.ctorConfig!.enableRateLimit).toBe(false);
    expect(driver.hasCredentials).toBe(true);
    expect(driver.pendingTimers()).toBe(0);
  });

  it('connect: hands ccxt the SEC1 PEM with its public key whatever P-256 form the key came in (its signer reads no other)', async () => {
    const der = KEY.export({ type: 'sec1', format: 'der' });
    // `openssl ec -no_public`: ECPrivateKey's version, key and curve, without the [1] public key
    const noPublic = Buffer.concat([Buffer.from([0x30, 0x31]), der.subarray(2, 2 + 0x31)]);
    const noPublicPem = `-----BEGIN EC PRIVATE KEY-----\n${noPublic.toString('base64')}\n-----END EC PRIVATE KEY-----\n`;
    expect(createPrivateKey(noPublicPem).export({ type: 'sec1', format: 'der' }).length).toBeLessThan(der.length);
    for (const pem of [KEY.export({ type: 'pkcs8', format: 'pem' }) as string, noPublicPem]) {
      venue.reset();
      const d = new CoinbaseOrderDriver({
        exchange: 'coinbase', restRoot: 'http://127.0.0.1:1', options: DEFAULT_COINBASE_OPTIONS, clock: new ManualClock(0),
        apiKey: new Secret('organizations/o/apiKeys/k'), apiSecret: new Secret(pem.replace(/\n/g, '\\n')), instrument: () => BTC,
      });
      venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [] });
      await d.connect();
      d.close();
      expect(venue.ctorConfig!.secret).toBe(PEM);
    }
  });

  it('connect: a secret that is no P-256 key fails, never naming the key', async () => {
    const d = new CoinbaseOrderDriver({
      exchange: 'coinbase', restRoot: 'http://127.0.0.1:1', options: DEFAULT_COINBASE_OPTIONS, clock: new ManualClock(0),
      apiKey: new Secret('organizations/o/apiKeys/k'), apiSecret: new Secret('-----BEGIN EC PRIVATE KEY-----\\nAAAA\\n-----END EC PRIVATE KEY-----\\n'), instrument: () => BTC,
    });
    await expect(d.connect()).rejects.toThrow(/^coinbase api_secret is not a PEM EC private key$/);
  });

  it('has no credentials when either secret is missing or empty', () => {
    const base = { exchange: 'coinbase', restRoot: 'x', options: DEFAULT_COINBASE_OPTIONS, clock: new ManualClock(0), instrument: () => undefined };
    expect(new CoinbaseOrderDriver(base).hasCredentials).toBe(false);
    expect(new CoinbaseOrderDriver({ ...base, apiKey: new Secret('k'), apiSecret: new Secret('') }).hasCredentials).toBe(false);
  });

  it('refuses to call the venue before connect', async () => {
    const d = new CoinbaseOrderDriver({ exchange: 'coinbase', restRoot: 'x', options: DEFAULT_COINBASE_OPTIONS, clock: new ManualClock(0), instrument: () => BTC });
    await expect(d.place(order(), BTC)).rejects.toThrow(/execution not started/);
  });

  it('market orders are IOC only', () => {
    const d = new CoinbaseOrderDriver({ exchange: 'coinbase', restRoot: 'x', options: DEFAULT_COINBASE_OPTIONS, clock: new ManualClock(0), instrument: () => BTC });
    expect(d.unsupported(order({ type: 'market', tif: 'FOK' }))).toMatch(/immediate-or-cancel only \(got FOK\)/);
    expect(d.unsupported(order({ type: 'market', tif: 'IOC' }))).toBeUndefined();
    expect(d.unsupported(order({ type: 'limit', tif: 'FOK' }))).toBeUndefined();
  });

  it.each([
    [{ type: 'market', tif: 'IOC' }, { market_market_ioc: { base_size: '0.01' } }],
    [{ tif: 'IOC' }, { sor_limit_ioc: { base_size: '0.01', limit_price: '64000' } }],
    [{ tif: 'FOK' }, { limit_limit_fok: { base_size: '0.01', limit_price: '64000' } }],
    [{ tif: 'GTC' }, { limit_limit_gtc: { base_size: '0.01', limit_price: '64000', post_only: false } }],
    [{ tif: 'POST_ONLY' }, { limit_limit_gtc: { base_size: '0.01', limit_price: '64000', post_only: true } }],
  ] as const)('place %j sends order_configuration %j', async (o, cfg) => {
    driver = await started();
    venue.handlers.v3PrivatePostBrokerageOrders = () => ({ success: true, success_response: { order_id: 'v9' } });
    await expect(driver.place(order({ ...(o as Partial<Order>), side: 'sell' }), BTC)).resolves.toBe('v9');
    expect(venue.calls[0]!.params).toEqual({ client_order_id: 'c1', product_id: 'BTC-USD', side: 'SELL', order_configuration: cfg });
  });

  it('place: takes a top-level order_id; a success without an id, or success false, is not an ack', async () => {
    driver = await started();
    venue.handlers.v3PrivatePostBrokerageOrders = () => ({ success: true, order_id: 'v2' });
    await expect(driver.place(order(), BTC)).resolves.toBe('v2');
    venue.handlers.v3PrivatePostBrokerageOrders = () => ({ success: true });
    await expect(driver.place(order(), BTC)).rejects.toThrow(/coinbase \{"success":true\}/);
    venue.handlers.v3PrivatePostBrokerageOrders = () => ({ success: false, error_response: { error: 'INSUFFICIENT_FUND' } });
    const err = await driver.place(order(), BTC).catch((e: unknown) => e);
    expect(driver.mapError(err).reason).toBe('INSUFFICIENT_BALANCE');
  });

  it('cancel: by venue id; a refused cancel (HTTP 200, success false) is mapped from failure_reason', async () => {
    driver = await started();
    venue.handlers.v3PrivatePostBrokerageOrdersBatchCancel = (p) => ({ results: [{ success: true, order_id: (p.order_ids as string[])[0] }] });
    await driver.cancel(order({ venueOrderId: 'v1' }));
    expect(venue.calls[0]!.params).toEqual({ order_ids: ['v1'] });

    venue.handlers.v3PrivatePostBrokerageOrdersBatchCancel = () => ({ results: [{ success: false, failure_reason: 'DUPLICATE_CANCEL_REQUEST', order_id: 'v1' }] });
    const err = await driver.cancel(order({ venueOrderId: 'v1' })).catch((e: unknown) => e);
    expect(driver.mapError(err)).toMatchObject({ reason: 'VENUE_ERROR', code: 'DUPLICATE_CANCEL_REQUEST' });

    // a result for another id only: the first result is the answer
    venue.handlers.v3PrivatePostBrokerageOrdersBatchCancel = () => ({ results: [{ success: false, failure_reason: 'UNKNOWN_CANCEL_ORDER', order_id: 'zz' }] });
    expect(driver.mapError(await driver.cancel(order({ venueOrderId: 'v1' })).catch((e: unknown) => e)).reason).toBe('UNKNOWN_ORDER');

    // no results at all: refused, never taken as done
    venue.handlers.v3PrivatePostBrokerageOrdersBatchCancel = () => ({});
    await expect(driver.cancel(order({ venueOrderId: 'v1' }))).rejects.toThrow(/coinbase \{\}/);
  });

  it('cancel without a venue id searches recent orders by client id (paged); not found is UNKNOWN_ORDER without a cancel request', async () => {
    driver = await started({ order_search_pages: 2 });
    let page = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => (++page === 1 ? { orders: [orderJson({ client_order_id: 'other' })], has_next: true, cursor: 'p2' } : { orders: [orderJson({ order_id: 'v7' })], has_next: false });
    venue.handlers.v3PrivatePostBrokerageOrdersBatchCancel = () => ({ results: [{ success: true, order_id: 'v7' }] });
    await driver.cancel(order());
    expect(venue.calls.map((c) => c.fn)).toEqual(['v3PrivateGetBrokerageOrdersHistoricalBatch', 'v3PrivateGetBrokerageOrdersHistoricalBatch', 'v3PrivatePostBrokerageOrdersBatchCancel']);
    expect(venue.calls[1]!.params.cursor).toBe('p2');
    expect(venue.calls[2]!.params).toEqual({ order_ids: ['v7'] });

    // the list read to its end without it: UNKNOWN_ORDER, no cancel is sent
    venue.calls.length = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [orderJson({ client_order_id: 'other' })], has_next: false });
    expect(driver.mapError(await driver.cancel(order()).catch((e: unknown) => e)).reason).toBe('UNKNOWN_ORDER');
    expect(venue.calls.some((c) => c.fn === 'v3PrivatePostBrokerageOrdersBatchCancel')).toBe(false);

    // every page searched without a hit while the list goes on (the page limit stops it): a
    // failed lookup, never UNKNOWN_ORDER (the order may work further down); no cancel is sent
    venue.calls.length = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [], has_next: true, cursor: 'again' });
    const err = await driver.cancel(order()).catch((e: unknown) => e);
    expect(String(err)).toMatch(/not proven absent/);
    expect(driver.mapError(err).reason).not.toBe('UNKNOWN_ORDER');
    expect(venue.calls.filter((c) => c.fn === 'v3PrivateGetBrokerageOrdersHistoricalBatch')).toHaveLength(2);
    expect(venue.calls.some((c) => c.fn === 'v3PrivatePostBrokerageOrdersBatchCancel')).toBe(false);

    // a page that says the list goes on but gives no cursor: a failed read, never "absent"
    venue.calls.length = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ has_next: true });
    await expect(driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1' })).rejects.toThrow(/has_next\) but gives no cursor; order c1 not proven absent/);
    expect(venue.calls).toHaveLength(1);
    // the end of the list (has_next false) without a hit is the answer "absent"
    venue.calls.length = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [], has_next: false });
    await expect(driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1' })).resolves.toBeUndefined();
  });

  it('fetchOrder by client id: a search still going after order_search_pages pages is not answered (throws), never "absent"; warned at most once a minute', async () => {
    const clock = new ManualClock(T0);
    const cap = capture();
    driver = new CoinbaseOrderDriver({
      exchange: 'coinbase', restRoot: 'http://127.0.0.1:1', options: { ...DEFAULT_COINBASE_OPTIONS, private_requests_per_second: 10_000, order_search_pages: 3 }, clock, logger: cap.logger,
      apiKey: new Secret('organizations/o/apiKeys/k'), apiSecret: new Secret(PEM_ESCAPED), instrument: (s) => (s === 'BTC-USD' ? BTC : undefined),
    });
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [] });
    await driver.connect();
    venue.calls.length = 0;
    let page = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [orderJson({ order_id: `o${++page}`, client_order_id: `other-${page}` })], has_next: true, cursor: `c${page}` });
    const ref = { symbol: 'BTC-USD', clientOrderId: 'c1', createdTs: T0 };
    await expect(driver.fetchOrder(ref)).rejects.toThrow(/coinbase: order c1 not among the 750 most recent orders of BTC-USD since 2026-12-05T09:55:00.000Z and the list goes on \(order_search_pages = 3\); not proven absent/);
    expect(venue.calls.map((c) => c.params.cursor)).toEqual([undefined, 'c1', 'c2']);
    // asked again at every poll: one warning a minute, not one per lookup
    await expect(driver.fetchOrder(ref)).rejects.toThrow(/not proven absent/);
    clock.advance(59_999);
    await expect(driver.fetchOrder(ref)).rejects.toThrow(/not proven absent/);
    expect(cap.warnings()).toHaveLength(1);
    clock.advance(1);
    await expect(driver.fetchOrder(ref)).rejects.toThrow(/not proven absent/);
    expect(cap.warnings()).toHaveLength(2);
    expect(cap.warnings()[1]).toMatchObject({ clientOrderId: 'c1', searchesCutShort: 4 });
    // the list ending on the page limit's last page is an answer
    page = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => (++page < 3 ? { orders: [], has_next: true, cursor: `c${page}` } : { orders: [], has_next: false });
    await expect(driver.fetchOrder(ref)).resolves.toBeUndefined();
  });

  it("the search by client id covers only orders created since 5 minutes before ours (start_date, the venue's clock may lag ours); an order of unknown time searches the whole history", async () => {
    driver = await started();
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [orderJson({ order_id: 'v5' })], has_next: false });
    expect(await driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1', createdTs: T0 })).toMatchObject({ venueOrderId: 'v5' });
    expect(venue.calls[0]!.params).toEqual({ product_ids: ['BTC-USD'], limit: 250, start_date: '2026-12-05T09:55:00.000Z' });
    // a cancel without a venue id searches from the order's time as well
    venue.handlers.v3PrivatePostBrokerageOrdersBatchCancel = () => ({ results: [{ success: true, order_id: 'v5' }] });
    await driver.cancel(order({ createdTs: T0 + 1000 }));
    expect(venue.calls[1]!.params).toEqual({ product_ids: ['BTC-USD'], limit: 250, start_date: '2026-12-05T09:55:01.000Z' });
    // journaled without a time (0), or none given: no start_date
    venue.calls.length = 0;
    await driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1', createdTs: 0 });
    await driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1' });
    await driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1', createdTs: Number.NaN });
    expect(venue.calls.map((c) => c.params)).toEqual([0, 1, 2].map(() => ({ product_ids: ['BTC-USD'], limit: 250 })));
  });

  it.each([
    ['FILLED', undefined, 'filled'],
    ['CANCELLED', undefined, 'cancelled'],
    ['EXPIRED', undefined, 'expired'],
    ['FAILED', 'INSUFFICIENT_FUND', 'rejected'],
    ['PENDING', undefined, 'pending'],
    ['QUEUED', 'ORDER_ENTRY_DISABLED', 'rejected'],
    ['PENDING', 'INVALID_PRICE', 'rejected'],
    ['OPEN', undefined, 'open'],
    ['CANCEL_QUEUED', undefined, 'open'],
  ] as const)('status %s (reject %s) is %s', async (status, reject, state) => {
    driver = await started();
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalOrderId = () => ({ order: orderJson({ status, ...(reject ? { reject_reason: reject } : {}) }) });
    const v = await driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1', venueOrderId: 'v1' });
    expect(v!.state).toBe(state);
    if (state === 'rejected') expect(v!.text).toBe(`coinbase: ${reject}`);
  });

  // Coinbase fills reject_reason on every order; its zero value (or '') is no reason, so an order
  // still waiting to open is followed, not booked as rejected (a later fill would be lost)
  it.each([
    ['PENDING', 'REJECT_REASON_UNSPECIFIED'],
    ['QUEUED', 'REJECT_REASON_UNSPECIFIED'],
    ['PENDING', ''],
    ['QUEUED', undefined],
  ] as const)('status %s with reject_reason %j is pending, not rejected', async (status, reject) => {
    driver = await started();
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalOrderId = () => ({ order: orderJson({ status, reject_reason: reject }) });
    const v = await driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1', venueOrderId: 'v1' });
    expect(v).toMatchObject({ state: 'pending' });
    expect(v!.text).toBeUndefined();
  });

  it('FAILED with the unspecified reason is still rejected, without the placeholder as its text', async () => {
    driver = await started();
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalOrderId = () => ({ order: orderJson({ status: 'FAILED' }) });
    const v = await driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1', venueOrderId: 'v1' });
    expect(v!.state).toBe('rejected');
    expect(v!.text).toBeUndefined();
  });

  it('order view: TIF, post-only, market type, partial fill, cancel message; unknown product or empty answer is no view', async () => {
    driver = await started();
    const fetch = async (j: CoinbaseOrderJson | undefined) => {
      venue.handlers.v3PrivateGetBrokerageOrdersHistoricalOrderId = () => (j ? { order: j } : {});
      return driver!.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1', venueOrderId: 'v1' });
    };
    expect(await fetch(orderJson({ filled_size: '0.004', side: 'SELL' }))).toEqual({
      venueOrderId: 'v1', symbol: 'BTC-USD', side: 'sell', type: 'limit', qty: '0.01', filledQty: '0.004', state: 'open', tif: 'GTC', clientOrderId: 'c1', price: '64000', createdTs: Date.parse('2026-12-05T10:00:00Z'),
    });
    expect((await fetch(orderJson({ order_configuration: { limit_limit_gtc: { base_size: '1', limit_price: '1', post_only: true } } })))!.tif).toBe('POST_ONLY');
    expect((await fetch(orderJson({ time_in_force: 'IMMEDIATE_OR_CANCEL', order_configuration: { sor_limit_ioc: { base_size: '1', limit_price: '1' } } })))!.tif).toBe('IOC');
    expect((await fetch(orderJson({ time_in_force: 'FILL_OR_KILL' })))!.tif).toBe('FOK');
    const market = await fetch(orderJson({ time_in_force: undefined, order_configuration: { limit_limit_gtc: undefined, market_market_ioc: { base_size: '0.5' } }, created_time: 'garbage', client_order_id: undefined, filled_size: '' }));
    expect(market).toMatchObject({ type: 'market', qty: '0.5', filledQty: '0', tif: 'GTC' });
    expect(market!.price).toBeUndefined();
    expect(market!.createdTs).toBeUndefined();
    expect(market!.clientOrderId).toBeUndefined();
    // no configuration at all, market by order_type: quantity unknown is '0', never a guess
    expect(await fetch(orderJson({ order_configuration: undefined, order_type: 'MARKET' }))).toMatchObject({ type: 'market', qty: '0' });
    expect((await fetch(orderJson({ status: 'CANCELLED', cancel_message: 'User requested cancel' })))!.text).toBe('coinbase: User requested cancel');
    expect(await fetch(orderJson({ product_id: 'DOGE-USD' }))).toBeUndefined();
    expect(await fetch(undefined)).toBeUndefined();
  });

  it('fetchOrder: an unknown venue id is no order (lost answer resolved as absent); other errors propagate', async () => {
    driver = await started();
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalOrderId = () => {
      throw Object.assign(new Error('coinbase {"error":"NOT_FOUND","message":"order not found"}'), { name: 'OrderNotFound' });
    };
    await expect(driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1', venueOrderId: 'v1' })).resolves.toBeUndefined();
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalOrderId = () => {
      throw Object.assign(new Error('coinbase {"error":"rate_limit_exceeded"}'), { name: 'RateLimitExceeded' });
    };
    await expect(driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1', venueOrderId: 'v1' })).rejects.toThrow(/rate_limit_exceeded/);
  });

  it("fetchOrder: Coinbase's catch-all \"unknown\" answer for an order it does not have is no order, so a lookup does not fail", async () => {
    driver = await started();
    // the body ccxt recorded from Coinbase; ccxt throws its base ExchangeError for it
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalOrderId = () => {
      throw Object.assign(new Error('coinbase {"error":"unknown","error_details":"order with this orderID was not found","message":"order with this orderID was not found"}'), { name: 'ExchangeError' });
    };
    await expect(driver.fetchOrder({ symbol: 'BTC-USD', clientOrderId: 'c1', venueOrderId: 'v1' })).resolves.toBeUndefined();
  });

  it('fills: commission in quote, maker/taker, paged by cursor, oldest first (the venue lists newest first); malformed fills (bad time, size in quote, unknown product, other order) dropped', async () => {
    driver = await started();
    let page = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalFills = () =>
      ++page === 1
        ? {
            fills: [
              fillJson(),
              fillJson({ trade_id: 't-bad-time', trade_time: 'not a time' }),
              fillJson({ trade_id: 't-quote', size_in_quote: true }),
              fillJson({ trade_id: 't-doge', product_id: 'DOGE-USD' }),
            ],
            cursor: 'c2',
          }
        : { fills: [fillJson({ trade_id: 't2', liquidity_indicator: 'TAKER' }), fillJson({ trade_id: 't3', liquidity_indicator: 'UNKNOWN_LIQUIDITY_INDICATOR' }), fillJson({ trade_id: 't-other', order_id: 'v2' })], cursor: '' };
    const fills = await driver.fetchFills({ venueOrderId: 'v1', symbol: 'BTC-USD', side: 'buy', type: 'limit', qty: '0.01', filledQty: '0.012', state: 'open', tif: 'GTC' });
    expect(fills.map((f) => [f.tradeId, f.liquidity])).toEqual([['t3', undefined], ['t2', 'taker'], ['t1', 'maker']]);
    expect(fills[2]).toEqual({ tradeId: 't1', venueOrderId: 'v1', symbol: 'BTC-USD', price: '64000', qty: '0.004', fee: '1.28', feeAsset: 'USD', ts: Date.parse('2026-12-05T10:00:01Z'), liquidity: 'maker', side: 'buy' });
    // the side as the venue names it, or none: never guessed
    expect(fills.map((f) => f.side)).toEqual(['buy', 'buy', 'buy']);
    expect(venue.calls[0]!.params).toEqual({ order_ids: ['v1'], limit: 250 });
    expect(venue.calls[1]!.params.cursor).toBe('c2');

    // an empty page ends paging even with a cursor; a missing fills array is no fills
    venue.calls.length = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalFills = () => ({ cursor: 'loop' });
    expect(await driver.fetchFillsSince(['BTC-USD'], 0)).toEqual([]);
    expect(venue.calls).toHaveLength(1);
  });

  it('fetchFillsSince: filters by time and symbol, asks from the ISO start', async () => {
    driver = await started();
    const since = Date.parse('2026-12-05T10:00:01Z');
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalFills = () => ({ fills: [fillJson({ trade_id: 'old', trade_time: '2026-12-05T10:00:00Z' }), fillJson({ trade_id: 'new' })] });
    expect((await driver.fetchFillsSince(['BTC-USD'], since)).map((f) => f.tradeId)).toEqual(['new']);
    expect((await driver.fetchFillsSince(['ETH-USD'], since)).map((f) => f.tradeId)).toEqual([]);
    expect(venue.calls[0]!.params).toMatchObject({ product_ids: ['BTC-USD'], start_sequence_timestamp: '2026-12-05T10:00:01.000Z' });
  });

  it("fetchFillsSince: each fill carries its order's side as the venue names it, none when it names none", async () => {
    driver = await started();
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalFills = () => ({ fills: [fillJson({ trade_id: 'b' }), fillJson({ trade_id: 's', side: 'SELL' }), fillJson({ trade_id: 'x', side: 'UNKNOWN_ORDER_SIDE' })] });
    expect((await driver.fetchFillsSince(['BTC-USD'], 0)).map((f) => [f.tradeId, f.side])).toEqual([['x', undefined], ['s', 'sell'], ['b', 'buy']]); // the venue lists newest first
  });

  it('fetchOpenOrders: paged, only our symbols and known products', async () => {
    driver = await started();
    let page = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => (++page === 1 ? { orders: [orderJson(), orderJson({ order_id: 'doge', product_id: 'DOGE-USD' })], has_next: true, cursor: 'n' } : { has_next: false });
    expect((await driver.fetchOpenOrders(['BTC-USD'])).map((v) => v.venueOrderId)).toEqual(['v1']);
    expect(venue.calls[0]!.params).toMatchObject({ order_status: ['OPEN'], product_ids: ['BTC-USD'] });
    expect(venue.calls[1]!.params.cursor).toBe('n');
    page = 0;
    expect(await driver.fetchOpenOrders(['ETH-USD'])).toEqual([]);
  });

  it('balances: available + hold summed exactly across wallets of one currency and pages; missing amounts are zero', async () => {
    driver = await started();
    let page = 0;
    venue.handlers.v3PrivateGetBrokerageAccounts = () =>
      ++page === 1
        ? { accounts: [{ currency: 'USD', available_balance: { value: '100.10' }, hold: { value: '0.20' } }, { currency: 'BTC' }], has_next: true, cursor: 'n' }
        : { accounts: [{ currency: 'USD', available_balance: { value: '0.7' } }, { currency: 'ETH', hold: { value: '2' } }], has_next: false };
    expect(await driver.fetchBalances()).toEqual([
      { asset: 'USD', total: '101.00' },
      { asset: 'BTC', total: '0' },
      { asset: 'ETH', total: '2' },
    ]);
    page = 1;
    venue.handlers.v3PrivateGetBrokerageAccounts = () => ({});
    expect(await driver.fetchBalances()).toEqual([]);
  });

  it('a list that has not ended after 100 pages is a failed read, never returned short as if complete (fills, open orders, accounts)', async () => {
    driver = await started();
    // fills newest first, one per page: 101 pages, the last without a cursor. A cut at 100 pages
    // would drop t101, the OLDEST fill: the one right after `since` in a reconciliation
    const tradeTime = (n: number) => new Date(Date.UTC(2026, 11, 5) + (1_000_000 - n) * 1000).toISOString();
    let page = 0;
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalFills = () => {
      page++;
      return { fills: [fillJson({ entry_id: `e${page}`, trade_id: `t${page}`, trade_time: tradeTime(page) })], cursor: page < 101 ? `c${page}` : '' };
    };
    await expect(driver.fetchFillsSince(['BTC-USD'], 0)).rejects.toThrow(/the fills list did not end after 100 pages/);
    expect(page).toBe(100);
    page = 0;
    await expect(driver.fetchFills({ venueOrderId: 'v1', symbol: 'BTC-USD' } as never)).rejects.toThrow(/did not end after 100 pages/);
    // 100 pages that do end are read whole, oldest first
    page = 1;
    const all = await driver.fetchFillsSince(['BTC-USD'], 0);
    expect([all.length, all[0]!.tradeId, all[all.length - 1]!.tradeId]).toEqual([100, 't101', 't2']);

    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [orderJson({ order_id: `v${++page}` })], has_next: true, cursor: `c${page}` });
    await expect(driver.fetchOpenOrders(['BTC-USD'])).rejects.toThrow(/the open orders list did not end after 100 pages/);
    venue.handlers.v3PrivateGetBrokerageAccounts = () => ({ accounts: [{ currency: 'USD', available_balance: { value: '1' } }], has_next: true, cursor: 'more' });
    await expect(driver.fetchBalances()).rejects.toThrow(/the accounts list did not end after 100 pages/);
  });
});

describe('CoinbaseOrderDriver under the polled client (scripted venue)', () => {
  let client: PolledExecutionClient | undefined;
  beforeEach(() => venue.reset());
  afterEach(async () => {
    await client?.stop();
    client = undefined;
    vi.useRealTimers();
  });

  /** A polled client over the driver at `clock`, started; warnings kept. */
  async function polled(clock: ManualClock) {
    const cap = capture();
    const driver = new CoinbaseOrderDriver({
      exchange: 'coinbase', restRoot: 'http://127.0.0.1:1', options: { ...DEFAULT_COINBASE_OPTIONS, private_requests_per_second: 10_000 }, clock, logger: cap.logger,
      apiKey: new Secret('organizations/o/apiKeys/k'), apiSecret: new Secret(PEM_ESCAPED), instrument: (s) => (s === 'BTC-USD' ? BTC : undefined),
    });
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [] });
    const c = new PolledExecutionClient({
      exchange: 'coinbase', clock, hasCredentials: true, driver, orderLimit: { limit: 100, intervalMs: 1000 }, pollIntervalMs: 1000,
      unknownOrderGraceMs: 125_000, instrument: (s) => (s === 'BTC-USD' ? BTC : undefined), symbols: () => ['BTC-USD'], logger: cap.logger,
    });
    client = c;
    const reports: ExecutionReport[] = [];
    await c.start((r) => reports.push(r));
    venue.calls.length = 0;
    return { c, reports, cap };
  }
  const lostCreateAnswer = () => {
    venue.handlers.v3PrivatePostBrokerageOrders = () => {
      throw Object.assign(new Error('coinbase POST https://api.coinbase.com/api/v3/brokerage/orders request timed out (10000 ms)'), { name: 'RequestTimeout' });
    };
  };
  /** `n` orders of the account on BTC-USD, the k-th created at `at(k)`. */
  const others = (n: number, at: (k: number) => number) => Array.from({ length: n }, (_, k) => orderJson({ order_id: `o${k}`, client_order_id: `other-${k}`, status: 'CANCELLED', created_time: new Date(at(k)).toISOString() }));
  const searches = () => venue.calls.filter((c) => c.fn === 'v3PrivateGetBrokerageOrdersHistoricalBatch').length;

  it('a lost create answer whose order works behind 1000 newer ones (past order_search_pages) is never reported rejected; the search is asked again at the poll cadence, warned once a minute, and finds it once it is in reach', async () => {
    vi.useFakeTimers();
    const clock = new ManualClock(T0);
    const { c, reports, cap } = await polled(clock);
    lostCreateAnswer();
    // ours, OPEN, then 1000 more of the account's orders (a quoter at ~8 a second: 2 minutes)
    const ours = orderJson({ created_time: new Date(T0 + 50).toISOString() });
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = orderHistory([ours, ...others(1000, (k) => T0 + 100 + k * 120)]);
    c.submit(order({ createdTs: T0 }));
    for (let t = 0; t < 130; t++) {
      clock.advance(1000);
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(reports.filter((r) => r.kind === 'rejected')).toEqual([]);
    expect(c.workingOrders).toBe(1);
    // four pages of 250 a lookup, one lookup about a second: never a hot loop
    expect(searches()).toBeGreaterThanOrEqual(4 * 100);
    expect(searches()).toBeLessThanOrEqual(4 * 132);
    const cut = cap.warnings().filter((w) => /not proven absent/.test(String(w.msg)));
    expect(cut.length).toBeGreaterThanOrEqual(2);
    expect(cut.length).toBeLessThanOrEqual(3);
    // the newer orders age past the search (fewer since ours: a venue dropping them, here the list shrinking): found, acked
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = orderHistory([ours, ...others(700, (k) => T0 + 100 + k * 120)]);
    clock.advance(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    expect(reports[0]!.venueOrderId).toBe('v1');
  });

  it('a create that never reached the venue, on an account with thousands of older orders, is still rejected after the grace: the search from start_date ends within the page limit', async () => {
    vi.useFakeTimers();
    const clock = new ManualClock(T0);
    const { c, reports } = await polled(clock);
    lostCreateAnswer();
    // 5000 orders from the hour before ours; none since
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = orderHistory(others(5000, (k) => T0 - 3_600_000 + k * 700));
    c.submit(order({ createdTs: T0 }));
    for (let t = 0; t < 130; t++) {
      clock.advance(1000);
      await vi.advanceTimersByTimeAsync(1000);
    }
    expect(reports.map((r) => [r.kind, r.rejectReason])).toEqual([['rejected', 'VENUE_ERROR']]);
    expect(reports[0]!.text).toMatch(/never reached the venue/);
    expect(c.workingOrders).toBe(0);
  });

  it('restart: queryOrder of an order journaled without its venue id, working behind 1000 newer orders, fails (asked again) rather than answering "unknown to the venue"', async () => {
    const clock = new ManualClock(T0 + 600_000);
    const { c } = await polled(clock);
    const ours = orderJson({ created_time: new Date(T0 + 50).toISOString() });
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = orderHistory([ours, ...others(1000, (k) => T0 + 100 + k * 120)]);
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalOrderId = () => ({ order: ours });
    // undefined would make the engine's reconcile close it: "the venue does not know this order (never arrived)"
    await expect(c.queryOrder(order({ status: 'open', createdTs: T0 }))).rejects.toThrow(/not proven absent/);
    // journaled without its time (0): the whole history, cut short all the same
    await expect(c.queryOrder(order({ status: 'open', createdTs: 0 }))).rejects.toThrow(/not proven absent/);
    // within reach it is found
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = orderHistory([ours, ...others(900, (k) => T0 + 100 + k * 120)]);
    expect(await c.queryOrder(order({ status: 'open', createdTs: T0 }))).toMatchObject({ venueOrderId: 'v1', status: 'open' });
  });

  it('a lost create answer resolved by client id to a PENDING order (reject_reason REJECT_REASON_UNSPECIFIED) is followed and its later fill booked, never reported rejected', async () => {
    vi.useFakeTimers();
    const clock = new ManualClock(0);
    const driver = new CoinbaseOrderDriver({
      exchange: 'coinbase', restRoot: 'http://127.0.0.1:1', options: { ...DEFAULT_COINBASE_OPTIONS, private_requests_per_second: 10_000 }, clock,
      apiKey: new Secret('organizations/o/apiKeys/k'), apiSecret: new Secret(PEM_ESCAPED), instrument: (s) => (s === 'BTC-USD' ? BTC : undefined),
    });
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [] });
    client = new PolledExecutionClient({
      exchange: 'coinbase', clock, hasCredentials: true, driver, orderLimit: { limit: 100, intervalMs: 1000 }, pollIntervalMs: 1000,
      unknownOrderGraceMs: 125_000, instrument: (s) => (s === 'BTC-USD' ? BTC : undefined), symbols: () => ['BTC-USD'],
    });
    const reports: ExecutionReport[] = [];
    await client.start((r) => reports.push(r));
    // the create answer is lost on the way back ...
    venue.handlers.v3PrivatePostBrokerageOrders = () => {
      throw Object.assign(new Error('coinbase POST https://api.coinbase.com/api/v3/brokerage/orders request timed out (10000 ms)'), { name: 'RequestTimeout' });
    };
    // ... and the search by client id finds it still PENDING, as the venue writes it
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [orderJson({ status: 'PENDING' })], has_next: false });
    client.submit(order());
    await vi.advanceTimersByTimeAsync(10);
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    // then it opens and fills completely: the next poll books the fill
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalOrderId = () => ({ order: orderJson({ status: 'FILLED', filled_size: '0.01' }) });
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalFills = () => ({ fills: [fillJson({ size: '0.01' })], cursor: '' });
    clock.advance(1500);
    await vi.advanceTimersByTimeAsync(1500);
    expect(reports.map((r) => r.kind)).not.toContain('rejected');
    expect(reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.cumQty])).toEqual([['t1', qtyToLots(BTC, '0.01')]]);
  });

  it.each([
    ['the lowercase catch-all "unknown"', '{"error":"unknown","error_details":"Internal Server Error","message":"Internal Server Error"}'],
    ['a code the error table does not know', '{"error":"SOMETHING_NEW","message":"venue words"}'],
  ])('a create answered with %s (no success:false) is searched for by client id and followed, never reported rejected', async (_, body) => {
    vi.useFakeTimers();
    const clock = new ManualClock(0);
    const driver = new CoinbaseOrderDriver({
      exchange: 'coinbase', restRoot: 'http://127.0.0.1:1', options: { ...DEFAULT_COINBASE_OPTIONS, private_requests_per_second: 10_000 }, clock,
      apiKey: new Secret('organizations/o/apiKeys/k'), apiSecret: new Secret(PEM_ESCAPED), instrument: (s) => (s === 'BTC-USD' ? BTC : undefined),
    });
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [] });
    client = new PolledExecutionClient({
      exchange: 'coinbase', clock, hasCredentials: true, driver, orderLimit: { limit: 100, intervalMs: 1000 }, pollIntervalMs: 1000,
      unknownOrderGraceMs: 125_000, instrument: (s) => (s === 'BTC-USD' ? BTC : undefined), symbols: () => ['BTC-USD'],
    });
    const reports: ExecutionReport[] = [];
    await client.start((r) => reports.push(r));
    // the venue booked the order; the gateway answered with an error body all the same
    venue.handlers.v3PrivatePostBrokerageOrders = () => {
      throw Object.assign(new Error(`coinbase ${body}`), { name: 'ExchangeError' });
    };
    venue.handlers.v3PrivateGetBrokerageOrdersHistoricalBatch = () => ({ orders: [orderJson()], has_next: false });
    client.submit(order());
    await vi.advanceTimersByTimeAsync(10);
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    expect(reports[0]!.venueOrderId).toBe('v1');
    expect(client.workingOrders).toBe(1);
  });
});
