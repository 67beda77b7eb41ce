/**
 * Upgrading to single fills (consolidate_taker=false). Versions before read Kraken's trades with
 * its default consolidation: a taker match across two price levels was journaled as ONE trade
 * (the first fill's id, the volumes summed). Read now as single fills, the same match is two
 * trades, the second under an id the journal never saw: the first restart after the upgrade
 * booked it again (position and fee twice). Here run 1 writes that journal (a scripted venue
 * reports what the old version booked), run 2 is the real Kraken client against the local
 * server (127.0.0.1), reconciling at start and then trading on.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { ManualClock, SystemClock, priceToTicks, qtyToLots, type Instrument, type Order } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { Engine } from '@cwts/core/engine';
import { JournalStore } from '@cwts/core/journal';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { RiskManager } from '@cwts/core/risk';
import { waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
// not exported: used from the built core as its own tests use them
import { attachJournal } from '../../core/dist/engine/rebuild.js';
import { ScriptedVenue } from '../../core/dist/engine/test-venue.js';
import { createKrakenVenue } from '../src/index.js';
import { FakeKraken } from './fake-kraken.js';

const KEY = `test-key-${randomBytes(8).toString('hex')}`;
const SECRET = randomBytes(64).toString('base64');
const RISK = { max_position: 1e15, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };
/** The match: 0.01 at 63000.0 and 0.03 at 63000.5; fees 0.2520 + 0.7560 = 1.008 USD (quote atoms of 1e-9). */
const LEVELS = [
  { qty: '0.01', price: '63000.0', fee: '0.2520' },
  { qty: '0.03', price: '63000.5', fee: '0.7560' },
];
const MATCH_FEE_ATOMS = 1_008_000_000n;

function engineOn(path: string, venue: { marketData: any; execution: any }, clock: any) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  const risk = new RiskManager({ risk: RISK as any, metrics, initialEquity: 1_000_000, timers: false });
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep', onReconcileMismatch: 'adopt-venue',
    venues: [{ name: 'kraken', symbols: ['BTC/USD'], ...venue }],
  } as any);
  attachJournal(engine, store, silentLogger());
  return engine;
}

