/**
 * The `user` channel end to end against the local Coinbase server (fake-coinbase.ts speaks it
 * from the docs: JWT-verified subscribe, snapshot, updates, sequence numbers). Polling is set to
 * its maximum interval (600 s) and never fires here: what arrives, arrives by push, or by the
 * one reconciliation poll the stream asks for after a reconnect or a gap. The server counts its
 * REST requests, so a test can tell which path read what.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { ManualClock, priceToTicks, qtyToLots, type ExecutionReport } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { createLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { WsConnection } from '@cwts/core/adapter-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCoinbaseVenue, type CoinbaseVenue } from '../src/index.js';
import { FakeCoinbase } from './fake-coinbase.js';

// fake CDP keys made for this run: only the local server knows the public half
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const KEY_NAME = `organizations/${randomUUID()}/apiKeys/${randomUUID()}`;
const PEM = keys.privateKey.export({ format: 'pem', type: 'sec1' }).toString();
const OTHER_PEM = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString();

const ORDER_GET = /^GET \/api\/v3\/brokerage\/orders\/historical\/(?!fills$|batch$)[^/]+$/;
const FILLS_GET = 'GET /api/v3/brokerage/orders/historical/fills';

describe('Coinbase user channel: order updates in push, polling as the safety net', () => {
  let fake: FakeCoinbase | undefined;
  let venue: CoinbaseVenue | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await venue?.execution.stop();
    venue = undefined;
    await fake?.close();
    fake = undefined;
  });

  async function start(pem = PEM, options: Record<string, unknown> = {}, beforeStart?: (f: FakeCoinbase) => void) {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) as never, pretty: false });
    fake = await FakeCoinbase.start({ seed: 5, restKey: { publicKey: keys.publicKey, keyName: KEY_NAME }, heartbeatMs: 50 });
    // the injected clock signs the JWTs and stamps reports; it never moves, and the poll timer
    // (600 s) cannot fire during a test
    const clock = new ManualClock(Date.now());
    const v = createCoinbaseVenue(
      { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY_NAME), api_secret: new Secret(pem), options: { poll_interval_ms: 600_000, private_requests_per_second: 1000, reconnect_initial_ms: 20, reconnect_max_ms: 100, ...options } },
      { exchange: 'coinbase', clock, logger, random: () => 0.5 },
    );
    venue = v;
    const [i] = await v.marketData.loadInstruments(['BTC-USD']);
    const reports: ExecutionReport[] = [];
    beforeStart?.(fake);
    await v.execution.start((r) => reports.push(r));
    return { v, i: i!, reports, lines, f: fake, stream: v.userStream! };
  }

  async function live(ctx: Awaited<ReturnType<typeof start>>) {
    await waitUntil(() => ctx.stream.stats.snapshots >= 1, 'the user channel snapshot');
  }

  async function placed(ctx: Awaited<ReturnType<typeof start>>, qty = '0.01') {
    const o = conformanceOrder(ctx.i, { side: 'buy', price: '64000.00', qty });
    ctx.v.execution.submit(o);
    await waitUntil(() => ctx.reports.some((r) => r.kind === 'ack' && r.clientOrderId === o.clientOrderId), 'the ack');
    return { o, vid: ctx.reports.find((r) => r.kind === 'ack' && r.clientOrderId === o.clientOrderId)!.venueOrderId! };
  }

  const fillsOf = (reports: ExecutionReport[], cid: string) => reports.filter((r) => r.kind === 'fill' && r.clientOrderId === cid);
  const orderGets = (f: FakeCoinbase) => f.account!.requests.filter((r) => ORDER_GET.test(r)).length;

  it('subscribes user + heartbeats with an ES256 JWT per message (kid, nonce, no uri) that the server verifies with the public key', async () => {
    const ctx = await start();
    await live(ctx);
    const subs = ctx.f.subscribeMessages.filter((m) => m.channel === 'user' || m.channel === 'heartbeats');
    expect(subs.map((m) => m.channel).sort()).toEqual(['heartbeats', 'user']);
    expect(subs.find((m) => m.channel === 'user')!.product_ids).toEqual(['BTC-USD']);
    expect(new Set(subs.map((m) => m.jwt)).size).toBe(2); // a fresh token per message
    expect(ctx.f.userJwts).toHaveLength(1);
    const { header, claims } = ctx.f.userJwts[0]!;
    expect(header).toMatchObject({ alg: 'ES256', kid: KEY_NAME, typ: 'JWT' });
    expect(header.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(claims).toMatchObject({ iss: 'cdp', sub: KEY_NAME });
    expect(claims).not.toHaveProperty('uri');
    expect((claims.exp as number) - (claims.nbf as number)).toBeLessThanOrEqual(120);
    expect(ctx.stream.stats.rejected).toBe(0);
  });

  it('a key the venue does not know: the refusal is counted, the subscribe retried on a new connection, and the key never reaches a log', async () => {
    const withBackoff = vi.spyOn(WsConnection.prototype, 'reconnectWithBackoff');
    const atOnce = vi.spyOn(WsConnection.prototype, 'reconnect');
    const ctx = await start(OTHER_PEM, { stale_after_ms: 1000 });
    await waitUntil(() => ctx.stream.stats.rejected >= 1, 'the refusal counted');
    expect(ctx.stream.stats.snapshots).toBe(0);
    await waitUntil(() => ctx.stream.watchdogReconnects >= 1 && ctx.stream.stats.opens >= 2, 'a new connection after no snapshot');
    expect(ctx.f.userJwts).toHaveLength(0);
    // through the backoff (growing while no connection stays up), not at once: the venue refuses
    // the same key on every new connection
    expect(withBackoff.mock.calls.map(([why]) => why)).toContainEqual(expect.stringMatching(/no user channel snapshot/));
    expect(atOnce).not.toHaveBeenCalled();
    expect(ctx.lines.join('')).not.toContain('PRIVATE KEY');
  });

  it('a lost subscribe (no snapshot in stale_after_ms) is retried on a new connection', async () => {
    const ctx = await start(PEM, { stale_after_ms: 1000 }, (f) => (f.ignoreSubscribes = 2));
    await live(ctx);
    expect(ctx.stream.watchdogReconnects).toBe(1);
    expect(ctx.stream.stats.opens).toBe(2);
  });

  it('a fill arrives by push, with its trade id, price, fee and liquidity, without any poll', async () => {
    const ctx = await start();
    await live(ctx);
    const { o, vid } = await placed(ctx);
    const tradeId = ctx.f.account!.fill(vid, { size: '0.004', price: '63999.50', commission: '1.28', maker: true });
    await waitUntil(() => fillsOf(ctx.reports, o.clientOrderId).length === 1, 'the pushed fill');
    const [fill] = fillsOf(ctx.reports, o.clientOrderId);
    expect(fill).toMatchObject({ tradeId, venueOrderId: vid, lastQty: qtyToLots(ctx.i, '0.004'), lastPrice: priceToTicks(ctx.i, '63999.50'), cumQty: qtyToLots(ctx.i, '0.004'), liquidity: 'maker', feeAsset: 'USD' });
    expect(fill!.feeAtoms).toBeGreaterThan(0n);
    // the order was never polled: its trades were read because the push said its filled size grew
    expect(orderGets(ctx.f)).toBe(0);
    expect(ctx.v.execution.pushStats.fillFetches).toBe(1);
  });

  it('no double fill when the poll and the push read the same trade at once; a venue cancel arrives by push', async () => {
    const ctx = await start();
    await live(ctx);
    const { o, vid } = await placed(ctx);
    let release!: () => void;
    ctx.f.account!.fillsGate = new Promise<void>((r) => (release = r));
    const tradeId = ctx.f.account!.fill(vid, { size: '0.004', price: '64000.00', commission: '1.28', maker: true });
    await waitUntil(() => ctx.v.execution.pushStats.fillFetches === 1, 'the push asking for the trades');
    ctx.v.execution.reconcile('test: a poll beside the push');
    await waitUntil(() => ctx.f.account!.requests.filter((r) => r === FILLS_GET).length === 2, 'both the push and the poll reading the trades');
    release();
    ctx.f.account!.fillsGate = undefined;
    await waitUntil(() => fillsOf(ctx.reports, o.clientOrderId).length === 1, 'the fill');
    await new Promise((r) => setTimeout(r, 100));
    expect(fillsOf(ctx.reports, o.clientOrderId).map((r) => r.tradeId)).toEqual([tradeId]);
    // the venue cancels the rest: pushed, reported at once, the order is done
    const gets = orderGets(ctx.f);
    ctx.f.account!.venueCancel(vid);
    await waitUntil(() => ctx.reports.some((r) => r.kind === 'cancelled' && r.clientOrderId === o.clientOrderId), 'the pushed cancel');
    expect(orderGets(ctx.f)).toBe(gets);
    expect(ctx.reports.find((r) => r.kind === 'cancelled')).toMatchObject({ cumQty: qtyToLots(ctx.i, '0.004'), leavesQty: 0 });
    expect(ctx.v.execution.workingOrders).toBe(0);
  });

  it('a disconnect mid-fill loses nothing: the trades made while down come back by one poll after the resubscribe, once each', async () => {
    const ctx = await start();
    await live(ctx);
    const { o, vid } = await placed(ctx);
    const t1 = ctx.f.account!.fill(vid, { size: '0.003', price: '64000.00', commission: '0.96', maker: true });
    await waitUntil(() => fillsOf(ctx.reports, o.clientOrderId).length === 1, 'the first fill by push');
    ctx.f.dropConnections();
    // while the connection is down: the rest fills, nobody hears it
    const t2 = ctx.f.account!.fill(vid, { size: '0.003', price: '64000.01', commission: '0.96', maker: true });
    const t3 = ctx.f.account!.fill(vid, { size: '0.004', price: '64000.02', commission: '1.28', maker: false });
    await waitUntil(() => ctx.stream.stats.opens >= 2 && ctx.stream.stats.snapshots >= 1, 'reconnected and resubscribed');
    await waitUntil(() => fillsOf(ctx.reports, o.clientOrderId).length === 3, 'the fills made while down');
    await waitUntil(() => ctx.v.execution.workingOrders === 0, 'the order done');
    await new Promise((r) => setTimeout(r, 100));
    const fills = fillsOf(ctx.reports, o.clientOrderId);
    expect(fills.map((r) => r.tradeId)).toEqual([t1, t2, t3]);
    expect(fills.reduce((a, r) => a + r.lastQty, 0)).toBe(o.qty);
    expect(fills.at(-1)!.cumQty).toBe(o.qty);
    expect(ctx.v.execution.pushStats.reconciles).toBeGreaterThanOrEqual(2); // the first subscribe, and the resubscribe
    // the venue's snapshot no longer lists the filled order: only the poll could have found it
    expect(orderGets(ctx.f)).toBeGreaterThanOrEqual(1);
  });

  it('a sequence gap on the user channel triggers a reconciliation poll that finds the lost update', async () => {
    const ctx = await start();
    await live(ctx);
    const { o, vid } = await placed(ctx);
    ctx.f.loseUserUpdates = 1;
    const tradeId = ctx.f.account!.fill(vid, { size: '0.01', price: '64000.00', commission: '3.20', maker: true });
    // the next heartbeat (50 ms) shows the gap
    await waitUntil(() => ctx.stream.stats.gaps === 1, 'the gap seen');
    await waitUntil(() => fillsOf(ctx.reports, o.clientOrderId).length === 1, 'the lost fill, by the poll');
    await waitUntil(() => ctx.v.execution.workingOrders === 0, 'the order done');
    expect(fillsOf(ctx.reports, o.clientOrderId)[0]).toMatchObject({ tradeId, cumQty: o.qty, leavesQty: 0 });
    expect(ctx.v.execution.pushStats.fillFetches).toBe(0); // no push ever said it
    expect(orderGets(ctx.f)).toBeGreaterThanOrEqual(1);
  });

  it('stops cleanly: no timer or socket left', async () => {
    const ctx = await start();
    await live(ctx);
    await ctx.v.execution.stop();
    expect(ctx.v.execution.pendingTimers()).toBe(0);
    expect(ctx.stream.connected).toBe(false);
  });
});
