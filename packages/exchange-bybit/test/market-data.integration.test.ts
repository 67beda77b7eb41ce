/**
 * Bybit specifics against the local v5 server, beyond the shared conformance suite: the
 * application-level ping, silent stalls, snapshots re-sent mid-stream (and `u = 1` service
 * restarts), depth 1's unchanged-book re-sends, duplicate trades, liquidations, and hostile
 * book frames. Every scenario ends with the engine-side book equal to the venue's top 10.
 */
import { SystemClock, priceToTicks, qtyToLots, ticksToPrice, lotsToQty, type Instrument, type LiquidationEvent } from '@cwts/core';
import { ConformanceSink, waitUntil } from '@cwts/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createBybitVenue, type BybitMarketData } from '../src/index.js';
import { FakeBybit, type FakeCategory } from './fake-bybit.js';

const SYM = 'BTCUSDT';
const W = 10_000;

interface Rig {
  fake: FakeBybit;
  md: BybitMarketData;
  sink: ConformanceSink;
  inst: Instrument;
}

let rig: Rig | undefined;

async function boot(opts: { category?: FakeCategory; options?: Record<string, unknown>; resendAfterMs?: number } = {}): Promise<Rig> {
  const category = opts.category ?? 'spot';
  const fake = await FakeBybit.start({ category, seed: 21, ...(opts.resendAfterMs ? { resendAfterMs: opts.resendAfterMs } : {}) });
  const v = createBybitVenue({ api_url: fake.wsUrl, rest_url: fake.restUrl, market: category, options: { reconnect_initial_ms: 20, reconnect_max_ms: 200, ...opts.options } }, { exchange: 'bybit', clock: new SystemClock(), random: () => 0.5 });
  const sink = new ConformanceSink();
  const [inst] = await v.marketData.loadInstruments([SYM]);
  await v.marketData.start([SYM], sink);
  rig = { fake, md: v.marketData, sink, inst: inst! };
  await waitUntil(() => sink.books.get('bybit', SYM)?.state === 'synced', 'synced', W);
  return rig;
}

afterEach(async () => {
  await rig?.md.stop();
  await rig?.fake.close();
  rig = undefined;
});

const canon = (i: Instrument, l: [string, string][]) => l.map(([p, q]) => [ticksToPrice(i, priceToTicks(i, p)), lotsToQty(i, qtyToLots(i, q))]);

async function converge(r: Rig, what: string, n = 10): Promise<void> {
  let last = '';
  await waitUntil(() => {
    const mine = r.sink.top('bybit', r.inst, n);
    const t = r.fake.truth(SYM, n);
    last = JSON.stringify({ mine, t });
    return mine.state === 'synced' && JSON.stringify(mine.bids) === JSON.stringify(canon(r.inst, t.bids)) && JSON.stringify(mine.asks) === JSON.stringify(canon(r.inst, t.asks));
  }, `${what}\n${last}`, W).catch((err: Error) => {
    throw new Error(`${err.message}\nlast: ${last}`);
  });
}

