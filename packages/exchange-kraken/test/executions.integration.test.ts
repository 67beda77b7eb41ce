import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { SystemClock, type ExecutionReport, type Logger } from '@cwts/core';
import { createLogger } from '@cwts/core/observability';
import { Secret } from '@cwts/core/config';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { WsConnection } from '@cwts/core/adapter-kit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKrakenVenue } from '../src/index.js';
import { FakeKraken } from './fake-kraken.js';
import { REST_PAIRS, type KrakenPairRest } from './fake-kraken-account.js';

/**
 * The private `executions` stream against the local server: GetWebSocketsToken signed and
 * verified, the token checked on subscribe, snapshot + updates, dropped connections.
 * Push tests run with the poll interval at its maximum (10 minutes): the poll timer cannot fire
 * within a test, and the account's call log shows that no order or trade query was made, so
 * whatever delivered a fill was the push (or a reconcile the stream asked for).
 */
const KEY = `test-key-${randomBytes(8).toString('hex')}`;
const SECRET = randomBytes(64).toString('base64');
const NO_POLL = 600_000;

describe('Kraken executions stream (WebSocket v2, private) against the local server', () => {
  let fake: FakeKraken | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  async function venue(options: Record<string, unknown> = {}, arrange: (f: FakeKraken) => void = () => {}, secret = SECRET, logger?: Logger, accountPairs?: KrakenPairRest[]) {
    fake = await FakeKraken.start({ seed: 9, apiKey: KEY, apiSecret: SECRET, ...(accountPairs ? { accountPairs } : {}) });
    // an order placed by hand on another pair of the account, resting before we start
    if (accountPairs?.some((p) => p.key === 'XETHZEUR')) fake.account!.placeByHand({ pair: 'XETHZEUR', type: 'sell', volume: '1.5', price: '3000.00' });
    arrange(fake);
    const v = createKrakenVenue(
      {
        api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(secret),
        options: { poll_interval_ms: NO_POLL, private_requests_per_interval: 10_000, private_interval_ms: 1000, reconnect_initial_ms: 20, reconnect_max_ms: 200, ...options },
      },
      { exchange: 'kraken', clock: new SystemClock(), logger },
    );
    const [i] = await v.marketData.loadInstruments(['BTC/USD']);
    const reports: ExecutionReport[] = [];
    await v.execution.start((r) => reports.push(r));
    stops.push(() => v.execution.stop());
    stops.push(() => v.marketData.stop());
    return { v, i: i!, reports, account: fake.account!, stream: v.executionsStream! };
  }

  const fills = (reports: ExecutionReport[]) => reports.filter((r) => r.kind === 'fill');
  const queries = (calls: string[]) => calls.filter((c) => c === 'QueryOrders' || c === 'QueryTrades' || c === 'OpenOrders' || c === 'ClosedOrders');

  it('fills and the final state arrive in push, with no poll and no order query', async () => {
    const { v, i, reports, account, stream } = await venue();
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    expect(account.calls).toContain('GetWebSocketsToken');
    const o = conformanceOrder(i, { side: 'buy', price: '63000.5', qty: '0.03' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const before = queries(account.calls).length;
    const t1 = account.fill(o.clientOrderId, { qty: '0.01', price: '63000.5', fee: '0.1008', maker: true });
    await waitUntil(() => fills(reports).length === 1, 'the first fill, pushed');
    const t2 = account.fill(o.clientOrderId, { qty: '0.00000005', price: '63000.5', fee: '0.0000001', maker: false });
    await waitUntil(() => fills(reports).length === 2, 'the second fill, pushed');
    const t3 = account.fill(o.clientOrderId, { qty: '0.01999995', price: '63000.5', fee: '0.504', maker: false });
    await waitUntil(() => v.execution.workingOrders === 0, 'the order is final');
    const f = fills(reports);
    expect(f.map((x) => x.tradeId)).toEqual([t1, t2, t3]);
    expect(f[0]).toMatchObject({ lastQty: 1_000_000, cumQty: 1_000_000, leavesQty: 2_000_000, lastPrice: 630_005, liquidity: 'maker', feeAsset: 'USD', feeAtoms: 100_800_000n });
    // 5e-08 on the wire (exponent form): exactly 5 lots
    expect(f[1]).toMatchObject({ lastQty: 5, cumQty: 1_000_005, liquidity: 'taker', feeAtoms: 100n });
    expect(f[2]).toMatchObject({ lastQty: 1_999_995, cumQty: 3_000_000, leavesQty: 0 });
    // filled: no cancel or expiry, and not one order or trade query was needed
    expect(reports.filter((r) => r.kind === 'cancelled' || r.kind === 'expired')).toHaveLength(0);
    expect(queries(account.calls).length).toBe(before);
    expect(stream.stats.outcomes.applied).toBeGreaterThanOrEqual(3);
  });

  it('an ack from the stream, and a cancel confirmed by push', async () => {
    const { v, i, reports, account, stream } = await venue();
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    const o = conformanceOrder(i, { side: 'buy', price: '62000.0', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const venueOrderId = reports.find((r) => r.kind === 'ack')!.venueOrderId;
    expect(venueOrderId).toBe(account.find(o.clientOrderId)!.txid);
    v.execution.cancel({ ...o, venueOrderId, status: 'pending_cancel' });
    await waitUntil(() => reports.some((r) => r.kind === 'cancelled'), 'a cancel');
    expect(reports.filter((r) => r.kind === 'cancelled')).toHaveLength(1);
    expect(reports.filter((r) => r.kind === 'ack')).toHaveLength(1);
    expect(v.execution.workingOrders).toBe(0);
  });

  it('poll first, push later: the fill is reported once', async () => {
    const { v, i, reports, account, stream } = await venue({ poll_interval_ms: 40 }, (f) => (f.account!.pushDelayMs = 400));
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    const o = conformanceOrder(i, { side: 'sell', price: '65000.0', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    account.fill(o.clientOrderId, { qty: '0.01', price: '65000.0', fee: '0.5', maker: true });
    await waitUntil(() => fills(reports).length === 1, 'the fill, polled');
    expect(account.calls).toContain('QueryTrades');
    await waitUntil(() => stream.stats.outcomes.duplicate >= 1, 'the late push, seen as a duplicate');
    await new Promise((r) => setTimeout(r, 150));
    expect(fills(reports)).toHaveLength(1);
    expect(fills(reports)[0]).toMatchObject({ cumQty: 1_000_000, lastQty: 1_000_000 });
  });

  it('push first, poll later: the fill is reported once', async () => {
    const { v, i, reports, account, stream } = await venue({ poll_interval_ms: 40 });
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    const o = conformanceOrder(i, { side: 'sell', price: '65000.0', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    account.fill(o.clientOrderId, { qty: '0.01', price: '65000.0', fee: '0.5', maker: true });
    await waitUntil(() => fills(reports).length === 1, 'the fill');
    const polls = account.calls.filter((c) => c === 'QueryOrders').length;
    await waitUntil(() => account.calls.filter((c) => c === 'QueryOrders').length >= polls + 3, 'three more polls');
    expect(fills(reports)).toHaveLength(1);
  });

  it.each([
    ['with cum_qty: read over REST at once', {}, false],
    ['without cum_qty: read by the next poll', { poll_interval_ms: 40 }, true],
  ])('a trade pushed without `fees` (%s) is booked once, with the fee QueryTrades gives, never with fee 0 from the push', async (_name, options, withoutCum) => {
    const { v, i, reports, account, stream } = await venue(options, (f) => {
      f.account!.tradeEventsWithoutFees = true;
      f.account!.tradeEventsWithoutCumQty = withoutCum;
    });
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    const o = conformanceOrder(i, { side: 'buy', price: '64000.0', qty: '0.03' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const t1 = account.fill(o.clientOrderId, { qty: '0.01', price: '64000.0', fee: '1.0240', maker: false });
    await waitUntil(() => fills(reports).length === 1, 'the first fill');
    const t2 = account.fill(o.clientOrderId, { qty: '0.02', price: '64000.0', fee: '2.0480', maker: true });
    await waitUntil(() => v.execution.workingOrders === 0, 'the order is final');
    // the push of each trade, seen before or after its REST read, adds nothing
    await new Promise((r) => setTimeout(r, 100));
    const f = fills(reports);
    expect(f.map((x) => x.tradeId)).toEqual([t1, t2]);
    // fee atoms of 1e-9 USD
    expect(f.map((x) => x.feeAtoms)).toEqual([1_024_000_000n, 2_048_000_000n]);
    expect(f.map((x) => x.feeAsset)).toEqual(['USD', 'USD']);
    expect(account.calls).toContain('QueryTrades');
    expect(stream.stats.feeless).toBe(2);
    expect(stream.stats.rejected).toBe(0);
  });

  it('a disconnect mid-fill loses nothing: the snapshot after resubscribing (with a fresh token) carries the missed fill', async () => {
    const { v, i, reports, account, stream } = await venue();
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    const o = conformanceOrder(i, { side: 'buy', price: '63000.0', qty: '0.03' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    account.fill(o.clientOrderId, { qty: '0.01', price: '63000.0', fee: '0.1', maker: true });
    await waitUntil(() => fills(reports).length === 1, 'the first fill, pushed');
    const tokens = account.tokensIssued;
    fake!.dropExecutions();
    // filled while nobody is subscribed: this trade's push goes nowhere
    account.fill(o.clientOrderId, { qty: '0.02', price: '63000.0', fee: '0.2', maker: false });
    expect(fake!.executionsSubscribers()).toBe(0);
    await waitUntil(() => v.execution.workingOrders === 0, 'the order is final');
    const f = fills(reports);
    expect(f).toHaveLength(2);
    expect(f.map((x) => [x.lastQty, x.cumQty])).toEqual([[1_000_000, 1_000_000], [2_000_000, 3_000_000]]);
    expect(new Set(f.map((x) => x.tradeId)).size).toBe(2);
    // a used token dies with its subscription: the reconnect fetched another
    expect(account.tokensIssued).toBeGreaterThan(tokens);
    expect(stream.stats.connects).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 150));
    expect(fills(reports)).toHaveLength(2);
  });

  it('a fill missed while down and absent from the snapshot is read over REST after resubscribing', async () => {
    const { v, i, reports, account, stream } = await venue({}, (f) => (f.account!.snapshotWithoutTrades = true));
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    const o = conformanceOrder(i, { side: 'buy', price: '63000.0', qty: '0.03' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    fake!.dropExecutions();
    const id = account.fill(o.clientOrderId, { qty: '0.01', price: '63000.0', fee: '0.1', maker: true });
    await waitUntil(() => fills(reports).length === 1, 'the missed fill');
    expect(fills(reports)[0]).toMatchObject({ tradeId: id, cumQty: 1_000_000, liquidity: 'maker' });
    expect(account.calls).toContain('QueryTrades');
    // the stream is back: the next fill is pushed
    await waitUntil(() => stream.isLive, 'live again');
    account.fill(o.clientOrderId, { qty: '0.02', price: '63000.0', fee: '0.2', maker: false });
    await waitUntil(() => v.execution.workingOrders === 0, 'the order is final');
    expect(fills(reports).map((x) => x.cumQty)).toEqual([1_000_000, 3_000_000]);
  });

  it('the venue refuses the token (expired): a fresh one is fetched and the subscription goes through', async () => {
    const { account, stream } = await venue({}, (f) => (f.account!.refuseSubscriptions = 1));
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    expect(stream.stats.subscribeFailures).toBe(1);
    expect(account.tokensIssued).toBe(2);
    expect(account.calls.filter((c) => c === 'GetWebSocketsToken')).toHaveLength(2);
  });

  it('hostile frames on the private stream are counted, never applied, and answered with a REST read', async () => {
    const { v, i, reports, account, stream } = await venue();
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    const o = conformanceOrder(i, { side: 'buy', price: '63000.0', qty: '0.03' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const txid = account.find(o.clientOrderId)!.txid;
    const trade = (extra: string) =>
      `{"channel":"executions","type":"update","data":[{"order_id":"${txid}","cl_ord_id":"${o.clientOrderId}","exec_id":"TFAKE1-AAAAA-BBBBBB","exec_type":"trade","symbol":"BTC/USD","side":"buy",${extra},"liquidity_ind":"t","order_status":"partially_filled","fees":[{"asset":"USD","qty":0.1}],"timestamp":"2026-12-05T06:00:00.000000Z"}],"sequence":90}`;
    const queriesBefore = account.calls.filter((c) => c === 'QueryOrders').length;
    fake!.sendExecutionsRaw(trade('"last_qty":0.000000001,"last_price":63000.0,"cum_qty":0.000000001')); // off the lot grid
    fake!.sendExecutionsRaw(trade('"last_qty":"0.01","last_price":63000.0,"cum_qty":0.01')); // a string, not a number
    fake!.sendExecutionsRaw(trade('"last_qty":0.01,"last_price":-63000.0,"cum_qty":0.01')); // negative price
    fake!.sendExecutionsRaw(trade('"last_qty":0.01,"last_price":63000.0,"cum_qty":0.01').slice(0, 120)); // cut
    // a trade without its execution (on another pair: malformed whatever the pair)
    fake!.sendExecutionsRaw('{"channel":"executions","type":"update","data":[{"exec_type":"trade","order_id":"x","symbol":"NOPE/USD","timestamp":"2026-12-05T06:00:00Z"}]}');
    await waitUntil(() => stream.stats.rejected >= 5, 'five rejections');
    await waitUntil(() => account.calls.filter((c) => c === 'QueryOrders').length > queriesBefore, 'a REST read of the working order');
    expect(fills(reports)).toHaveLength(0);
    expect(v.execution.workingOrders).toBe(1);
    // a genuine fill still arrives in push
    account.fill(o.clientOrderId, { qty: '0.01', price: '63000.0', fee: '0.1', maker: true });
    await waitUntil(() => fills(reports).length === 1, 'the genuine fill');
    expect(fills(reports)[0]).toMatchObject({ lastQty: 1_000_000, cumQty: 1_000_000 });
  });

  it('an account that also trades a pair this venue does not configure: the stream goes live once (no reconnect, one token), those events counted as foreign, ours applied', async () => {
    // the account knows ETH/EUR too; the venue is configured for BTC/USD only
    const { v, i, reports, account, stream } = await venue({ executions_subscribe_timeout_ms: 300 }, () => {}, SECRET, undefined, [
      ...REST_PAIRS,
      { symbol: 'ETH/EUR', key: 'XETHZEUR', altname: 'ETHEUR', wsname: 'ETH/EUR', base: 'XETH', quote: 'ZEUR', pricePrecision: 2, qtyPrecision: 8 },
    ]);
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    // the account-wide snapshot named the order placed by hand before the start (see venue())
    expect(stream.stats.foreign).toBe(1);
    // another ETH/EUR order placed by hand while we trade, and a fill of it: pushed to us too
    const byHand = account.placeByHand({ pair: 'XETHZEUR', type: 'buy', volume: '0.5', price: '2999.00' });
    account.fill(byHand, { qty: '0.25', price: '2999.00', fee: '0.3', maker: true });
    const o = conformanceOrder(i, { side: 'buy', price: '63000.0', qty: '0.02' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    account.fill(o.clientOrderId, { qty: '0.02', price: '63000.0', fee: '0.2', maker: true });
    await waitUntil(() => v.execution.workingOrders === 0, 'our order filled');
    expect(fills(reports).map((f) => f.lastQty)).toEqual([2_000_000]);
    await new Promise((r) => setTimeout(r, 400)); // past executions_subscribe_timeout_ms: no resubscribe
    // foreign: the snapshot's ETH/EUR order, then the new order's pending_new and its trade (its
    // events without a symbol reach the client, which follows no such order: untracked)
    expect({ live: stream.isLive, connects: stream.stats.connects, tokens: stream.stats.tokenFetches, rejected: stream.stats.rejected, foreign: stream.stats.foreign }).toEqual({
      live: true, connects: 1, tokens: 1, rejected: 0, foreign: 3,
    });
    expect(stream.stats.outcomes.untracked).toBeGreaterThanOrEqual(1);
  });

  it('a refused key: the token fetch is retried with backoff (no spin), never logged with the secret, and polling goes on', async () => {
    const lines: string[] = [];
    const dest = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    const wrong = randomBytes(64).toString('base64');
    const { v, i, reports, stream } = await venue({ poll_interval_ms: 40, reconnect_initial_ms: 50, reconnect_max_ms: 400 }, () => {}, wrong, createLogger({ level: 'debug', destination: dest as never, pretty: false }));
    await new Promise((r) => setTimeout(r, 1000));
    // 50, 100, 200, 400, 400 ms ... (jittered to half): a handful in a second, not hundreds
    expect(stream.stats.tokenFailures).toBeGreaterThanOrEqual(2);
    expect(stream.stats.tokenFetches).toBeLessThanOrEqual(12);
    expect(stream.isLive).toBe(false);
    // orders are still answered (refused: the key is wrong) and nothing waits for the stream
    const o = conformanceOrder(i, { side: 'buy', price: '63000.0', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.length > 0, 'a report');
    expect(reports[0]).toMatchObject({ kind: 'rejected', rejectReason: 'AUTH_FAILED' });
    const log = lines.join('');
    expect(log).toMatch(/GetWebSocketsToken failed \(kraken .*EAPI:Invalid signature/);
    expect(log).not.toContain(wrong);
    expect(log).not.toContain(SECRET);
  });

  it('a subscription left unanswered is retried on a new connection after executions_subscribe_timeout_ms', async () => {
    const withBackoff = vi.spyOn(WsConnection.prototype, 'reconnectWithBackoff');
    const atOnce = vi.spyOn(WsConnection.prototype, 'reconnect');
    const { stream } = await venue({ executions_subscribe_timeout_ms: 300 }, (f) => (f.ignoreExecutionsSubscribes = 1));
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    expect(stream.stats.connects).toBe(2);
    // through the backoff, not at once: a venue that never answers would be asked again in a loop
    expect(withBackoff.mock.calls.map(([why]) => why)).toEqual(['no executions snapshot in time']);
    expect(atOnce).not.toHaveBeenCalled();
  });

  it('a sequence gap (a lost update) makes the working orders be read over REST', async () => {
    const { v, i, reports, account, stream } = await venue();
    await waitUntil(() => stream.isLive, 'the executions stream is live');
    const o = conformanceOrder(i, { side: 'buy', price: '63000.0', qty: '0.03' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    const before = account.calls.filter((c) => c === 'QueryOrders').length;
    // the update carrying this fill is lost: the next message arrives with a sequence two ahead
    fake!.skipExecutionsSequence(1);
    account.pushDelayMs = 0;
    const lost = account.fill(o.clientOrderId, { qty: '0.01', price: '63000.0', fee: '0.1', maker: true });
    await waitUntil(() => stream.stats.sequenceGaps === 1, 'the gap seen');
    await waitUntil(() => account.calls.filter((c) => c === 'QueryOrders').length > before, 'a REST read');
    expect(fills(reports).map((f) => f.tradeId)).toEqual([lost]);
  });

  it('with the private stream unreachable, polling still delivers fills', async () => {
    const { v, i, reports, account, stream } = await venue({ poll_interval_ms: 40, private_ws_url: 'ws://127.0.0.1:1/v2' });
    const o = conformanceOrder(i, { side: 'buy', price: '63000.0', qty: '0.01' });
    v.execution.submit(o);
    await waitUntil(() => reports.some((r) => r.kind === 'ack'), 'an ack');
    account.fill(o.clientOrderId, { qty: '0.01', price: '63000.0', fee: '0.1', maker: true });
    await waitUntil(() => v.execution.workingOrders === 0, 'the order is final, by polling');
    expect(fills(reports)).toHaveLength(1);
    expect(stream.isLive).toBe(false);
  });

  it('executions_stream = false: polling only, no token fetched', async () => {
    const { v, account } = await venue({ executions_stream: false, poll_interval_ms: 40 });
    expect(v.executionsStream).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    expect(account.calls).not.toContain('GetWebSocketsToken');
  });
});
