import { TRADES_BEFORE_JOURNAL_MS } from './reconcile.js';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../contracts/clock.js';
import type { ExecutionClient } from '../contracts/exchange.js';
import type { RiskConfig } from '../config/types.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport, Order, OrderIntent } from '../domain/orders.js';
import type { JournalContents } from '../journal/records.js';
import { JournalStore } from '../journal/store.js';
import { createLogger, silentLogger, type Logger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { Engine } from './engine.js';
import type { ClosedOrderRetention } from './order-manager.js';
import { PaperExecutionClient } from './paper-execution.js';
import { attachJournal, restoreFromJournal } from './rebuild.js';
import { engineHealth, engineStatus } from './status.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };
/** A pid above Linux's pid_max: the journal sees its lock as left by a dead process (a crash). */
const DEAD = { pid: 2 ** 22 + 777, host: hostname() };

function snapshot(bid: number, ask: number, seq: number): BookSnapshotEvent {
  return { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: bid, qty: 100_000 }], asks: [{ price: ask, qty: 100_000 }] };
}

function logCapture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l).msg as string);
      cb();
    },
  });
  return { logger: createLogger({ level: 'info', destination, pretty: false }), lines };
}

interface BootOptions {
  venue?: ScriptedVenue;
  execution?: (engine: () => Engine, clock: ManualClock) => ExecutionClient;
  crashy?: boolean;
  logger?: Logger;
  onMismatch?: 'adopt-venue' | 'halt';
  /** Sees the engine before start (to look at it while start awaits). */
  onEngine?: (e: Engine) => void;
  closedOrders?: ClosedOrderRetention;
}

/** One process lifetime: open the journal, restore, start, sync a book. */
async function boot(path: string, o: BootOptions = {}) {
  const venue = o.venue ?? new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const logger = o.logger ?? silentLogger();
  // A "crashy" process writes as a dead pid would, so the next boot in this test process takes its lock over.
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, ...(o.crashy ? { owner: DEAD } : {}) });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false });
  let engine!: Engine;
  const execution = o.execution ? o.execution(() => engine, clock) : venue;
  engine = new Engine({
    clock, logger, metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep', onReconcileMismatch: o.onMismatch, ...(o.closedOrders ? { closedOrders: o.closedOrders } : {}),
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution }],
  });
  attachJournal(engine, store, logger);
  o.onEngine?.(engine);
  await engine.start();
  let seq = 10;
  const book = (bid: number, ask: number) => {
    clock.advance(1000);
    venue.sink!.onMarketEvent(snapshot(bid, ask, seq++));
  };
  book(5_000_000, 5_000_100);
  const submit = (i: Partial<OrderIntent> & Pick<OrderIntent, 'side' | 'qty'>) =>
    engine.submit({ exchange: 'v', symbol: 'BTCUSDT', type: 'limit', price: i.side === 'buy' ? 5_000_100 : 5_000_000, tif: 'GTC', source: 'test', ...i });
  /** Submits and fills at the order's price; the venue remembers the fill (tradesSince). */
  const trade = (side: 'buy' | 'sell', qty: number, fee: bigint) => {
    const r = submit({ side, qty });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    const f: ExecutionReport = { kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side, lastPrice: o.price!, lastQty: qty, cumQty: qty, leavesQty: 0, feeAtoms: fee, liquidity: 'taker', tradeId: `T-${o.clientOrderId}`, ts: clock.now() };
    venue.trades.push(f);
    venue.onReport!(f);
  };
  /** kill -9: nothing more is written, queued records are lost, the lock stays behind. */
  const kill = () => store.close({ clean: false });
  return { venue, clock, metrics, risk, engine, store, book, submit, trade, kill };
}

function money(e: Engine) {
  const s = engineStatus(e) as { positions: unknown; pnl: { realized: string; fees: string } };
  return { positions: s.positions, realized: s.pnl.realized, fees: s.pnl.fees, cash: (e.risk!.status() as { cash: unknown }).cash };
}

async function scenario(path: string, end: 'sigterm' | 'kill') {
  const run = await boot(path, { crashy: end === 'kill' });
  run.trade('buy', 300, 1500n);
  run.book(5_010_000, 5_010_100);
  run.trade('sell', 100, 500n);
  run.store.flush();
  // The last trade is still in the queue when the kill comes: reconciliation must recover it.
  run.trade('buy', 50, 250n);
  const before = money(run.engine);
  if (end === 'sigterm') await run.engine.stop('SIGTERM');
  else run.kill();
  return { before, venue: run.venue };
}

