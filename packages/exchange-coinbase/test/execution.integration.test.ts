import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { SystemClock, type ExecutionReport } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { createLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createCoinbaseVenue } from '../src/index.js';
import { FakeCoinbase } from './fake-coinbase.js';

const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const KEY_NAME = `organizations/${randomUUID()}/apiKeys/${randomUUID()}`;
const PEM = keys.privateKey.export({ format: 'pem', type: 'sec1' }).toString();
// another valid P-256 key the server does not know
const OTHER_PEM = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString();

function capture() {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { lines, logger: createLogger({ level: 'debug', destination: dest as never, pretty: false }) };
}

describe('Coinbase execution through ccxt against the local server', () => {
  let fake: FakeCoinbase | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  async function venue(pem = PEM, logger = capture().logger) {
    fake = await FakeCoinbase.start({ seed: 3, restKey: { publicKey: keys.publicKey, keyName: KEY_NAME } });
    // the key file's form: newlines escaped as \n; the user channel off: this file tests the polling path
    const v = createCoinbaseVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY_NAME), api_secret: new Secret(pem.replace(/\n/g, '\\n')), options: { poll_interval_ms: 50, private_requests_per_second: 1000, user_stream: false } },
      { exchange: 'coinbase', clock: new SystemClock(), logger },
    );
    const [i] = await v.marketData.loadInstruments(['BTC-USD']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    return { v, i: i!, reports };
  }

  it('signs each request with an ES256 JWT whose uri is the request; a key the venue does not know is AUTH_FAILED and never logged', async () => {
    const cap = capture();
    const { v, i, reports } = await venue(OTHER_PEM, cap.logger);
    expect(cap.lines.join('')).toMatch(/signed request check failed at start/);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.00', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.length > 0, 'a report');
    expect(reports[0]).toMatchObject({ kind: 'rejected', rejectReason: 'AUTH_FAILED', clientOrderId: o.clientOrderId });
    expect(fake!.account!.authFailures).toBeGreaterThanOrEqual(2);
    const all = cap.lines.join('') + JSON.stringify(reports, (_k, x) => (typeof x === 'bigint' ? String(x) : x));
    expect(all).not.toContain('PRIVATE KEY');
    expect(fake!.account!.signedUris.some((u) => /^POST \S*127\.0\.0\.1:\d+\/api\/v3\/brokerage\/orders$/.test(u))).toBe(true);
  });

  // ccxt's ES256 signer reads only SEC1 with its public key; these two pass the startup check too
  const der = keys.privateKey.export({ type: 'sec1', format: 'der' });
  const NO_PUBLIC_PEM = `-----BEGIN EC PRIVATE KEY-----\n${Buffer.concat([Buffer.from([0x30, 0x31]), der.subarray(2, 2 + 0x31)]).toString('base64')}\n-----END EC PRIVATE KEY-----\n`;
  it.each([
    ['PKCS#8 ("BEGIN PRIVATE KEY")', keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()],
    ['SEC1 without its public key (openssl ec -no_public)', NO_PUBLIC_PEM],
  ])('a %s key signs every request: the start check passes and an order is acked', async (_, pem) => {
    const cap = capture();
    const { v, i, reports } = await venue(pem, cap.logger);
    expect(cap.lines.join('')).not.toMatch(/signed request check failed at start/);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.00', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.length > 0, 'a report');
    expect(reports[0]).toMatchObject({ kind: 'ack', clientOrderId: o.clientOrderId });
    expect(fake!.account!.authFailures).toBe(0);
  });

  it('limit order: the order configuration, then fills by polling with commission in quote and the liquidity indicator, once each', async () => {
    const { v, i, reports } = await venue();
    const o = conformanceOrder(i, { side: 'sell', price: '66000.01', qty: '0.04' }, { tif: 'POST_ONLY' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const ack = reports.find((r) => r.kind === 'ack')!;
    expect(fake!.account!.find(ack.venueOrderId!)).toMatchObject({ client_order_id: o.clientOrderId, config: 'limit_limit_gtc', base_size: '0.04', limit_price: '66000.01', post_only: true, side: 'SELL' });
    fake!.account!.fill(ack.venueOrderId!, { size: '0.01', price: '66000.01', commission: '2.640000', maker: true });
    await waitUntil(() => reports.some((r) => r.kind === 'fill'), 'a fill');
    fake!.account!.fill(ack.venueOrderId!, { size: '0.03', price: '66000.01', commission: '15.84', maker: false });
    await waitUntil(() => reports.filter((r) => r.kind === 'fill').length === 2, 'two fills');
    await new Promise((r) => setTimeout(r, 300));
    const fills = reports.filter((r) => r.kind === 'fill');
    expect(fills).toHaveLength(2);
    expect(fills[0]).toMatchObject({ lastPrice: 6_600_001, lastQty: 1_000_000, cumQty: 1_000_000, leavesQty: 3_000_000, feeAsset: 'USD', liquidity: 'maker', venueOrderId: ack.venueOrderId });
    expect(fills[1]).toMatchObject({ lastQty: 3_000_000, cumQty: 4_000_000, leavesQty: 0, liquidity: 'taker' });
    // quote atoms are 1e-10 USD (tick 0.01 x lot 1e-8)
    expect(fills[0]!.feeAtoms).toBe(26_400_000_000n);
    expect(fills[1]!.feeAtoms).toBe(158_400_000_000n);
    await waitUntil(() => v.execution.workingOrders === 0, 'the order is final');
    expect(reports.filter((r) => r.kind !== 'ack' && r.kind !== 'fill')).toHaveLength(0);
  });

  it('IOC limit ends as expired; market orders go out as market_market_ioc with a base size', async () => {
    const { v, i, reports } = await venue();
    const ioc = conformanceOrder(i, { side: 'buy', price: '64000.00', qty: '0.01' }, { tif: 'IOC' });
    v.execution.submit(ioc);
    await waitUntil(() => reports.some((r) => r.clientOrderId === ioc.clientOrderId && r.kind === 'expired'), 'an expiry');
    expect(fake!.account!.find(ioc.clientOrderId)).toMatchObject({ config: 'sor_limit_ioc', limit_price: '64000' });
    const mkt = conformanceOrder(i, { side: 'buy', price: '64000.00', qty: '0.02' }, { type: 'market', price: undefined, tif: 'IOC' });
    v.execution.submit(mkt);
    await waitUntil(() => reports.some((r) => r.clientOrderId === mkt.clientOrderId && r.kind === 'ack'), 'an ack');
    expect(fake!.account!.find(mkt.clientOrderId)).toMatchObject({ config: 'market_market_ioc', base_size: '0.02' });
  });

  it.each([
    [500, { error: 'internal_server_error', error_details: 'Internal server error', message: 'Internal server error' }],
    [503, { error: 'UNAVAILABLE', code: 14, message: 'service unavailable', details: [] }],
  ])('an HTTP %i %j to a create (the order was booked) is an unknown outcome, not a reject: the order is found and followed', async (status, body) => {
    const { v, i, reports } = await venue();
    fake!.account!.bookNextOrderThenFail(status, body);
    const o = conformanceOrder(i, { side: 'buy', price: '64000.00', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.length > 0, 'a report');
    expect(fake!.account!.find(o.clientOrderId)).toMatchObject({ status: 'OPEN' });
    expect(reports[0]).toMatchObject({ kind: 'ack', clientOrderId: o.clientOrderId, venueOrderId: fake!.account!.find(o.clientOrderId)!.order_id });
    expect(reports.some((r) => r.kind === 'rejected')).toBe(false);
  });

  it('reconciliation: queryOrder by client id, tradesSince, balances (available + hold) and positions', async () => {
    const { v, i, reports } = await venue();
    const t0 = Date.now();
    const o = conformanceOrder(i, { side: 'buy', price: '64000.00', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const tradeId = fake!.account!.fill(o.clientOrderId, { size: '0.005', price: '64000.00', commission: '1.92', maker: true });
    const st = await v.execution.queryOrder({ ...o, venueOrderId: undefined });
    expect(st).toMatchObject({ clientOrderId: o.clientOrderId, status: 'partially_filled', filledQty: 500_000 });
    expect(st!.fills.map((f) => [f.tradeId, f.liquidity, f.feeAsset])).toEqual([[tradeId, 'maker', 'USD']]);
    expect(await v.execution.queryOrder({ ...o, clientOrderId: 'never-sent', venueOrderId: undefined })).toBeUndefined();
    const trades = await v.execution.tradesSince(['BTC-USD'], t0 - 1000);
    expect(trades.map((t) => [t.clientOrderId, t.tradeId])).toEqual([[o.clientOrderId, tradeId]]);
    expect(await v.execution.balances()).toEqual([{ asset: 'BTC', total: '1.50' }, { asset: 'USD', total: '51000.00' }]);
    expect(await v.execution.positions(['BTC-USD'])).toEqual([{ symbol: 'BTC-USD', qty: 150_000_000 }]);
    await new Promise((r) => setTimeout(r, 300));
    // whichever saw the trade first (polling or queryOrder), it is reported at most once
    expect(reports.filter((r) => r.kind === 'fill').length).toBeLessThanOrEqual(1);
    expect((await v.execution.openOrders()).map((x) => x.clientOrderId)).toEqual([o.clientOrderId]);
  });
});
