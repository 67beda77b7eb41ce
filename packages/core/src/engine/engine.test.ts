import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../contracts/clock.js';
import type { Strategy, StrategyContext, SubmitResult } from '../contracts/trading.js';
import { defineInstrument } from '../domain/instrument.js';
import type { BookSnapshotEvent, TradeEvent } from '../domain/events.js';
import type { Signal } from '../domain/signal.js';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { JournalStore } from '../journal/store.js';
import { MaxPositionCheck } from '../risk/max-position-check.js';
import { MarketDataOnlyExecution } from './market-data-only.js';
import { restoreFromJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

function snapshot(bid = 5_000_000, ask = 5_000_100, seq = 10): BookSnapshotEvent {
  return { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: bid, qty: 1000 }], asks: [{ price: ask, qty: 1000 }] };
}

/** Submits whatever the test queues on the next signal, and remembers the results. */
class QueueStrategy implements Strategy {
  readonly name = 'queue';
  results: SubmitResult[] = [];
  next: Parameters<StrategyContext['submit']>[0][] = [];
  onSignal(_s: Signal, ctx: StrategyContext): void {
    for (const i of this.next.splice(0)) this.results.push(ctx.submit(i));
  }
}

function setup(opts: { maxPosition?: number; venue?: ScriptedVenue; journal?: JournalStore; onShutdown?: 'cancel' | 'keep'; logger?: ReturnType<typeof silentLogger>; clock?: ManualClock } = {}) {
  const venue = opts.venue ?? new ScriptedVenue('v', [BTC]);
  const strategy = new QueueStrategy();
  const metrics = new MetricsRegistry({ processMetrics: false });
  const engine = new Engine({
    clock: opts.clock ?? new ManualClock(1000), logger: opts.logger ?? silentLogger(), metrics, strategy, watchdog: false,
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    riskChecks: [new MaxPositionCheck(opts.maxPosition ?? 100_000)], journal: opts.journal, onShutdown: opts.onShutdown,
  });
  const signal = (): void => engine.emit({ id: 's', detector: 't', kind: 'k', exchange: 'v', symbol: 'BTCUSDT', ts: 1, direction: 1, strength: 1, evidence: {} });
  return { venue, strategy, engine, metrics, signal };
}

const buy = (qty: number, price = 5_000_100) => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, price, qty, tif: 'IOC' as const, source: 'test' });

