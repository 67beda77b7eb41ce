import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { SystemClock, type ExecutionReport } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { createLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createKrakenVenue } from '../src/index.js';
import { FakeKraken } from './fake-kraken.js';

const KEY = `test-key-${randomBytes(8).toString('hex')}`;
const SECRET = randomBytes(64).toString('base64');
const WRONG_SECRET = randomBytes(64).toString('base64');

function capture() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { lines, logger: createLogger({ level: 'debug', destination: dest as never, pretty: false }) };
}

describe('Kraken execution through ccxt against the local server', () => {
  let fake: FakeKraken | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  async function venue(secret = SECRET, logger = capture().logger, extra: Record<string, unknown> = {}, arrange: (f: FakeKraken) => void = () => {}) {
    fake = await FakeKraken.start({ seed: 5, apiKey: KEY, apiSecret: SECRET });
    arrange(fake);
    const v = createKrakenVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(secret), options: { poll_interval_ms: 50, private_requests_per_interval: 10_000, private_interval_ms: 1000, ...extra } },
      { exchange: 'kraken', clock: new SystemClock(), logger },
    );
    const [i] = await v.marketData.loadInstruments(['BTC/USD']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    stops.push(() => v.marketData.stop());
    return { v, i: i!, reports };
  }

  it('a bad secret is EAPI:Invalid signature -> AUTH_FAILED, at start and on the order, and is never logged', async () => {
    const cap = capture();
    const { v, i, reports } = await venue(WRONG_SECRET, cap.logger);
    expect(cap.lines.join('')).toMatch(/signed request check failed at start: kraken EAPI:Invalid signature/);
    const o = conformanceOrder(i, { side: 'buy', price: '63000.0', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.length > 0, 'a report');
    expect(reports[0]).toMatchObject({ kind: 'rejected', rejectReason: 'AUTH_FAILED', clientOrderId: o.clientOrderId });
    const all = cap.lines.join('') + JSON.stringify(reports, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
    expect(all).not.toContain(WRONG_SECRET);
    expect(all).not.toContain(SECRET);
  });

  it('sends the v2 symbol as the REST pair key, cl_ord_id and a deadline; fills carry price, fee in quote, liquidity, once each', async () => {
    const { v, i, reports } = await venue();
    const o = conformanceOrder(i, { side: 'buy', price: '63000.5', qty: '0.03' }, { tif: 'POST_ONLY' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const ack = reports.find((r) => r.kind === 'ack')!;
    const sent = fake!.account!.find(ack.venueOrderId!)!;
    expect(sent).toMatchObject({ clOrdId: o.clientOrderId, price: '63000.5', vol: '0.03000000', oflags: 'post,fciq' });
    expect(sent.pair.key).toBe('XXBTZUSD');
    fake!.account!.fill(o.clientOrderId, { qty: '0.01', price: '63000.5', fee: '0.1008', maker: true });
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'the first fill');
    fake!.account!.fill(o.clientOrderId, { qty: '0.02', price: '63000.5', fee: '0.5040', maker: false });
    await waitUntil(() => reports.filter((r) => r.kind === 'fill').length === 2, 'the second fill');
    await new Promise((r) => setTimeout(r, 300)); // more polls: nothing is applied twice
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills).toHaveLength(2);
    expect(fills[0]).toMatchObject({ lastQty: 1_000_000, cumQty: 1_000_000, leavesQty: 2_000_000, feeAsset: 'USD', liquidity: 'maker', venueOrderId: ack.venueOrderId });
    expect(fills[1]).toMatchObject({ lastQty: 2_000_000, cumQty: 3_000_000, leavesQty: 0, feeAsset: 'USD', liquidity: 'taker' });
    expect(fills[0]!.lastPrice).toBe(630_005);
    // quote atoms are 1e-9 USD here (tick 0.1 x lot 1e-8): 0.1008 USD and 0.504 USD exactly
    expect(fills[0]!.feeAtoms).toBe(100_800_000n);
    expect(fills[1]!.feeAtoms).toBe(504_000_000n);
    expect(new Set(fills.map((f) => f.tradeId)).size).toBe(2);
    // filled: followed no more, and no cancel/expiry report
    await waitUntil(() => v.execution.workingOrders === 0, 'the order is final');
    expect(reports.filter((r) => r.kind === 'cancelled' || r.kind === 'expired')).toHaveLength(0);
  });

  it('reconciliation: queryOrder by client id with its fills, tradesSince, balances and spot positions', async () => {
    const { v, i, reports } = await venue();
    const t0 = Date.now();
    const o = conformanceOrder(i, { side: 'sell', price: '65000.0', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    fake!.account!.fill(o.clientOrderId, { qty: '0.005', price: '65000.0', fee: '0.845', maker: true });
    // asked by client id only (as after a restart, with no venue id journaled)
    const st = await v.execution.queryOrder({ ...o, venueOrderId: undefined });
    expect(st).toMatchObject({ clientOrderId: o.clientOrderId, status: 'partially_filled', filledQty: 500_000 });
    expect(st!.fills).toHaveLength(1);
    expect(st!.fills[0]).toMatchObject({ kind: 'fill', lastQty: 500_000, liquidity: 'maker', feeAsset: 'USD' });
    const unknown = await v.execution.queryOrder({ ...o, clientOrderId: 'never-sent-1', venueOrderId: undefined });
    expect(unknown).toBeUndefined();
    const trades = await v.execution.tradesSince(['BTC/USD'], t0 - 1000);
    expect(trades.map((t) => [t.clientOrderId, t.tradeId])).toEqual([[o.clientOrderId, st!.fills[0]!.tradeId]]);
    const balances = await v.execution.balances();
    expect(balances).toEqual([{ asset: 'BTC', total: '1.50000000' }, { asset: 'USD', total: '100000.0000' }]);
    expect(await v.execution.positions(['BTC/USD'])).toEqual([{ symbol: 'BTC/USD', qty: 150_000_000 }]);
    // whichever saw the trade first (polling or queryOrder), it is reported at most once
    await new Promise((r) => setTimeout(r, 300));
    expect(reports.filter((r) => r.kind === 'fill').length).toBeLessThanOrEqual(1);
  });

  it('a taker match across two price levels is two fills with their own trade ids and prices (REST asked with consolidate_taker=false), polled and reconciled alike', async () => {
    // polling only: REST is the one source (Kraken consolidates a taker match into one trade by default)
    const { v, i, reports } = await venue(SECRET, capture().logger, { executions_stream: false });
    const t0 = Date.now();
    const o = conformanceOrder(i, { side: 'buy', price: '63001.0', qty: '0.04' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const [t1, t2] = fake!.account!.takerMatch(o.clientOrderId, [
      { qty: '0.01', price: '63000.0', fee: '0.2520' },
      { qty: '0.03', price: '63000.5', fee: '0.7560' },
    ]);
    await waitUntil(() => v.execution.workingOrders === 0, 'the order is filled');
    // consolidated, this was one fill of 0.04 at 63000.4 (the average at the pair's precision) under t1's id
    const polled = reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.lastPrice, r.lastQty, r.feeAtoms]);
    expect(polled).toEqual([
      [t1, 630_000, 1_000_000, 252_000_000n],
      [t2, 630_005, 3_000_000, 756_000_000n],
    ]);
    // reconciliation (TradesHistory) names the same trades: nothing is booked twice or under another id
    const since = (await v.execution.tradesSince(['BTC/USD'], t0 - 1000)).map((t) => [t.tradeId, t.lastPrice, t.lastQty]);
    expect(since.sort()).toEqual(polled.map(([id, px, q]) => [id, px, q]).sort());
  });

  it('an AddOrder whose answer is lost is found by cl_ord_id and acked, never assumed rejected', async () => {
    const { v, i, reports } = await venue(SECRET, capture().logger);
    fake!.account!.loseAddOrderAnswers = 1;
    const o = conformanceOrder(i, { side: 'buy', price: '62000.0', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId), 'a report');
    expect(reports[0]).toMatchObject({ kind: 'ack', clientOrderId: o.clientOrderId, venueOrderId: fake!.account!.find(o.clientOrderId)!.txid });
    expect(reports.filter((r) => r.kind === 'rejected')).toHaveLength(0);
  });

  it('AssetPairs failing at start is asked again on the first order, which then goes out', async () => {
    const cap = capture();
    const { v, i, reports } = await venue(SECRET, cap.logger, {}, (f) => (f.account!.failAssetPairs = 1));
    expect(cap.lines.join('')).toMatch(/signed request check failed at start: kraken EService:Unavailable/);
    const o = conformanceOrder(i, { side: 'buy', price: '62000.0', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.length > 0, 'a report');
    expect(reports[0]).toMatchObject({ kind: 'ack', clientOrderId: o.clientOrderId });
    expect(fake!.account!.find(o.clientOrderId)!.pair.key).toBe('XXBTZUSD');
  });

  it('cancel: the cancel is confirmed from the order state; a refused cancel is reported and the order still followed', async () => {
    const { v, i, reports } = await venue();
    const o = conformanceOrder(i, { side: 'buy', price: '62000.0', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const venueOrderId = reports.find((r) => r.kind === 'ack')!.venueOrderId;
    v.execution.cancel({ ...o, venueOrderId, status: 'pending_cancel' });
    await waitUntil(() => reports.some((r) => r.kind === 'cancelled'), 'a cancel');
    expect(reports.find((r) => r.kind === 'cancelled')).toMatchObject({ clientOrderId: o.clientOrderId, leavesQty: 0, cumQty: 0, venueOrderId });
    expect(v.execution.workingOrders).toBe(0);
  });
});
