/**
 * A taker match this version journaled as its single fills (it matched after that run's start)
 * is read at a later restart, when Kraken's consolidated view is asked for it. Where that view
 * names the match by an id of no single fill, the fills stay single fills (src/taker-matches.ts):
 * reported under the new id, the match looked new to the journal and was booked a second time at
 * every restart. The control: named by its first fill's id (the local server's form).
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
import { afterEach, describe, expect, it } from 'vitest';
import { attachJournal } from '../../core/dist/engine/rebuild.js';
import { ScriptedVenue } from '../../core/dist/engine/test-venue.js';
import { createKrakenVenue } from '../src/index.js';
import { FakeKraken } from './fake-kraken.js';

const KEY = `test-key-${randomBytes(8).toString('hex')}`;
const SECRET = randomBytes(64).toString('base64');
const RISK = { max_position: 1e15, max_drawdown: 0.5, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };
const LEVELS = [
  { qty: '0.01', price: '63000.0', fee: '0.2520' },
  { qty: '0.03', price: '63000.5', fee: '0.7560' },
];

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

describe('review: a match journaled by THIS version as single fills, read after the next restart', () => {
  let fake: FakeKraken | undefined;
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s().catch(() => undefined);
    await fake?.close();
    fake = undefined;
  });

  const venueOf = () =>
    createKrakenVenue(
      { api_url: fake!.wsUrl, rest_url: fake!.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { executions_stream: false, poll_interval_ms: 50, private_requests_per_interval: 10_000, private_interval_ms: 1000 } },
      { exchange: 'kraken', clock: new SystemClock() },
    );

  async function scenario(consolidatedId: 'first-fill' | 'id-of-no-fill') {
    fake = await FakeKraken.start({ seed: 5, apiKey: KEY, apiSecret: SECRET });
    const account = fake.account! as any;
    if (consolidatedId === 'id-of-no-fill') {
      // Kraken's default view names a consolidated trade by an id that is no single fill's
      // (a form taker-matches.ts accepts: "Kraken's docs do not say which id it uses")
      const orig = account.listed.bind(account);
      account.listed = (trades: any[], c: unknown) => {
        const out = orig(trades, c) as [string, any][];
        if (c === 'false' || c === false) return out;
        return out.map(([id, info]) => {
          const t = account.trades.find((x: any) => x.id === id);
          return t?.match ? [t.match, info] : [id, info];
        });
      };
    }
    const probe = venueOf();
    const [BTC] = (await probe.marketData.loadInstruments(['BTC/USD'])) as Instrument[];
    await probe.marketData.stop();
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-kraken-review-')), 'j.db');
    // Run 1 = this version, the match made after its start: journaled as its single fills
    // (what the executions stream pushes and what the polls read with consolidate_taker=false)
    const v1 = new ScriptedVenue('kraken', [BTC!], { canTrade: true }, false);
    const a = engineOn(path, { marketData: v1, execution: v1 }, new ManualClock(Date.now()));
    await a.start();
    v1.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'kraken', symbol: 'BTC/USD', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: priceToTicks(BTC!, '62990.0'), qty: qtyToLots(BTC!, '1') }], asks: [{ price: priceToTicks(BTC!, '63000.0'), qty: qtyToLots(BTC!, '1') }] } as any);
    expect(a.submit({ exchange: 'kraken', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(BTC!, '63001.0'), qty: qtyToLots(BTC!, '0.1'), tif: 'GTC', source: 'test' }).accepted).toBe(true);
    const o = v1.submitted[0]!;
    let txid = '';
    const res = { writeHead: () => res, end: (body: string) => (txid = JSON.parse(body).result.txid[0]), socket: undefined };
    account.addOrder({ pair: 'XBTUSD', type: 'buy', ordertype: 'limit', volume: '0.1', price: '63001.0', cl_ord_id: o.clientOrderId, oflags: 'fciq' }, res as unknown as ServerResponse);
    const [t1, t2] = account.takerMatch(o.clientOrderId, LEVELS) as string[];
    v1.report(o, { kind: 'ack', venueOrderId: txid });
    const ts = Date.now();
    let cum = 0;
    for (const [id, l] of [[t1, LEVELS[0]!], [t2, LEVELS[1]!]] as const) {
      const q = qtyToLots(BTC!, l.qty);
      cum += q;
      v1.report(o, { kind: 'fill', tradeId: id, lastPrice: priceToTicks(BTC!, l.price), lastQty: q, cumQty: cum, leavesQty: qtyToLots(BTC!, '0.1') - cum, feeAtoms: 0n, liquidity: 'taker', ts } as any);
    }
    await a.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 5));
    account.balances = { ...account.balances, XXBT: '0.04000000' };
    // Run 2 = this version again (restart): the match is now "before the start"
    const k = venueOf();
    const b = engineOn(path, { marketData: k.marketData, execution: k.execution }, new SystemClock());
    stops.push(() => b.stop('test'));
    await b.start();
    const r = b.reconcileResult!;
    const held = b.orders.get(o.clientOrderId) as Order;
    return {
      position: b.portfolio.qty('kraken', 'BTC/USD'),
      filled: held.filledQty,
      mismatches: r.mismatches.filter((m: any) => m.kind !== 'balance').map((m: any) => `${m.kind}: ${m.detail}`),
      recovered: r.recovered.map((m: any) => m.detail),
      BTC: BTC!,
    };
  }

  it('control: consolidated under its first fill id (the local server): nothing booked again', async () => {
    const s = await scenario('first-fill');
    expect({ position: s.position, filled: s.filled, mismatches: s.mismatches, recovered: s.recovered }).toEqual({ position: qtyToLots(s.BTC, '0.04'), filled: qtyToLots(s.BTC, '0.04'), mismatches: [], recovered: [] });
  }, 60_000);

  it('consolidated under an id of no single fill: the match this version journaled as fills is not booked again', async () => {
    const s = await scenario('id-of-no-fill');
    expect({ position: s.position, filled: s.filled, mismatches: s.mismatches, recovered: s.recovered }).toEqual({ position: qtyToLots(s.BTC, '0.04'), filled: qtyToLots(s.BTC, '0.04'), mismatches: [], recovered: [] });
  }, 60_000);
});