describe('Engine', () => {
  it('routes an accepted intent to the venue and books the fill in integer units', async () => {
    const { venue, strategy, engine, signal } = setup();
    await engine.start();
    venue.sink!.onMarketEvent(snapshot());
    strategy.next.push(buy(250));
    signal();
    expect(strategy.results[0]).toMatchObject({ accepted: true });
    expect(venue.submitted).toHaveLength(1);
    const o = venue.submitted[0]!;
    venue.report(o, { kind: 'ack' });
    venue.report(o, { kind: 'fill', lastPrice: 5_000_100, lastQty: 250, cumQty: 250, leavesQty: 0, feeAtoms: 62_501n, tradeId: 't1', liquidity: 'taker' });
    // A duplicate fill (same trade id) is ignored.
    venue.report(o, { kind: 'fill', lastPrice: 5_000_100, lastQty: 250, cumQty: 250, leavesQty: 0, feeAtoms: 62_501n, tradeId: 't1' });
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(250);
    expect(engine.orders.get(o.clientOrderId)!.status).toBe('filled');
    const s = engine.summary();
    expect(s.fills).toBe(1);
    // 0.25 BTC bought at 50001.00, marked at mid 50000.50: -0.125 USDT unrealized, fee 0.62501.
    expect(s.unrealizedPnl).toBe('-0.125');
    expect(s.fees).toBe('0.62501');
    expect(s.equity).toBe('-0.75001');
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a fill of 0 lots', { lastQty: 0 }, 'fill_qty'],
    ['a negative fill', { lastQty: -250 }, 'fill_qty'],
    ['a fractional fill', { lastQty: 2.5 }, 'fill_qty'],
    ['a fill at price 0', { lastPrice: 0 }, 'fill_price'],
    ['a fill at NaN', { lastPrice: Number.NaN }, 'fill_price'],
    ['a fill with a number fee', { feeAtoms: 62_501 }, 'fill_fee'],
    ['a sell fill of a buy order', { side: 'sell' }, 'fill_side'],
    ['a fill on another symbol', { symbol: 'ETHUSDT' }, 'wrong_instrument'],
  ])('does not book %s: counted by reason, logged, the order and the portfolio as they were', async (_what, bad, reason) => {
    const { venue, strategy, engine, signal, metrics } = setup();
    await engine.start();
    venue.sink!.onMarketEvent(snapshot());
    strategy.next.push(buy(250));
    signal();
    const o = venue.submitted[0]!;
    venue.report(o, { kind: 'ack' });
    venue.report(o, { kind: 'fill', lastPrice: 5_000_100, lastQty: 250, cumQty: 250, leavesQty: 0, feeAtoms: 62_501n, tradeId: 't1', ...bad });
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
    expect(engine.orders.get(o.clientOrderId)).toMatchObject({ status: 'open', filledQty: 0 });
    expect(engine.summary().fills).toBe(0);
    expect(await metrics.registry.getSingleMetricAsString('cwts_execution_reports_invalid_total')).toContain(`cwts_execution_reports_invalid_total{exchange="v",reason="${reason}"} 1`);
    // the true fill, when it comes (same trade id), is booked: the refused one did not use up its id
    venue.report(o, { kind: 'fill', lastPrice: 5_000_100, lastQty: 250, cumQty: 250, leavesQty: 0, feeAtoms: 62_501n, tradeId: 't1' });
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(250);
    expect(engine.orders.get(o.clientOrderId)!.status).toBe('filled');
  });

  it('a report about an order placed outside this process warns (rate-limited) and is no error; one with an id of ours is an error each time', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) as never, pretty: false });
    const clock = new ManualClock(1000);
    const { venue, engine, metrics } = setup({ logger, clock });
    await engine.start();
    const errors = async () => (await metrics.registry.getSingleMetricAsString('cwts_errors_total')).match(/component="execution"} (\d+)/)?.[1] ?? '0';
    const foreign = { exchange: 'v', symbol: 'BTCUSDT', clientOrderId: 'web_7f3a', side: 'buy' as const, type: 'limit' as const, price: 1, qty: 1, tif: 'GTC' as const, source: 'x', status: 'open' as const, filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 };
    for (let k = 0; k < 50; k++) venue.report(foreign, { kind: 'fill', lastPrice: 5_000_000, lastQty: 1, cumQty: k + 1, tradeId: `f${k}` });
    expect(await errors()).toBe('0');
    const said = () => lines.filter((l) => l.includes('which this process did not place'));
    expect(said()).toHaveLength(1);
    clock.advance(10_000);
    venue.report(foreign, { kind: 'cancelled' });
    expect(said()).toHaveLength(2);
    expect(said()[1]).toContain('(and 49 more like it not logged)');
    // an id of our form that the engine does not hold: an error, counted every time
    const lost = { ...foreign, clientOrderId: 'cw-999999' };
    for (let k = 0; k < 3; k++) venue.report(lost, { kind: 'cancelled' });
    expect(await errors()).toBe('3');
    expect(lines.filter((l) => l.includes('report for unknown order cw-999999'))).toHaveLength(1);
    expect(engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
  });

  it("counts each execution client's refused venue input at scrape, by what it grew since the last one", async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const refused = new Map<string, number>([['stream_shape', 2]]);
    (venue as unknown as { inputRejections: () => Iterable<readonly [string, number]> }).inputRejections = () => refused;
    const { engine, metrics } = setup({ venue });
    await engine.start();
    const line = async (reason: string) => (await metrics.registry.getSingleMetricAsString('cwts_execution_input_rejected_total')).match(new RegExp(`reason="${reason}"} (\\d+)`))?.[1];
    expect(await line('stream_shape')).toBe('2');
    refused.set('stream_shape', 5);
    refused.set('trade_stream', 1);
    expect(await line('stream_shape')).toBe('5');
    expect(await line('trade_stream')).toBe('1');
    expect(await line('stream_shape')).toBe('5'); // a scrape without growth adds nothing
  });

  it('refuses orders on a book that is not synced, and on a crossed book', async () => {
    const { venue, strategy, engine, signal } = setup();
    await engine.start();
    strategy.next.push(buy(1));
    signal();
    expect(strategy.results[0]).toMatchObject({ accepted: false, reason: 'BOOK_NOT_SYNCED' });
    venue.sink!.onMarketEvent(snapshot(5_000_200, 5_000_100));
    expect(engine.books.get('v', 'BTCUSDT')!.state).toBe('crossed');
    strategy.next.push(buy(1));
    signal();
    expect(strategy.results[1]).toMatchObject({ accepted: false, reason: 'BOOK_NOT_SYNCED' });
    expect(venue.submitted).toHaveLength(0);
  });

  it('an old delta is dropped; a sequence gap makes the book unusable until the next snapshot', async () => {
    const { venue, engine } = setup();
    await engine.start();
    venue.sink!.onMarketEvent(snapshot());
    const delta = (firstSeq: number, seq: number, price: number) => venue.sink!.onMarketEvent({ type: 'book_delta', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, firstSeq, seq, bids: [{ price, qty: 5 }], asks: [] });
    const rec = engine.books.get('v', 'BTCUSDT')!;
    delta(9, 9, 5_000_050);
    expect(rec.state).toBe('synced');
    expect(rec.book.bestBid()).toBe(5_000_000);
    delta(11, 11, 5_000_060);
    expect(rec.state).toBe('synced');
    expect(rec.book.bestBid()).toBe(5_000_060);
    delta(13, 14, 5_000_070);
    expect(rec.state).toBe('resyncing');
    expect(rec.reason).toMatch(/sequence_gap: expected 12, got 13..14/);
    expect(rec.book.bestBid()).toBe(5_000_060);
    venue.sink!.onMarketEvent({ ...snapshot(5_000_010, 5_000_090, 20), reason: 'resync' });
    expect(rec.state).toBe('synced');
    expect(rec.resyncs).toBe(1);
  });

  it('reports each book\'s last-update age at scrape time, from the engine clock', async () => {
    const clock = new ManualClock(1000);
    const venue = new ScriptedVenue('v', [BTC]);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
    await engine.start();
    // No update yet: no series (the state gauge says connecting), not an age counted from 1970.
    expect(await metrics.text()).not.toMatch(/cwts_feed_last_event_age_seconds\{/);
    venue.sink!.onMarketEvent(snapshot());
    clock.advance(2500);
    expect(await metrics.text()).toMatch(/cwts_feed_last_event_age_seconds\{exchange="v",symbol="BTCUSDT"\} 2\.5\n/);
    clock.advance(40_000);
    expect(await metrics.text()).toMatch(/cwts_feed_last_event_age_seconds\{exchange="v",symbol="BTCUSDT"\} 42\.5\n/);
  });

  it('max_position rejects an order that would exceed the limit and counts the reason', async () => {
    const { venue, strategy, engine, signal, metrics } = setup({ maxPosition: 1000 });
    await engine.start();
    venue.sink!.onMarketEvent(snapshot());
    strategy.next.push(buy(20)); // 0.02 BTC x 50001 = 1000.02 > 1000
    strategy.next.push(buy(19)); // 950.019 <= 1000
    signal();
    expect(strategy.results.map((r) => r.reason ?? 'ok')).toEqual(['RISK_MAX_POSITION', 'ok']);
    expect(await metrics.text()).toMatch(/cwts_risk_rejections_total\{reason="RISK_MAX_POSITION"\} 1/);
  });

  it('a venue without credentials runs market data only and refuses to trade with the reason', async () => {
    const md = new ScriptedVenue('v', [BTC]);
    const exec = new MarketDataOnlyExecution('v', 'no api_key/api_secret configured; market data only');
    const strategy = new QueueStrategy();
    const engine = new Engine({ clock: new ManualClock(), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), strategy, watchdog: false, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: md, execution: exec }] });
    await engine.start();
    md.sink!.onMarketEvent(snapshot());
    strategy.next.push(buy(1));
    engine.emit({ id: 's', detector: 't', kind: 'k', exchange: 'v', symbol: 'BTCUSDT', ts: 1, direction: 1, strength: 1, evidence: {} });
    expect(strategy.results[0]).toEqual({ accepted: false, reason: 'NO_CREDENTIALS', message: 'v: no api_key/api_secret configured; market data only' });
    expect(engine.books.get('v', 'BTCUSDT')!.state).toBe('synced');
  });

  it('stop cancels open orders, stops intake, flushes the journal; the journal rebuilds the orders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-engine-'));
    const journal = JournalStore.open(join(dir, 'j.db'), { fsync: 'always' });
    const { venue, strategy, engine, signal } = setup({ journal });
    await engine.start();
    venue.sink!.onMarketEvent(snapshot());
    strategy.next.push({ ...buy(5, 4_990_000), tif: 'GTC' });
    signal();
    const o = venue.submitted[0]!;
    venue.report(o, { kind: 'ack', leavesQty: 5 });
    await engine.stop('test');
    expect(venue.cancelled.map((c) => c.clientOrderId)).toEqual([o.clientOrderId]);
    expect(engine.orders.get(o.clientOrderId)!.status).toBe('cancelled');
    expect(venue.stopped.marketData).toBe(true);
    // Events after stop are ignored.
    venue.sink!.onMarketEvent({ type: 'trade', exchange: 'v', symbol: 'BTCUSDT', ts: 3, recvTs: 3, tradeId: 'x', price: 1, qty: 1, side: 'buy' } as TradeEvent);
    expect(engine.summary().events).toBe(1);
    const reopened = JournalStore.open(join(dir, 'j.db'));
    expect(reopened.database.prepare('SELECT kind FROM execution_reports ORDER BY seq').pluck().all()).toEqual(['ack', 'cancelled']);
    const again = setup();
    expect(restoreFromJournal(again.engine, reopened.load(), reopened.path, silentLogger())).toMatchObject({ orders: 1, openOrders: 0 });
    reopened.close();
    expect(again.engine.orders.get(o.clientOrderId)!.status).toBe('cancelled');
  });

  it('after a restart, orders the journal says are open but the venue does not know are closed before trading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-engine-'));
    const path = join(dir, 'j.db');
    const journal = JournalStore.open(path, { fsync: 'always' });
    const first = setup({ journal, onShutdown: 'keep' });
    await first.engine.start();
    first.venue.sink!.onMarketEvent(snapshot());
    first.strategy.next.push({ ...buy(5, 4_990_000), tif: 'GTC' }, { ...buy(6, 4_980_000), tif: 'GTC' });
    first.signal();
    for (const o of first.venue.submitted) first.venue.report(o, { kind: 'ack' });
    await first.engine.stop('crash-like stop keeping orders');
    expect(first.venue.cancelled).toHaveLength(0);

    const venue = new ScriptedVenue('v', [BTC]);
    venue.venueOpen = [first.venue.submitted[1]!];
    const store = JournalStore.open(path, { fsync: 'always' });
    const second = setup({ venue, journal: store });
    expect(restoreFromJournal(second.engine, store.load(), path, silentLogger())).toMatchObject({ orders: 2, openOrders: 2 });
    await second.engine.start();
    expect(second.engine.orders.get(first.venue.submitted[0]!.clientOrderId)!.status).toBe('cancelled');
    expect(second.engine.orders.get(first.venue.submitted[1]!.clientOrderId)!.status).toBe('open');
    expect(second.engine.reconciled).toBe(true);
    // New ids continue after the restored ones.
    second.venue.sink!.onMarketEvent(snapshot());
    second.strategy.next.push(buy(1));
    second.signal();
    expect(second.strategy.results[0]!.clientOrderId).toBe('cw-3');
    await second.engine.stop('test');
  });

  it('a throwing detector is counted and skipped, the engine keeps running', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const metrics = new MetricsRegistry({ processMetrics: false });
    const engine = new Engine({ clock: new ManualClock(), logger: silentLogger(), metrics, watchdog: false, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }], detectors: [{ name: 'bad', onMarketEvent() { throw new Error('boom'); } }] });
    await engine.start();
    venue.sink!.onMarketEvent(snapshot());
    venue.sink!.onMarketEvent(snapshot(5_000_001, 5_000_099, 11));
    expect(engine.summary().events).toBe(2);
    expect(await metrics.text()).toMatch(/cwts_errors_total\{component="detector:bad"\} 2/);
  });
});