describe('restart from the journal', () => {
  it('a fill the live engine booked is booked by the restore even when the replay has already forgotten its order', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const closedOrders = { minClosed: 0, closedMs: 60_000, maxClosed: 1000 };
    const run = await boot(path, { closedOrders });
    expect(run.submit({ side: 'buy', qty: 40 }).accepted).toBe(true);
    const x = run.venue.submitted.at(-1)!;
    const t0 = run.clock.now();
    const report = (kind: ExecutionReport['kind'], o: typeof x, ts: number, extra: Partial<ExecutionReport> = {}): ExecutionReport =>
      ({ kind, exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: o.side, lastPrice: 0, lastQty: 0, cumQty: 0, leavesQty: 0, feeAtoms: 0n, ts, ...extra });
    run.venue.onReport!(report('cancelled', x, t0));
    // The venue's clock runs an hour ahead of ours: by report times x has been closed an hour when
    // the next order closes, by the engine's clock not at all, so live x is still held.
    expect(run.submit({ side: 'buy', qty: 10 }).accepted).toBe(true);
    const y = run.venue.submitted.at(-1)!;
    run.venue.onReport!(report('fill', y, t0 + 3_600_000, { lastPrice: y.price!, lastQty: 10, cumQty: 10, feeAtoms: 5n, tradeId: 'T-y' }));
    // x's fill after its cancel ack: applied live.
    run.venue.onReport!(report('fill', x, t0 + 3_600_000, { lastPrice: x.price!, lastQty: 40, cumQty: 40, feeAtoms: 20n, tradeId: 'T-x' }));
    const live = money(run.engine);
    expect(live.positions).toMatchObject([{ qty: 50 }]);
    await run.engine.stop('SIGTERM');

    const again = await boot(path, { venue: run.venue, closedOrders });
    again.book(5_000_000, 5_000_100);
    // The replay forgot x before its fill (report times), and booked the fill all the same.
    expect(again.engine.orders.get(x.clientOrderId)).toBeUndefined();
    expect(money(again.engine)).toEqual(live);
    expect(again.engine.restoredFrom).toMatchObject({ fills: 2 });
    await again.engine.stop('test');
  });

  it('with a closed-order window of 2, a late duplicate fill is refused live, and the restore books every journaled fill once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const closedOrders = { minClosed: 0, closedMs: 3_600_000, maxClosed: 2 };
    const run = await boot(path, { closedOrders });
    for (let i = 0; i < 6; i++) run.trade(i % 2 === 0 ? 'buy' : 'sell', 10 * (i + 1), 10n);
    const first = run.venue.trades[0]!;
    expect(run.engine.orders.get(first.clientOrderId)).toBeUndefined();
    expect(run.engine.orders.closedCount).toBe(2);
    const live = money(run.engine);
    // The venue resends the first fill long after its order left memory: refused, counted, not booked.
    run.venue.onReport!({ ...first });
    expect(money(run.engine)).toEqual(live);
    expect(await run.metrics.text()).toMatch(/cwts_errors_total\{component="execution"\} 1/);
    // ...and resent while its order is held: refused by trade id.
    const last = run.venue.trades.at(-1)!;
    run.venue.onReport!({ ...last });
    expect(money(run.engine)).toEqual(live);
    await run.engine.stop('SIGTERM');

    // The replay holds two closed orders at a time too, yet books all six journaled fills once.
    const again = await boot(path, { venue: run.venue, closedOrders });
    again.book(5_000_000, 5_000_100);
    expect(money(again.engine)).toEqual(live);
    expect(again.engine.restoredFrom).toMatchObject({ fills: 6 });
    expect(again.engine.reconcileResult!.mismatches).toEqual([]);
    await again.engine.stop('test');
  });

  it('kill -9 and SIGTERM restore identical positions, PnL, fees and cash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-restart-'));
    const term = await scenario(join(dir, 'term.db'), 'sigterm');
    const killed = await scenario(join(dir, 'kill.db'), 'kill');
    expect(killed.before).toEqual(term.before);

    const a = await boot(join(dir, 'term.db'), { venue: term.venue });
    const b = await boot(join(dir, 'kill.db'), { venue: killed.venue });
    // Same book at restart, so unrealized PnL compares too.
    for (const r of [a, b]) r.book(5_010_000, 5_010_100);
    expect(money(a.engine)).toEqual(term.before);
    expect(money(b.engine)).toEqual(term.before);
    expect(money(a.engine).positions).toMatchObject([{ exchange: 'v', symbol: 'BTCUSDT', qty: 250, realizedPnl: '-0.1', fees: '0.0225' }]);
    // The kill lost the last order's records; the venue's trade brought the fill back, once.
    expect(b.engine.reconcileResult!.mismatches.map((m) => m.kind)).toEqual(['unknown_trade']);
    expect(await b.metrics.text()).toMatch(/cwts_reconcile_mismatches_total\{exchange="v",kind="unknown_trade"\} 1/);
    expect(a.engine.reconcileResult!.mismatches).toEqual([]);
    b.store.flush();
    expect(b.store.database.prepare('SELECT count(*) FROM fills').pluck().get()).toBe(3);
    expect(b.engine.restoredFrom).toMatchObject({ orders: 2, fills: 2, previousRun: { cleanExit: false } });
    expect(a.engine.restoredFrom).toMatchObject({ orders: 3, fills: 3, previousRun: { cleanExit: true } });
    await a.engine.stop('test');
    await b.engine.stop('test');
  });

  it('client ids continue above everything that may have reached a venue, even records lost in a crash', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const first = await boot(path, { crashy: true });
    expect(first.submit({ side: 'buy', qty: 1 }).clientOrderId).toBe('cw-1');
    first.kill();
    const second = await boot(path);
    expect(second.engine.orders.get('cw-1')).toBeUndefined(); // its record was never committed
    expect(second.submit({ side: 'buy', qty: 1 }).clientOrderId).toBe('cw-1001');
    await second.engine.stop('test');
  });

  it('the next block of client ids is reserved ahead by the writer thread: orders never wait for its fsync while it keeps up, and a crash resumes above it', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const first = await boot(path, { crashy: true });
    // The writer thread commits what it was handed (the first block, asked for at attach) before
    // each flush returns: as a writer keeping up with the orders would.
    first.store.flush();
    const full0 = first.store.writerStats.fullSyncCommits;
    const ids: string[] = [];
    for (let i = 0; i < 1600; i++) {
      first.clock.advance(2); // 500 orders a second: inside [risk] orders_per_second
      const r = first.submit({ side: 'buy', qty: 1, tif: 'IOC' });
      expect(r.accepted, r.message).toBe(true);
      ids.push(r.clientOrderId!);
      first.venue.report(first.venue.submitted.at(-1)!, { kind: 'expired', leavesQty: 0, cumQty: 0 });
      if (i % 100 === 99) first.store.flush();
    }
    expect(ids.at(-1)).toBe('cw-1600');
    // No order waited for a reservation: the blocks up to 1000, 2000 and 3000 were each asked for
    // ahead (at attach, at cw-501 and at cw-1501, half a block before the last one asked for runs
    // out) and fsynced by the writer.
    expect(first.store.reservationStats).toMatchObject({ waits: 0, blocking: 0, ahead: 3 });
    expect(first.store.writerStats.fullSyncCommits - full0).toBe(2);
    expect(first.store.durableClientIds).toBe(3000);
    first.kill();
    const second = await boot(path);
    // Ids up to the durable reservation may have reached a venue: none is issued again.
    expect(second.submit({ side: 'buy', qty: 1 }).clientOrderId).toBe('cw-3001');
    await second.engine.stop('test');
  });

  it('a drawdown HALT survives a restart with its reason; only a resume clears it', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const first = await boot(path);
    first.trade('buy', 100, 0n); // 0.1 BTC at 50001
    first.book(4_800_000, 4_800_100); // -200 USDT on 1000: 20% drawdown
    expect(first.engine.riskState.state).toBe('HALTED');
    const reason = first.engine.riskState.reason;
    expect(reason).toMatch(/drawdown/);
    await first.engine.stop('SIGTERM');

    const second = await boot(path);
    expect(second.engine.riskState.state).toBe('HALTED');
    expect(second.engine.riskState.reason).toBe(reason);
    expect(second.engine.restoredFrom!.riskState).toEqual({ state: 'HALTED', reason });
    expect(second.engine.restoredFrom!.peakEquity).toBe('1000');
    second.book(4_900_000, 4_900_100);
    expect(second.submit({ side: 'sell', qty: 10 })).toMatchObject({ accepted: false, reason: 'KILL_SWITCH' });
    second.risk.evaluate();
    expect(second.engine.riskState.state).toBe('HALTED');
    expect(second.risk.resume('checked')).toBe('ACTIVE');
    expect(second.submit({ side: 'sell', qty: 10 }).accepted).toBe(true);
    await second.engine.stop('SIGTERM');
    // The resume is journaled with who did it, and the next start is ACTIVE.
    const third = await boot(path);
    expect(third.engine.riskState.state).toBe('ACTIVE');
    const transitions = third.store.database.prepare('SELECT to_state, who FROM risk_transitions ORDER BY seq').all();
    expect(transitions).toEqual([{ to_state: 'HALTED', who: 'risk' }, { to_state: 'HALTED', who: 'journal' }, { to_state: 'ACTIVE', who: 'operator' }]);
    await third.engine.stop('test');
  });

  it('a damaged journal row is left out and counted, and the restart starts HALTED until a resume', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const first = await boot(path);
    first.trade('buy', 100, 500n);
    first.trade('buy', 50, 250n);
    await first.engine.stop('SIGTERM');
    // One fill's report body damaged on disk (a bad sector, a hand edit): flip a byte in it.
    const db = new Database(path);
    const seq = db.prepare("SELECT seq FROM execution_reports WHERE kind = 'fill' ORDER BY seq LIMIT 1").pluck().get() as number;
    const body = Buffer.from(db.prepare('SELECT body FROM execution_reports WHERE seq = ?').pluck().get(seq) as Buffer);
    body[10] = body[10]! ^ 0xff;
    db.prepare('UPDATE execution_reports SET body = ? WHERE seq = ?').run(body, seq);
    db.close();

    const { logger, lines } = logCapture();
    const second = await boot(path, { venue: first.venue, logger });
    expect(second.engine.restoredFrom!.unreadableRecords).toBe(1);
    expect(second.engine.riskState.state).toBe('HALTED');
    expect(second.engine.riskState.reason).toMatch(/0 order and 1 report row\(s\) unreadable/);
    expect(lines.some((l) => /unreadable execution_reports row seq \d+ \(cw-1\): body checksum does not match/.test(l))).toBe(true);
    expect(second.submit({ side: 'sell', qty: 10 })).toMatchObject({ accepted: false, reason: 'KILL_SWITCH' });
    expect(second.risk.resume('compared with the venue')).toBe('ACTIVE');
    expect(second.submit({ side: 'sell', qty: 10 }).accepted).toBe(true);
    await second.engine.stop('test');
  });

  it('a journaled report the engine cannot book (an edited import: a fill of -5 lots, one at price 0) is left out, and the restart starts HALTED', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const first = await boot(path);
    first.trade('buy', 100, 500n);
    const o = first.venue.submitted.at(-1)!;
    const live = money(first.engine);
    await first.engine.stop('SIGTERM');
    // What a journal import wrote before it checked lines: records no engine would append.
    const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
    const fill = (clientOrderId: string, lastPrice: number, lastQty: number): ExecutionReport => ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId, side: 'buy', lastPrice, lastQty, cumQty: lastQty, leavesQty: 0, feeAtoms: 0n, tradeId: `bad-${clientOrderId}`, ts: 2_000_000 });
    store.append({ t: 'report', report: fill(o.clientOrderId, o.price!, -5), order: { status: 'filled', filledQty: 95, feeAtoms: 500n, symbol: 'BTCUSDT' }, feeAsset: '', ts: 2_000_000 });
    store.append({ t: 'report', report: fill('cw-elsewhere', 0, 7), order: { status: 'open', filledQty: 7, feeAtoms: 0n, symbol: 'BTCUSDT' }, feeAsset: '', ts: 2_000_001 });
    store.close();

    const { logger, lines } = logCapture();
    const second = await boot(path, { venue: first.venue, logger });
    expect(second.engine.restoredFrom!.unbookableReports).toBe(2);
    expect(money(second.engine)).toEqual(live);
    expect(second.engine.riskState.state).toBe('HALTED');
    expect(second.engine.riskState.reason).toMatch(/2 report\(s\) the engine cannot book/);
    expect(lines.some((l) => new RegExp(`report seq \\d+ of ${o.clientOrderId}: fill quantity -5 lots`).test(l))).toBe(true);
    expect(lines.some((l) => /of cw-elsewhere: fill price 0 ticks/.test(l))).toBe(true);
    expect(second.submit({ side: 'sell', qty: 10 })).toMatchObject({ accepted: false, reason: 'KILL_SWITCH' });
    await second.engine.stop('test');
  });

  it('a manual REDUCING persists across a restart too', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const first = await boot(path);
    first.risk.reduce('desk');
    await first.engine.stop('SIGTERM');
    const second = await boot(path);
    second.risk.evaluate();
    expect(second.engine.riskState.state).toBe('REDUCING');
    expect(second.engine.riskState.reason).toBe('manual: desk');
    await second.engine.stop('test');
  });

  it('an order filled while the process was down is applied as filled with its fee, exactly once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const first = await boot(path);
    expect(first.submit({ side: 'buy', qty: 40, price: 4_990_000 }).accepted).toBe(true);
    const o = first.venue.submitted[0]!;
    first.venue.onReport!({ kind: 'ack', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 40, cumQty: 0, feeAtoms: 0n, ts: 1 });
    await first.engine.stop('SIGTERM'); // on_shutdown = keep: the order stays at the venue

    // While down, the venue filled it in two trades, charging fees.
    const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const f = (n: number, qty: number, fee: bigint): ExecutionReport => ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: 'buy', lastPrice: 4_990_000, lastQty: qty, cumQty: 15 * n, leavesQty: 40 - 15 * n, feeAtoms: fee, liquidity: 'maker', feeAsset: 'BNB', tradeId: `D${n}`, ts: 5000 + n });
    const fills = [f(1, 15, 111n), f(2, 25, 222n)];
    venue.orderStatus.set(o.clientOrderId, { clientOrderId: o.clientOrderId, status: 'filled', filledQty: 40, fills });
    venue.trades = [...fills];
    const { logger, lines } = logCapture();
    const second = await boot(path, { venue, logger });
    expect(second.engine.orders.get(o.clientOrderId)).toMatchObject({ status: 'filled', filledQty: 40, feeAtoms: 333n });
    expect(second.engine.portfolio.qty('v', 'BTCUSDT')).toBe(40);
    // Expected for an order kept at the venue: recovered, not a mismatch (on_mismatch does not fire).
    expect(second.engine.reconcileResult!.recovered.map((m) => m.kind)).toEqual(['fill_while_down']);
    expect(second.engine.reconcileResult!.mismatches).toEqual([]);
    // every venue and kind has its series, at 0 (created before reconciling: see monitoring/alerts.yml)
    const mismatchSeries = (await second.metrics.text()).split('\n').filter((l) => l.startsWith('cwts_reconcile_mismatches_total{'));
    expect(mismatchSeries.length).toBeGreaterThan(0);
    expect(mismatchSeries.filter((l) => !l.endsWith(' 0'))).toEqual([]);
    second.store.flush();
    expect(second.store.database.prepare('SELECT trade_id, fee_atoms, fee_asset, liquidity FROM fills ORDER BY seq').all()).toEqual([
      { trade_id: 'D1', fee_atoms: '111', fee_asset: 'BNB', liquidity: 'maker' },
      { trade_id: 'D2', fee_atoms: '222', fee_asset: 'BNB', liquidity: 'maker' },
    ]);
    expect(lines.some((l) => /reconciled v: 1 order\(s\) checked, 2 fill\(s\) applied/.test(l))).toBe(true);
    await second.engine.stop('SIGTERM');

    // Asked again on the next start (same trades since the last fill): nothing is booked twice.
    const third = await boot(path, { venue });
    expect(third.engine.portfolio.qty('v', 'BTCUSDT')).toBe(40);
    expect(money(third.engine).fees).toBe(money(second.engine).fees);
    expect(third.engine.reconcileResult!.mismatches).toEqual([]);
    expect(third.store.database.prepare('SELECT count(*) FROM fills').pluck().get()).toBe(2);
    await third.engine.stop('test');
  });

  it('fills made while down are booked in the venue\'s order (time, then numeric trade id), whatever order they are read in: realized PnL is the venue\'s', async () => {
    // Three orders the journal holds open; the venue filled them while we were down as buy A
    // 10 @ 50000.00, sell B 10 @ 50100.00, buy C 10 @ 49900.00. FIFO: B closes A's lots
    // (+1.00 USDT) and C stays open. Read per order (C is asked about first) they were booked C,
    // A, B: B closed C's cheaper lots (+2.00 USDT) with the same position.
    const cases: [string, (n: number) => Pick<ExecutionReport, 'ts' | 'tradeId'>][] = [
      ['by venue time', (n) => ({ ts: 5000 + n, tradeId: `T${3 - n}` })],
      // the same millisecond: the venue's trade ids are its order, as numbers (as strings, 100 < 98)
      ['same millisecond, by trade id', (n) => ({ ts: 5000, tradeId: String(98 + n) })],
    ];
    for (const [name, at] of cases) {
      const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
      const first = await boot(path);
      const orders = (['C', 'A', 'B'] as const).map((k) => {
        const side = k === 'B' ? 'sell' : 'buy';
        const price = { A: 5_000_000, B: 5_010_000, C: 4_990_000 }[k];
        expect(first.submit({ side, qty: 10, price }).accepted).toBe(true);
        const o = first.venue.submitted.at(-1)!;
        first.venue.onReport!({ kind: 'ack', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side, lastPrice: 0, lastQty: 0, leavesQty: 10, cumQty: 0, feeAtoms: 0n, ts: 1 });
        return { k, o };
      });
      await first.engine.stop('SIGTERM');

      const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
      const seq = { A: 0, B: 1, C: 2 };
      const fills = orders.map(({ k, o }): ExecutionReport => ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: o.side, lastPrice: o.price!, lastQty: 10, cumQty: 10, leavesQty: 0, feeAtoms: 0n, liquidity: 'maker', ...at(seq[k]) }));
      for (const f of fills) venue.orderStatus.set(f.clientOrderId, { clientOrderId: f.clientOrderId, status: 'filled', filledQty: 10, fills: [f] });
      venue.trades = [...fills].reverse();
      const second = await boot(path, { venue });
      expect(second.engine.portfolio.qty('v', 'BTCUSDT'), name).toBe(10);
      expect(money(second.engine).realized, name).toBe('1');
      expect(second.engine.reconcileResult!.mismatches, name).toEqual([]);
      expect(second.engine.reconcileResult!.recovered.map((m) => [m.clientOrderId, m.detail]), name).toEqual(orders.map(({ o }) => [o.clientOrderId, 'filled 10 lot(s) while down: applied with their fees']));
      expect(orders.map(({ o }) => second.engine.orders.get(o.clientOrderId)?.status), name).toEqual(['filled', 'filled', 'filled']);
      second.store.flush();
      expect(second.store.database.prepare('SELECT trade_id FROM fills ORDER BY seq').pluck().all(), name).toEqual([0, 1, 2].map((n) => at(n).tradeId));
      await second.engine.stop('SIGTERM');
    }
  });

  it('readiness waits for reconciliation; /status shows restoredFrom and the mismatches', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const first = await boot(path);
    first.trade('buy', 10, 5n);
    await first.engine.stop('SIGTERM');
    const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    venue.venuePositions = { BTCUSDT: 12 };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const positions = venue.positions;
    venue.positions = async (s) => {
      await gate;
      return positions(s);
    };
    let early!: Engine;
    const booting = boot(path, { venue, onMismatch: 'halt', onEngine: (e) => (early = e) });
    await new Promise((r) => setTimeout(r, 20));
    // The engine awaits the venue inside reconciliation: not ready, no market data yet.
    expect(engineHealth(early, () => []).find((h) => h.name === 'reconciliation')).toMatchObject({ ready: false, detail: 'pending' });
    expect(early.started).toBe(false);
    release();
    const second = await booting;
    const health = engineHealth(second.engine, () => []);
    expect(health.find((h) => h.name === 'reconciliation')).toMatchObject({ ready: true, detail: 'done, 1 mismatch(es) (see /status)' });
    const st = engineStatus(second.engine) as { restoredFrom: { fills: number; at: string }; reconcile: { mismatches: { kind: string; detail: string }[] } };
    expect(st.restoredFrom.fills).toBe(1);
    expect(st.restoredFrom.at).toMatch(/^\d{4}-/);
    expect(st.reconcile.mismatches).toEqual([expect.objectContaining({ kind: 'position', detail: 'journal position 0.01, venue position 0.012' })]);
    // on_mismatch = "halt": trading does not start until an operator looked.
    expect(second.engine.riskState.state).toBe('HALTED');
    await second.engine.stop('test');
  });

  it('orders working at the venue that the journal never saw: ours are adopted and followed, others are reported and left alone', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    await (await boot(path)).engine.stop('SIGTERM');
    const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const working = (id: string) => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, price: 4_990_000, qty: 7, tif: 'GTC' as const, source: '', clientOrderId: id, status: 'open' as const, filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1 });
    venue.venueOpen = [working('cw-5000'), working('manual-1')];
    const second = await boot(path, { venue });
    expect(second.engine.reconcileResult!.mismatches.map((m) => [m.kind, m.clientOrderId, m.detail.split(': ').pop()])).toEqual([
      ['unknown_order', 'cw-5000', 'adopted'],
      ['unknown_order', 'manual-1', 'left alone'],
    ]);
    expect(second.engine.orders.get('cw-5000')).toMatchObject({ status: 'open', source: 'reconcile:adopted' });
    expect(second.engine.orders.get('manual-1')).toBeUndefined();
    // Ours is journaled and comes back after the next restart; new ids continue above it.
    await second.engine.stop('SIGTERM');
    const third = await boot(path, { venue: new ScriptedVenue('v', [BTC], { canTrade: true }, false) });
    expect(third.engine.orders.get('cw-5000')?.clientOrderId).toBe('cw-5000');
    expect(third.engine.orders.nextIdNumber).toBeGreaterThan(5000);
    await third.engine.stop('test');
  });

  it('a working order of our id form whose number is far above our sequence (past 2^53) is reported and left alone; later orders keep distinct ids', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    await (await boot(path)).engine.stop('SIGTERM');
    const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const working = (id: string) => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, price: 4_990_000, qty: 7, tif: 'GTC' as const, source: '', clientOrderId: id, status: 'open' as const, filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1 });
    venue.venueOpen = [working('cw-99999999999999999999'), working('cw-5000000000')];
    const second = await boot(path, { venue });
    expect(second.engine.reconcileResult!.mismatches.map((m) => [m.kind, m.clientOrderId, m.detail.split(': ').pop()])).toEqual([
      ['unknown_order', 'cw-99999999999999999999', 'left alone'],
      ['unknown_order', 'cw-5000000000', 'left alone'],
    ]);
    expect(second.engine.orders.get('cw-99999999999999999999')).toBeUndefined();
    const a = second.submit({ side: 'buy', qty: 1 });
    const b = second.submit({ side: 'buy', qty: 2 });
    expect([a.accepted, b.accepted]).toEqual([true, true]);
    const ids = venue.submitted.map((o) => o.clientOrderId);
    expect(new Set(ids).size, ids.join(', ')).toBe(2);
    expect(second.engine.orders.nextIdNumber).toBeLessThan(1_000_000);
    second.store.flush();
    expect(second.store.database.prepare("SELECT count(*) FROM orders WHERE source = 'test'").pluck().get()).toBe(2);
    await second.engine.stop('SIGTERM');
  });

  it('a venue listing that is not an order, or a trade that is not a fill, is reported and never adopted or booked', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    await (await boot(path)).engine.stop('SIGTERM');
    const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const working = (id: string, over: Partial<Order>): Order => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 4_990_000, qty: 7, tif: 'GTC', source: '', clientOrderId: id, status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1, ...over });
    venue.venueOpen = [
      working('cw-6001', { qty: 0 }),
      working('cw-6002', { qty: -7 }),
      working('cw-6003', { price: 0 }),
      working('cw-6004', { side: 'hold' as 'buy' }),
      working('cw-6005', { symbol: 'ETHUSDT' }),
      working('cw-6006', { qty: 2.5 }),
    ];
    // made while the journal existed (its first run started at the host's time): pulled by reconciliation
    const trade = (id: string, over: Partial<ExecutionReport>): ExecutionReport => ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: id, side: 'buy', lastPrice: 5_000_000, lastQty: 3, leavesQty: 0, cumQty: 3, feeAtoms: 10n, tradeId: `t-${id}`, ts: Date.now(), ...over });
    venue.trades = [trade('manual-9', { lastQty: 0 }), trade('manual-10', { lastPrice: -1 }), trade('manual-11', { feeAtoms: 10 as unknown as bigint }), trade('manual-12', { side: 'hold' as 'buy' })];
    const second = await boot(path, { venue });
    const m = second.engine.reconcileResult!.mismatches;
    expect(m.map((x) => [x.kind, x.clientOrderId, / (left alone|not booked)$/.exec(x.detail)?.[1]])).toEqual([
      ...['cw-6001', 'cw-6002', 'cw-6003', 'cw-6004', 'cw-6005', 'cw-6006'].map((id) => ['unknown_order', id, 'left alone']),
      ...['manual-9', 'manual-10', 'manual-11', 'manual-12'].map((id) => ['unknown_trade', id, 'not booked']),
    ]);
    for (const id of ['cw-6001', 'cw-6002', 'cw-6003', 'cw-6004', 'cw-6005', 'cw-6006', 'manual-9', 'manual-10', 'manual-11', 'manual-12']) expect(second.engine.orders.get(id)).toBeUndefined();
    expect(second.engine.portfolio.qty('v', 'BTCUSDT')).toBe(0);
    await second.engine.stop('test');
  });

  it("a venue without a journaled fill: trades are pulled from the journal's start (less a margin for clocks), never the account's whole history", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const began = Date.now();
    await (await boot(path)).engine.stop('SIGTERM');
    const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    const trade = (id: string, ts: number): ExecutionReport => ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: id, side: 'buy', lastPrice: 5_000_000, lastQty: 3, leavesQty: 0, cumQty: 3, feeAtoms: 10n, tradeId: `t-${id}`, ts });
    const asked: number[] = [];
    const tradesSince = venue.tradesSince.bind(venue);
    venue.tradesSince = async (symbols, since) => {
      asked.push(since);
      return tradesSince(symbols, since);
    };
    // a year of the account's history before this deployment, and one trade made while it ran
    venue.trades = [trade('manual-last-year', began - 365 * 86_400_000), trade('manual-yesterday', began - 86_400_000), trade('manual-now', began + 1)];
    const second = await boot(path, { venue });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toBeGreaterThanOrEqual(began - TRADES_BEFORE_JOURNAL_MS - 5_000);
    expect(asked[0]).toBeLessThanOrEqual(began);
    expect(second.engine.reconcileResult!.mismatches.map((x) => [x.kind, x.clientOrderId])).toEqual([['unknown_trade', 'manual-now']]);
    expect(second.engine.portfolio.qty('v', 'BTCUSDT')).toBe(3);
    await second.engine.stop('test');
  });

  it('balances: the venue change since the last reconciliation must equal what journaled fills moved; a deposit is a counted mismatch', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const first = await boot(path, { venue: new ScriptedVenue('v', [BTC]).setBalances({ BTC: '0.00000000', USDT: '1000.00000000', BNB: '3' }) });
    expect(first.engine.reconcileResult!.venues[0]!.balances).toEqual({ skipped: 'baseline recorded' });
    // 0.01 BTC at 50001.00 = 500.01 USDT, fee 5 atoms at 1e-5 = 0.00005 USDT.
    first.trade('buy', 10, 5n);
    await first.engine.stop('SIGTERM');

    // The venue moved what the fill says, give or take its fee rounding (under one quote atom,
    // 0.00001 USDT, per fill); BNB, not traded here, is not compared.
    const venue = () => new ScriptedVenue('v', [BTC]);
    const second = await boot(path, { venue: venue().setBalances({ BTC: '0.01000000', USDT: '499.98995900', BNB: '2' }) });
    expect(second.engine.reconcileResult!.venues[0]!.balances).toEqual({ compared: ['BTC', 'USDT'] });
    expect(second.engine.reconcileResult!.mismatches).toEqual([]);
    await second.engine.stop('SIGTERM');

    // 100 USDT appeared that no journaled fill explains: counted, listed in /status, and halts under "halt".
    const third = await boot(path, { venue: venue().setBalances({ BTC: '0.01000000', USDT: '599.98995000' }), onMismatch: 'halt' });
    const st = engineStatus(third.engine) as { reconcile: { mismatches: { kind: string; detail: string }[] } };
    expect(st.reconcile.mismatches).toEqual([
      { exchange: 'v', kind: 'balance', detail: expect.stringMatching(/^USDT: venue balance 599\.98995000, journal expects 499\.989959 \(venue 499\.98995900 at .*, \+0 from journaled fills since\): \+99\.999991 unexplained$/) },
    ]);
    expect(await third.metrics.text()).toMatch(/cwts_reconcile_mismatches_total\{exchange="v",kind="balance"\} 1/);
    expect(third.engine.riskState.state).toBe('HALTED');
    await third.engine.stop('SIGTERM');

    // The venue's view became the baseline: the same balances are no mismatch at the next start.
    const fourth = await boot(path, { venue: venue().setBalances({ BTC: '0.01000000', USDT: '599.98995000' }) });
    expect(fourth.engine.reconcileResult!.mismatches).toEqual([]);
    await fourth.engine.stop('test');
  });

  it('paper mode: positions restore; open paper orders on the in-process venue are cancelled at start with a log line', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const paper = (engine: () => Engine, clock: ManualClock) =>
      new PaperExecutionClient('v', (s) => engine().book('v', s), (s) => engine().instrument('v', s), clock, { latencyMs: 0, makerFeeBps: '2', takerFeeBps: '10' });
    const first = await boot(path, { execution: paper });
    expect(first.submit({ side: 'buy', qty: 20 }).accepted).toBe(true); // crosses: fills as taker
    expect(first.submit({ side: 'buy', qty: 30, price: 4_900_000 }).accepted).toBe(true); // rests
    await new Promise((r) => setTimeout(r, 20));
    expect(first.engine.portfolio.qty('v', 'BTCUSDT')).toBe(20);
    expect(first.engine.orders.openCount()).toBe(1);
    const before = money(first.engine);
    await first.engine.stop('SIGTERM');

    const { logger, lines } = logCapture();
    const second = await boot(path, { execution: paper, logger });
    expect(money(second.engine)).toEqual(before);
    expect(second.engine.orders.openCount()).toBe(0);
    expect(second.engine.orders.get('cw-2')).toMatchObject({ status: 'cancelled' });
    expect(lines).toContain('order cw-2 (buy BTCUSDT) from the journal: paper order on the in-process venue, which did not survive the restart: cancelled');
    expect(lines.some((l) => l.startsWith(`journal ${path}: restored 2 orders (1 open, to reconcile), 1 fills, 1 position(s)`))).toBe(true);
    expect(lines).toContain('restored position v:BTCUSDT 0.02 (realized 0, fees 1.00002)');
    expect(second.engine.reconcileResult!.mismatches).toEqual([]);
    await second.engine.stop('test');
  });

  it('component state (cooldowns) persists across restarts', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const first = await boot(path);
    first.engine.persisted.set('strategy:momo', 'cooldownUntil:BTCUSDT', 1_234_567);
    await first.engine.stop('SIGTERM');
    const second = await boot(path);
    expect(second.engine.persisted.get('strategy:momo', 'cooldownUntil:BTCUSDT')).toBe(1_234_567);
    await second.engine.stop('test');
  });

  it('a fill whose trade id is not a well-formed string (a lone surrogate, which the journal would store as U+FFFD) is refused live, so a restart restores the same position', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-restart-')), 'j.db');
    const run = await boot(path);
    const r = run.submit({ side: 'buy', qty: 10 });
    expect(r.accepted, r.message).toBe(true);
    const o = run.venue.submitted.at(-1)!;
    const fill = (tradeId: string, qty: number, cum: number): ExecutionReport => ({ kind: 'fill', exchange: 'v', symbol: 'BTCUSDT', clientOrderId: o.clientOrderId, side: 'buy', lastPrice: 5_000_100, lastQty: qty, cumQty: cum, leavesQty: 10 - cum, feeAtoms: 1n, liquidity: 'taker', tradeId, ts: run.clock.now() });
    // two distinct ids as JSON can carry them ("\ud800", "\udc00"); stored, both would read back as "\ufffd"
    run.venue.onReport!(fill('\ud800', 3, 3));
    run.venue.onReport!(fill('\udc00', 4, 7));
    run.venue.onReport!(fill('t-ok', 2, 2));
    const live = run.engine.portfolio.qty('v', 'BTCUSDT');
    expect(live).toBe(2);
    expect(await run.metrics.text()).toMatch(/cwts_execution_reports_invalid_total\{exchange="v",reason="id"\} 2/);
    await run.engine.stop('SIGTERM');
    const again = await boot(path);
    expect(again.engine.portfolio.qty('v', 'BTCUSDT')).toBe(live);
    await again.engine.stop('test');
  });

  it('an instrument whose tick x lot is finer than 1e-18 quote units (tick 1e-12, lot 1e-8) restores its position and rounds its fees instead of stopping the restart', () => {
    const PEPE = defineInstrument({ exchange: 'v', symbol: 'PEPEUSDT', base: 'PEPE', quote: 'USDT', tickSize: '0.000000000001', lotSize: '0.00000001' });
    const venue = new ScriptedVenue('v', [PEPE]);
    const engine = new Engine({
      clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false,
      venues: [{ name: 'v', symbols: ['PEPEUSDT'], marketData: venue, execution: venue }],
    });
    const order: Order = {
      exchange: 'v', symbol: 'PEPEUSDT', side: 'buy', type: 'limit', price: 10_000_000, qty: 100_000_000, tif: 'GTC', reduceOnly: undefined, source: 't', reason: undefined,
      clientOrderId: 'cw-1', venueOrderId: undefined, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1, rejectReason: undefined, text: undefined,
    };
    // 1000 atoms of 1e-20 USDT: 1e-17, exactly 10 common units of 1e-18
    const fill: ExecutionReport = {
      kind: 'fill', exchange: 'v', symbol: 'PEPEUSDT', clientOrderId: 'cw-1', side: 'buy', lastPrice: 10_000_000, lastQty: 100_000_000, leavesQty: 0, cumQty: 100_000_000, feeAtoms: 1000n, tradeId: 't1', ts: 5,
    };
    const contents: JournalContents = {
      events: [{ seq: 1, t: 'order', order } as never, { seq: 2, t: 'report', report: fill, feeAsset: 'USDT' } as never],
      instruments: [PEPE], lastRisk: undefined, lastPeak: undefined, state: [], lastFillTs: { v: 5 }, reservedClientIds: 0, previousRun: undefined,
      counts: { orders: 1, fills: 1, reports: 1, signals: 0, snapshots: 0 }, unreadable: { orders: 0, reports: 0, first: [] },
    };
    const summary = restoreFromJournal(engine, contents, '/tmp/j.db', silentLogger());
    expect(summary.positions).toEqual([{ exchange: 'v', symbol: 'PEPEUSDT', qty: '1', realizedPnl: '0', fees: '0.00000000000000001' }]);
  });
});