describe('bybit market data', () => {
  it('truncates to the subscribed depth: levels leaving the top 50 are deleted, entering ones added', async () => {
    const r = await boot();
    r.fake.step(SYM, 400);
    await converge(r, 'top 50 equals the venue', 50);
    const rec = r.sink.books.get('bybit', SYM)!;
    const out: { price: number; qty: number }[] = [];
    expect(rec.book.topLevels('bid', 1000, out)).toBeLessThanOrEqual(50);
    expect(r.sink.snapshots('resync')).toHaveLength(0);
  });

  it('sends {"op":"ping"} on its interval and takes the pongs (spot and linear forms)', async () => {
    for (const category of ['spot', 'linear'] as const) {
      const r = await boot({ category, options: { ping_interval_ms: 40, pong_timeout_ms: 400 } });
      await waitUntil(() => r.md.stats.pongs >= 3, `${category}: three pongs`, W);
      expect(r.fake.pings).toBeGreaterThanOrEqual(3);
      expect(r.fake.subscribes).toBe(1); // no reconnect happened
      await r.md.stop();
      await r.fake.close();
      rig = undefined;
    }
  });

  it('detects a silent stall (no frames, no pongs), reconnects and resyncs from a fresh snapshot', async () => {
    const r = await boot({ options: { ping_interval_ms: 50, pong_timeout_ms: 150, stale_after_ms: 400 } });
    r.fake.step(SYM, 5);
    r.fake.stall();
    r.fake.step(SYM, 5); // lost on the stalled connection
    await waitUntil(() => r.sink.statuses.some((s) => s.state === 'resyncing' && /reconnect/.test(s.reason)), 'a reconnect resync', W);
    await waitUntil(() => r.sink.snapshots('resync').length >= 1, 'a resync snapshot', W);
    r.fake.step(SYM, 10);
    await converge(r, 'book right after the stall');
    await waitUntil(() => r.fake.connectionCount() === 1, 'one connection', W);
    expect(r.sink.errors.some((e) => /no pong|stale|no message|silent/i.test(e.message))).toBe(true);
  });

  it('a snapshot mid-stream replaces the book (no resubscribe), counted as a resync', async () => {
    const r = await boot();
    r.fake.step(SYM, 20);
    await converge(r, 'before');
    const subs = r.fake.subscribes;
    // the venue's book moves by changes the client never gets, then Bybit re-sends a snapshot
    r.fake.midStreamSnapshot(SYM, { lostUpdates: 5 });
    r.fake.step(SYM, 10);
    await converge(r, 'book equals the venue after the re-sent snapshot');
    expect(r.md.stats.midStreamSnapshots).toBe(1);
    expect(r.sink.snapshots('resync')).toHaveLength(1);
    expect(r.md.syncOf(SYM)!.resyncs).toEqual({ other: 1 });
    expect(r.fake.subscribes).toBe(subs);
    expect(r.fake.unsubscribes).toBe(0);
  });

  it('a service restart (snapshot with u = 1) resets the update id and the book continues from it', async () => {
    const r = await boot();
    r.fake.step(SYM, 20);
    r.fake.midStreamSnapshot(SYM, { restart: true });
    r.fake.step(SYM, 30);
    await converge(r, 'book equals the venue after the restart');
    const sync = r.md.syncOf(SYM)!;
    expect(sync.lastSeq).toBe(r.fake.books.get(SYM)!.u);
    expect(sync.lastSeq).toBeLessThan(100);
    expect(r.sink.statuses.some((s) => s.state === 'resyncing' && /u=1/.test(s.reason))).toBe(true);
    expect(r.sink.snapshots('resync')).toHaveLength(1);
  });

  it('depth 1: the unchanged-book snapshot re-send (same u) is not a resync', async () => {
    const r = await boot({ options: { depth: 1 }, resendAfterMs: 60 });
    r.fake.step(SYM, 10);
    await converge(r, 'top 1', 1);
    await waitUntil(() => r.md.stats.resentSnapshots >= 2, 'two re-sent snapshots', W);
    expect(r.sink.snapshots('resync')).toHaveLength(0);
    await converge(r, 'top 1 still right', 1);
  });

  it('a snapshot under the same u: ignored when it is the book we hold, a reset when it is not', async () => {
    const r = await boot();
    r.fake.step(SYM, 10);
    r.fake.midStreamSnapshot(SYM, { keepU: true, lostUpdates: 0 });
    await waitUntil(() => r.md.stats.resentSnapshots === 1, 'the identical re-send seen', W);
    expect(r.sink.snapshots('resync')).toHaveLength(0);
    r.fake.midStreamSnapshot(SYM, { keepU: true, lostUpdates: 4 });
    await waitUntil(() => r.md.stats.midStreamSnapshots === 1, 'the different snapshot applied', W);
    r.fake.step(SYM, 10);
    await converge(r, 'book equals the venue');
    expect(r.sink.snapshots('resync')).toHaveLength(1);
  });

  it('asks again (resubscribes) when the awaited snapshot never comes', async () => {
    const r = await boot({ options: { snapshot_timeout_ms: 100 } });
    r.fake.withholdSnapshots = 2;
    r.fake.skipSequence(SYM);
    r.fake.step(SYM, 3);
    await waitUntil(() => r.sink.snapshots('resync').length === 1, 'a resync snapshot after two lost ones', W);
    expect(r.fake.unsubscribes).toBe(3);
    expect(r.sink.errors.filter((e) => /no book snapshot within 100 ms/.test(e.message))).toHaveLength(2);
    r.fake.step(SYM, 10);
    await converge(r, 'book right after the lost snapshots');
  });

  it('a gap, then a service restart (u = 1): the stale gap update is superseded and the book syncs on the restart snapshot', async () => {
    const r = await boot();
    r.fake.step(SYM, 20);
    // one update lost (a gap); the resubscribe's snapshot does not come; the venue restarts
    r.fake.withholdSnapshots = 1;
    r.fake.skipSequence(SYM);
    r.fake.step(SYM, 5);
    await waitUntil(() => r.sink.books.get('bybit', SYM)?.state !== 'synced', 'resyncing', W);
    r.fake.midStreamSnapshot(SYM, { restart: true, lostUpdates: 1 });
    r.fake.step(SYM, 10);
    await converge(r, 'book equals the restarted venue');
    expect(r.md.syncOf(SYM)!.lastSeq).toBeLessThan(100);
    // the gap's resubscribe only: the restart snapshot supersedes the update buffered on the gap
    expect(r.fake.unsubscribes).toBe(1);
  });

  it('a persistently crossed snapshot is asked for again with backoff, not in a tight loop, and the book syncs once it is sane', async () => {
    const r = await boot();
    const book = r.fake.books.get(SYM)!;
    const crossing = Math.min(...book.asks.keys()) + 10;
    book.bids.set(crossing, 100_000);
    r.fake.skipSequence(SYM);
    r.fake.step(SYM, 1);
    await waitUntil(() => (r.md.syncOf(SYM)!.reporter.counts.bad_snapshot ?? 0) >= 1, 'a crossed snapshot', W);
    const subs = r.fake.subscribes;
    await new Promise((done) => setTimeout(done, 1000));
    // first at once, then 100 ms doubling (about 4 in the first second; a tight loop makes hundreds)
    expect(r.fake.subscribes - subs).toBeLessThanOrEqual(20);
    expect(r.sink.books.get('bybit', SYM)?.state).not.toBe('synced');
    book.bids.delete(crossing);
    await converge(r, 'book right once the venue is no longer crossed');
  });

  it('resubscribes the book topic after a gap and ends right', async () => {
    const r = await boot();
    r.fake.step(SYM, 5);
    r.fake.skipSequence(SYM);
    r.fake.step(SYM, 20);
    await waitUntil(() => r.sink.snapshots('resync').length >= 1, 'a resync snapshot', W);
    r.fake.step(SYM, 10);
    await converge(r, 'after the gap');
    expect(r.fake.unsubscribes).toBe(1);
    expect(r.md.syncOf(SYM)!.resyncs.gap).toBe(1);
  });

  it('delivers each trade once, even when the venue repeats a frame', async () => {
    const r = await boot({ category: 'linear' });
    const t = r.fake.truth(SYM, 1);
    const a = r.fake.trade(SYM, { price: t.asks[0]![0], qty: '0.005', side: 'buy' });
    r.fake.repeatLastTrade(SYM);
    const b = r.fake.trade(SYM, { price: t.bids[0]![0], qty: '1.250', side: 'sell' });
    r.fake.repeatLastTrade(SYM);
    await waitUntil(() => r.md.stats.duplicateTrades >= 2, 'two duplicates seen', W);
    expect(r.sink.trades().map((x) => [x.tradeId, x.side, x.qty])).toEqual([
      [a, 'buy', 5],
      [b, 'sell', 1250],
    ]);
  });

  it('linear: allLiquidation becomes liquidation events for the cascade detector', async () => {
    const r = await boot({ category: 'linear' });
    r.fake.liquidation(SYM, { price: '64000.10', qty: '2.500', positionSide: 'Buy' });
    r.fake.liquidation(SYM, { price: '66000.00', qty: '0.001', positionSide: 'Sell' });
    await waitUntil(() => r.sink.events.filter((e) => e.type === 'liquidation').length >= 2, 'two liquidations', W);
    const liq = r.sink.events.filter((e): e is LiquidationEvent => e.type === 'liquidation');
    expect(liq.map((l) => [l.side, l.price, l.qty])).toEqual([
      ['sell', priceToTicks(r.inst, '64000.1'), 2500], // a long was liquidated: forced sell
      ['buy', priceToTicks(r.inst, '66000'), 1],
    ]);
  });

  it('hostile book frames are counted, never applied, and the book resyncs', async () => {
    const r = await boot();
    r.fake.step(SYM, 5);
    const u = r.fake.books.get(SYM)!.u;
    const frame = (b: string, uu: number) => `{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":${b},"a":[],"u":${uu},"seq":1}}`;
    r.fake.sendRaw(frame('[["65000.001","1"]]', u + 1)); // off the tick grid
    await waitUntil(() => (r.md.rejections.off_grid ?? 0) >= 1, 'off-grid counted', W);
    r.fake.step(SYM, 5);
    await converge(r, 'after off-grid');
    const u2 = r.fake.books.get(SYM)!.u;
    r.fake.sendRaw(frame('[["0.00","1"]]', u2 + 1)); // a non-positive price
    r.fake.sendRaw(frame('[["65000.00","1"]]', 9_007_199_254_740_000)); // a poisoned update id
    r.fake.sendRaw('{"success":false,"ret_msg":"error:boom","conn_id":"x","op":"subscribe"}');
    r.fake.step(SYM, 10);
    await converge(r, 'after hostile frames');
    // the parser itself refuses the non-positive price; the poisoned id is a gap the sync
    // resyncs from (the book converged above)
    expect(r.md.rejections.non_positive_price).toBe(1);
    expect(r.md.rejections.venue_error).toBe(1);
    expect(r.sink.books.get('bybit', SYM)!.state).toBe('synced');
  });
});