describe('Kraken: the first restarts after the upgrade to single fills', () => {
  let fake: FakeKraken | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s().catch(() => undefined);
    await fake?.close();
    fake = undefined;
  });

  const venueOf = (stream: boolean) =>
    createKrakenVenue(
      { api_url: fake!.wsUrl, rest_url: fake!.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { executions_stream: stream, poll_interval_ms: 50, private_requests_per_interval: 10_000, private_interval_ms: 1000 } },
      { exchange: 'kraken', clock: new SystemClock() },
    );

  /**
   * Run 1, the version before: a buy of `qty` placed at the venue, matched at once across two
   * levels; the journal holds the match as the old version booked it (`journaled`: as one trade
   * t1 of 0.04, or not at all: it matched while the process was down).
   */
  async function runBefore(qty: string, journaled: 'consolidated' | 'nothing') {
    fake = await FakeKraken.start({ seed: 5, apiKey: KEY, apiSecret: SECRET });
    const account = fake.account!;
    const probe = venueOf(false);
    const [BTC] = (await probe.marketData.loadInstruments(['BTC/USD'])) as Instrument[];
    await probe.marketData.stop();
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-kraken-upgrade-')), 'j.db');
    const v1 = new ScriptedVenue('kraken', [BTC!], { canTrade: true }, false);
    const a = engineOn(path, { marketData: v1, execution: v1 }, new ManualClock(Date.now()));
    await a.start();
    v1.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'kraken', symbol: 'BTC/USD', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: priceToTicks(BTC!, '62990.0'), qty: qtyToLots(BTC!, '1') }], asks: [{ price: priceToTicks(BTC!, '63000.0'), qty: qtyToLots(BTC!, '1') }] } as any);
    expect(a.submit({ exchange: 'kraken', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(BTC!, '63001.0'), qty: qtyToLots(BTC!, qty), tif: 'GTC', source: 'test' }).accepted).toBe(true);
    const o = v1.submitted[0]!;
    // the same order at the (fake) venue, with our cl_ord_id
    let txid = '';
    const res = { writeHead: () => res, end: (body: string) => (txid = JSON.parse(body).result.txid[0]), socket: undefined };
    (account as any).addOrder({ pair: 'XBTUSD', type: 'buy', ordertype: 'limit', volume: qty, price: '63001.0', cl_ord_id: o.clientOrderId, oflags: 'fciq' }, res as unknown as ServerResponse);
    const [t1, t2] = account.takerMatch(o.clientOrderId, LEVELS);
    v1.report(o, { kind: 'ack', venueOrderId: txid });
    if (journaled === 'consolidated') {
      // what the old version journaled (TradesHistory / QueryOrders with Kraken's default consolidation): one trade t1 of 0.04
      const [[cid, consolidated]] = (account as any).listed((account as any).trades, undefined) as [string, { price: string; vol: string; fee: string; time: number }][];
      expect(cid).toBe(t1);
      const cum = qtyToLots(BTC!, consolidated.vol);
      v1.report(o, { kind: 'fill', tradeId: t1, lastPrice: priceToTicks(BTC!, consolidated.price), lastQty: cum, cumQty: cum, leavesQty: qtyToLots(BTC!, qty) - cum, feeAtoms: MATCH_FEE_ATOMS, liquidity: 'taker', ts: Math.round(consolidated.time * 1000) } as any);
      if (cum === qtyToLots(BTC!, qty)) v1.report(o, { kind: 'filled' } as any);
    }
    await a.stop('SIGTERM');
    // a restart takes longer than this: the match is before run 2 starts on any clock
    await new Promise((r) => setTimeout(r, 5));
    // the account holds what it bought
    account.balances = { ...account.balances, XXBT: '0.04000000' };
    return { path, BTC: BTC!, o, txid, t1: t1!, t2: t2!, account };
  }

  /** Run 2, this version: the real client, reconciling at start. */
  async function runAfter(path: string, stream: boolean) {
    const k = venueOf(stream);
    const b = engineOn(path, { marketData: k.marketData, execution: k.execution }, new SystemClock());
    stops.push(() => b.stop('test'));
    await b.start();
    const r = b.reconcileResult!;
    // balances are compared from this reconciliation on (the scripted run 1 had none)
    const findings = {
      mismatches: r.mismatches.filter((m: any) => m.kind !== 'balance').map((m: any) => `${m.kind}: ${m.detail}`),
      recovered: r.recovered.map((m: any) => m.detail),
    };
    return { b, k, findings };
  }

  it('a match journaled as one trade (an order filled) is not booked again: no trade of it looks new', async () => {
    const { path, BTC } = await runBefore('0.04', 'consolidated');
    const { b, findings } = await runAfter(path, false);
    expect({ position: b.portfolio.qty('kraken', 'BTC/USD'), ...findings }).toEqual({ position: qtyToLots(BTC, '0.04'), mismatches: [], recovered: [] });
  }, 60_000);

  it('an order still working, its match journaled as one trade: not booked again at start, nor by the polls or the private stream (whose snapshot names both fills); a fill made since is booked once', async () => {
    const { path, BTC, o, account } = await runBefore('0.1', 'consolidated');
    const { b, k, findings } = await runAfter(path, true);
    expect({ position: b.portfolio.qty('kraken', 'BTC/USD'), ...findings }).toEqual({ position: qtyToLots(BTC, '0.04'), mismatches: [], recovered: [] });
    // the stream's snapshot (last 50 fills: the match as its two fills) once the order is followed,
    // its trade events without cum_qty (Kraken's is optional): the second fill fit the order's size
    const stream = k.executionsStream!;
    await waitUntil(() => stream.isLive, 'the executions stream live');
    account.tradeEventsWithoutCumQty = true;
    const connects = stream.stats.connects;
    fake!.dropExecutions();
    await waitUntil(() => stream.stats.connects > connects && stream.isLive, 'the executions stream live again');
    expect(b.portfolio.qty('kraken', 'BTC/USD')).toBe(qtyToLots(BTC, '0.04'));
    account.tradeEventsWithoutCumQty = false;
    // a fill since: the poll reads it first (the push comes later), with the match among the order's trades
    account.pushDelayMs = 300;
    account.fill(o.clientOrderId, { qty: '0.02', price: '63001.0', fee: '0.1', maker: true });
    await waitUntil(() => (b.orders.get(o.clientOrderId) as Order).filledQty === qtyToLots(BTC, '0.06'), 'the new fill booked');
    // a few more polls of the order (its trades read again, the match among them)
    const queried = account.calls.filter((m) => m === 'QueryOrders').length;
    await waitUntil(() => account.calls.filter((m) => m === 'QueryOrders').length >= queried + 5, 'more polls');
    const held = b.orders.get(o.clientOrderId) as Order;
    expect({ position: b.portfolio.qty('kraken', 'BTC/USD'), filled: held.filledQty, fee: held.feeAtoms }).toEqual({ position: qtyToLots(BTC, '0.06'), filled: qtyToLots(BTC, '0.06'), fee: MATCH_FEE_ATOMS + 100_000_000n });
  }, 60_000);

  it('a match made while down (nothing journaled) before this start: booked once, as one trade with its quantity and fees summed; later polls do not book its fills again', async () => {
    const { path, BTC, o, t1, account } = await runBefore('0.1', 'nothing');
    const { b, findings } = await runAfter(path, false);
    expect(findings).toEqual({ mismatches: [], recovered: [`filled ${qtyToLots(BTC, '0.04')} lot(s) while down: applied with their fees`] });
    const held = b.orders.get(o.clientOrderId) as Order;
    // the average price (63000.375) to the tick, half up: 63000.4
    expect({ position: b.portfolio.qty('kraken', 'BTC/USD'), filled: held.filledQty, fee: held.feeAtoms, notional: held.filledNotionalTicksLots }).toEqual({
      position: qtyToLots(BTC, '0.04'), filled: qtyToLots(BTC, '0.04'), fee: MATCH_FEE_ATOMS, notional: BigInt(priceToTicks(BTC, '63000.4')) * BigInt(qtyToLots(BTC, '0.04')),
    });
    expect(b.orders.hasTrade(o.clientOrderId, t1)).toBe(true);
    const queried = account.calls.filter((m) => m === 'QueryOrders').length;
    await waitUntil(() => account.calls.filter((m) => m === 'QueryOrders').length >= queried + 5, 'more polls');
    expect(b.portfolio.qty('kraken', 'BTC/USD')).toBe(qtyToLots(BTC, '0.04'));
  }, 60_000);
});
