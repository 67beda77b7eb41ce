/**
 * An order Binance shows FILLED with executedQty below origQty (a close by the venue, or STP
 * DECREMENT without a preventedQuantity that covers the rest): the venue will trade no more of it.
 * Kept followed, it never ended: partially filled in the engine for good, its rest counted as open
 * by risk, HALT and stop waiting on it, and it was read again every poll. It ends `expired` (in
 * the adapter kit's words) once a REST read of the order and of its trades agree: the trades
 * booked equal executedQty, none refused. A trade list behind executedQty is waited for, as
 * before. Against the local fake venue (REST + WebSocket API on 127.0.0.1); polls run only when
 * a test asks (the poll interval is longer than any test), on a SteppedClock.
 */
import { qtyToLots, type ExecutionReport, type Instrument } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { silentLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBinanceVenue } from '../src/plugin.js';
import { FakeBinance } from './fake-binance.js';
import { SteppedClock } from './stepped-clock.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real-ws';
const W = 15_000;

describe('Binance: an order the venue shows FILLED below its size', () => {
  let fake: FakeBinance | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await fake?.close();
    fake = undefined;
  });

  async function venue(fills: 'polling' | 'stream' = 'polling') {
    fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
    const v = createBinanceVenue(
      {
        api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET),
        options: { fills, order_entry: 'rest', poll_interval_ms: 600_000, audit_interval_ms: 0, reconnect_initial_ms: 20, reconnect_max_ms: 100 },
      },
      { exchange: 'binance', clock: new SteppedClock(), logger: silentLogger() },
    );
    const [i] = await v.marketData.loadInstruments(['BTCUSDT']);
    const reports: ExecutionReport[] = [];
    const ex = v.execution;
    await ex.start((r) => reports.push(r));
    stops.push(() => ex.stop());
    if (fills === 'stream') await waitUntil(() => ex.userStream?.up === true, 'user data stream up', W);
    /** One sweep of every followed order, as the poll timer's (awaited: the reads are done when it returns). */
    const poll = () => (ex as unknown as { pollTracked(again: boolean): Promise<void> }).pollTracked(true);
    const orderReads = () => fake!.requests.filter((r) => r.method === 'GET' && r.path === '/api/v3/order').length;
    return { ex, i: i!, reports, poll, orderReads };
  }

  /** Places a 0.0006 BTC buy and waits for its ack; the venue's order. */
  async function placed(ex: Awaited<ReturnType<typeof venue>>['ex'], i: Instrument, reports: ExecutionReport[]) {
    const o = conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0006' });
    ex.submit(o);
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack'), 'the ack', W);
    const id = Number(reports.find((r) => r.kind === 'ack')!.venueOrderId);
    return { o, id, fo: fake!.orders.get(id)! };
  }

  const rows = (reports: ExecutionReport[], cid: string) => reports.filter((r) => r.clientOrderId === cid).map((r) => [r.kind, r.lastQty, r.cumQty, r.leavesQty]);

  it('a poll that reads FILLED with executedQty below origQty and trades that agree ends the order expired, in the kit\'s words, and it is read no more', async () => {
    const { ex, i, reports, poll, orderReads } = await venue();
    const { o, id, fo } = await placed(ex, i, reports);
    fake!.fill(id, '0.00040');
    fo.status = 'FILLED'; // closed by the venue at 0.0004 of 0.0006, no preventedQuantity
    await poll();
    const four = qtyToLots(i, '0.0004');
    const six = qtyToLots(i, '0.0006');
    expect(rows(reports, o.clientOrderId)).toEqual([['ack', 0, 0, six], ['fill', four, four, six - four], ['expired', 0, four, 0]]);
    expect(reports.at(-1)).toMatchObject({ venueOrderId: String(id), text: `binance closed the order filled at ${four} of ${six} lots` });
    const reads = orderReads();
    await poll();
    expect(orderReads()).toBe(reads);
  });

  it('FILLED with trades booked before and nothing new counted: its trades are still read, and it ends expired', async () => {
    const { ex, i, reports, poll } = await venue();
    const { o, id, fo } = await placed(ex, i, reports);
    fake!.fill(id, '0.00040');
    await poll();
    expect(rows(reports, o.clientOrderId).map((r) => r[0])).toEqual(['ack', 'fill']);
    fo.status = 'FILLED';
    const tradeReads = fake!.wsApi.tradeListRequests;
    await poll();
    expect(fake!.wsApi.tradeListRequests).toBe(tradeReads + 1);
    expect(reports.at(-1)).toMatchObject({ clientOrderId: o.clientOrderId, kind: 'expired', cumQty: qtyToLots(i, '0.0004'), leavesQty: 0 });
  });

  it('while the trade list is behind executedQty the order waits for its trades, then ends expired at all of them', async () => {
    const { ex, i, reports, poll } = await venue();
    const { o, id, fo } = await placed(ex, i, reports);
    fake!.fill(id, '0.00020');
    fake!.fill(id, '0.00020');
    fo.status = 'FILLED';
    fake!.wsApi.tradeListLag = 1;
    await poll();
    await poll();
    const two = qtyToLots(i, '0.0002');
    expect(rows(reports, o.clientOrderId).map((r) => r[0])).toEqual(['ack', 'fill']);
    fake!.wsApi.tradeListLag = 0;
    await poll();
    expect(rows(reports, o.clientOrderId).slice(1).map((r) => [r[0], r[2]])).toEqual([['fill', two], ['fill', 2 * two], ['expired', 2 * two]]);
  });

  it('not ended short while a trade the venue lists is refused (it may be the rest of the order): the next read books it, and the order ends filled', async () => {
    const { ex, i, reports, poll } = await venue();
    const { o, id, fo } = await placed(ex, i, reports);
    fake!.fill(id, '0.00040');
    fo.status = 'FILLED';
    // the list names a second trade of 0.0002 (the rest), refused on the first read (no commission), whole on the next
    let reads = 0;
    fake!.wsApi.editTradeList = (list) => {
      list.push({ ...list[0]!, id: Number(list[0]!.id) + 100, qty: '0.00020000', quoteQty: '12.80000000', commission: reads === 0 ? 'n/a' : '0.01280000' });
      return ++reads < 2;
    };
    await poll();
    expect(rows(reports, o.clientOrderId).map((r) => r[0])).toEqual(['ack', 'fill']);
    expect(new Map(ex.inputRejections()).get('trade_poll')).toBe(1);
    await poll();
    const six = qtyToLots(i, '0.0006');
    expect(rows(reports, o.clientOrderId).slice(1).map((r) => [r[0], r[2], r[3]])).toEqual([['fill', qtyToLots(i, '0.0004'), qtyToLots(i, '0.0002')], ['fill', six, 0]]);
  });

  it('an event saying FILLED short ends the order only after a REST read of it agrees', async () => {
    const { ex, i, reports } = await venue('stream');
    const { o, id, fo } = await placed(ex, i, reports);
    const reads = fake!.requests.filter((r) => r.path === '/api/v3/order' && r.method === 'GET').length;
    fake!.wsApi.editNextEvent = (ev) => (ev.X = 'FILLED');
    fake!.fill(id, '0.00040');
    fo.status = 'FILLED';
    await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'expired'), 'the end of the order', W);
    const four = qtyToLots(i, '0.0004');
    expect(rows(reports, o.clientOrderId).slice(1).map((r) => [r[0], r[2], r[3]])).toEqual([['fill', four, qtyToLots(i, '0.0002')], ['expired', four, 0]]);
    expect(fake!.requests.filter((r) => r.path === '/api/v3/order' && r.method === 'GET').length).toBeGreaterThan(reads);
  });

  it('queryOrder (a restart): FILLED short is the order ended short, status cancelled, filledQty from its trades, not followed', async () => {
    const { ex, i, poll, orderReads } = await venue();
    fake!.restingOrder(5001, 'cw-7', Date.now() - 60_000, '0.00060');
    fake!.fill(5001, '0.00040');
    fake!.orders.get(5001)!.status = 'FILLED';
    const journaled = { ...conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0006' }), clientOrderId: 'cw-7', venueOrderId: '5001', status: 'open' as const };
    const st = await ex.queryOrder(journaled);
    expect(st).toMatchObject({ status: 'cancelled', filledQty: qtyToLots(i, '0.0004') });
    expect(st!.fills.map((f) => f.cumQty)).toEqual([qtyToLots(i, '0.0004')]);
    const reads = orderReads();
    await poll();
    expect(orderReads()).toBe(reads);
  });

  it('queryOrder: FILLED whose executedQty is behind its trades is filled with every trade when they cover the order; short of it, followed until the count agrees', async () => {
    const { ex, i, reports, poll } = await venue();
    fake!.restingOrder(5001, 'cw-7', Date.now() - 60_000, '0.00060');
    fake!.fill(5001, '0.00060');
    fake!.orders.get(5001)!.executedQty = '0.00000';
    const journaled = (cid: string, id: string) => ({ ...conformanceOrder(i, { side: 'buy', price: '64000', qty: '0.0006' }), clientOrderId: cid, venueOrderId: id, status: 'open' as const });
    expect(await ex.queryOrder(journaled('cw-7', '5001'))).toMatchObject({ status: 'filled', filledQty: qtyToLots(i, '0.0006') });

    const fo = fake!.restingOrder(5002, 'cw-8', Date.now() - 60_000, '0.00060');
    fake!.fill(5002, '0.00040');
    fo.status = 'FILLED';
    fo.executedQty = '0.00020';
    const four = qtyToLots(i, '0.0004');
    expect(await ex.queryOrder(journaled('cw-8', '5002'))).toMatchObject({ status: 'partially_filled', filledQty: four });
    await poll();
    expect(reports.filter((r) => r.clientOrderId === 'cw-8')).toEqual([]);
    fo.executedQty = '0.00040';
    await poll();
    expect(rows(reports, 'cw-8')).toEqual([['expired', 0, four, 0]]);
  });
});
