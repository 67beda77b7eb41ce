export type { RestoreSummary } from './restart-report.js';
import { instrumentKey, lotsToQty, type Instrument } from '../domain/instrument.js';
import type { JournalContents } from '../journal/records.js';
import type { JournalStore } from '../journal/store.js';
import type { Logger } from '../observability/logger.js';
import type { Engine } from './engine.js';
import type { RestoreSummary } from './restart-report.js';
import { commonToDecimal, toCommon } from '../risk/portfolio.js';
import { fillProblem } from './order-manager.js';
import { unidentifiedFillKey } from './reconcile.js';


/**
 * Rebuilds everything money-related from the journal of earlier runs, by replaying its orders,
 * execution reports and reconciliation closes through the same order state machine and
 * portfolio as live trading (so a restart cannot book a fill differently from the run that
 * received it): positions with their FIFO lots, realized PnL, fees, cash; then the equity peak,
 * a latched HALTED/REDUCING state, the client id sequence and component state. Runs before
 * `engine.start()`; reconciliation with the venues follows in start().
 */
export function restoreFromJournal(engine: Engine, contents: JournalContents, journalPath: string, logger: Logger, now = Date.now()): RestoreSummary {
  const instruments = new Map<string, Instrument>();
  for (const i of contents.instruments) instruments.set(instrumentKey(i.exchange, i.symbol), i);
  // A journal imported from JSON lines has no definitions: the venues' current ones stand in.
  for (const i of engine.allInstruments()) if (!instruments.has(instrumentKey(i.exchange, i.symbol))) instruments.set(instrumentKey(i.exchange, i.symbol), i);
  let fills = 0;
  let missingInstrument = 0;
  const unbookable: string[] = [];
  // Reconciliation asks each venue for its trades from the last journaled fill's time on
  // (inclusive); those already journaled are recognised by trade id (their orders may be gone).
  const journaledAtLast: Record<string, Set<string>> = {};
  const unidentifiedAtLast: Record<string, Map<string, number>> = {};
  for (const ev of contents.events) {
    if (ev.t === 'order') engine.orders.restore({ ...ev.order });
    else if (ev.t === 'report') {
      const out = engine.orders.apply(ev.report, ev.report.ts);
      // The journal holds only reports the live engine applied, so one it cannot book now (a fill
      // of -5 lots, on the other side) came from somewhere else: a hand-edited import, damage
      // that still decodes. Left out like an unreadable row, and trading halts on it below.
      const problem = out.kind === 'invalid' ? out.detail : out.kind === 'unknown' && ev.report.kind === 'fill' ? fillProblem(ev.report)?.detail : undefined;
      if (problem !== undefined) {
        unbookable.push(`report seq ${ev.seq} of ${ev.report.clientOrderId}: ${problem}`);
        continue;
      }
      // A fill whose order the replay has already forgotten (closed-order retention counts and
      // ages differently here than live) was booked live, so it is booked here too; a duplicate
      // never reached the journal.
      const booked = out.kind === 'applied' ? out.fill : out.kind === 'unknown' && ev.report.kind === 'fill';
      if (!booked) continue;
      const since = contents.lastFillTs[ev.report.exchange];
      if (since !== undefined && ev.report.ts >= since) {
        if (ev.report.tradeId !== undefined) (journaledAtLast[ev.report.exchange] ??= new Set()).add(ev.report.tradeId);
        else {
          const m = (unidentifiedAtLast[ev.report.exchange] ??= new Map());
          const key = unidentifiedFillKey(ev.report);
          m.set(key, (m.get(key) ?? 0) + 1);
        }
      }
      const instrument = instruments.get(instrumentKey(ev.report.exchange, ev.report.symbol));
      if (!instrument) {
        missingInstrument++;
        continue;
      }
      engine.portfolio.applyFill(instrument, ev.report);
      engine.risk?.replayFill?.(instrument, ev.report);
      engine.fillsBooked.set(ev.report.exchange, (engine.fillsBooked.get(ev.report.exchange) ?? 0) + 1);
      fills++;
    } else if (ev.t === 'reconcile' && ev.kind === 'closed' && ev.clientOrderId) {
      engine.orders.forceClose(ev.clientOrderId, ev.detail);
    }
  }
  engine.journaledTradeIdsByVenue = journaledAtLast;
  engine.journaledUnidentifiedFillsByVenue = unidentifiedAtLast;
  // An order restored on an instrument the config no longer names is still booked when it fills
  // (its definition from the journal, never traded: it has no book); a fill of it once threw.
  for (const i of contents.instruments) if (engine.venue(i.exchange) !== undefined && engine.instrument(i.exchange, i.symbol) === undefined) engine.bookOnlyInstrument(i);
  if (missingInstrument > 0) logger.error({ missingInstrument }, `journal: ${missingInstrument} fill(s) name an instrument the journal has no definition of; positions for them are NOT restored`);

  let latched = contents.lastRisk && contents.lastRisk.to !== 'ACTIVE' ? { state: contents.lastRisk.to, reason: contents.lastRisk.reason } : undefined;
  if (unbookable.length > 0) {
    const reason = `journal: ${unbookable.length} report(s) the engine cannot book (${unbookable[0]}) left out of the restore; positions may be wrong: compare /status with the venue, then \`cwts-ultra risk resume\``;
    logger.error({ unbookable: unbookable.length }, reason);
    for (const u of unbookable.slice(0, 10)) logger.error({}, `journal ${journalPath}: ${u}`);
    latched = { state: 'HALTED', reason: latched ? `${reason}; before: ${latched.state} (${latched.reason})` : reason };
  }
  const unreadable = contents.unreadable.orders + contents.unreadable.reports;
  if (unreadable > 0) {
    // A record left out may be a fill: positions and PnL may be wrong, so nothing trades on them
    // until an operator has compared them with the venue (reconciliation reports the difference).
    const reason = `journal: ${contents.unreadable.orders} order and ${contents.unreadable.reports} report row(s) unreadable (damaged) and left out of the restore; positions may be wrong: compare /status with the venue, then \`cwts-ultra risk resume\``;
    logger.error({ unreadable: contents.unreadable }, reason);
    for (const r of contents.unreadable.first) logger.error({ row: r }, `journal ${journalPath}: unreadable ${r.table} row ${r.at}: ${r.reason}`);
    latched = { state: 'HALTED', reason: latched ? `${reason}; before: ${latched.state} (${latched.reason})` : reason };
  }
  engine.risk?.restore?.({ peak: contents.lastPeak?.peak, latched });
  if (latched) engine.riskState.set(latched.state, latched.reason, engine.now, 'journal');
  engine.restoreComponentState(contents.state);

  let open = 0;
  let total = 0;
  for (const o of engine.orders.all()) {
    total++;
    if (!['filled', 'cancelled', 'rejected'].includes(o.status)) open++;
  }
  const positions = [...engine.portfolio.all()].map((p) => {
    const i = p.instrument;
    const scale = i.priceScale.mantissa * i.qtyScale.mantissa;
    const exp = i.priceScale.exponent + i.qtyScale.exponent;
    return { exchange: i.exchange, symbol: i.symbol, qty: lotsToQty(i, p.qty), realizedPnl: commonFromAtoms(p.realizedTicksLots * scale, exp), fees: commonFromAtoms(p.feeAtoms, exp) };
  });
  const t = engine.portfolio.totals(() => undefined);
  const prev = contents.previousRun;
  const summary: RestoreSummary = {
    journal: journalPath,
    at: new Date(now).toISOString(),
    previousRun: prev ? { runId: prev.runId, startedAt: new Date(prev.startedAt).toISOString(), endedAt: prev.endedAt ? new Date(prev.endedAt).toISOString() : null, cleanExit: prev.cleanExit } : null,
    orders: total,
    openOrders: open,
    fills,
    positions,
    realizedPnl: commonToDecimal(t.realized),
    fees: commonToDecimal(t.fees),
    riskState: latched ?? null,
    peakEquity: contents.lastPeak ? commonToDecimal(contents.lastPeak.peak) : null,
    nextClientId: engine.orders.nextIdNumber,
    componentState: contents.state.length,
    unreadableRecords: unreadable,
    unbookableReports: unbookable.length,
  };
  logRestore(summary, logger);
  return summary;
}

/**
 * Wires an engine to its opened journal before start: restores from what earlier runs
 * committed, hands reconciliation the last journaled fill times, and makes client ids come
 * from the journal's reserved sequence.
 */
export function attachJournal(engine: Engine, store: JournalStore, logger: Logger, now = Date.now()): RestoreSummary {
  const contents = store.load();
  engine.restoredFrom = restoreFromJournal(engine, contents, store.path, logger, now);
  engine.lastFillTsByVenue = contents.lastFillTs;
  engine.journalStartedTs = contents.startedTs;
  engine.orders.useReservations(contents.reservedClientIds, (upTo) => store.reserveClientIds(upTo));
  return engine.restoredFrom;
}

// Through the portfolio's own conversion, so an instrument finer than 1e-18 quote units (tick
// x lot) rounds the same way here as in equity, instead of stopping the restart.
function commonFromAtoms(atoms: bigint, exponent: number): string {
  return commonToDecimal(toCommon(atoms, exponent));
}

function logRestore(s: RestoreSummary, logger: Logger): void {
  if (!s.previousRun && s.orders === 0) {
    logger.info({ journal: s.journal }, `journal ${s.journal}: new, nothing to restore`);
    return;
  }
  logger.info(
    { journal: s.journal, orders: s.orders, openOrders: s.openOrders, fills: s.fills, positions: s.positions.length },
    `journal ${s.journal}: restored ${s.orders} orders (${s.openOrders} open, to reconcile), ${s.fills} fills, ${s.positions.length} position(s); realized PnL ${s.realizedPnl}, fees ${s.fees}; next client id ${s.nextClientId}`,
  );
  for (const p of s.positions) logger.info({ position: p }, `restored position ${p.exchange}:${p.symbol} ${p.qty} (realized ${p.realizedPnl}, fees ${p.fees})`);
  if (s.peakEquity) logger.info({ peakEquity: s.peakEquity }, `restored equity peak ${s.peakEquity}`);
  if (s.riskState) logger.warn({ riskState: s.riskState }, `restored risk state ${s.riskState.state}: ${s.riskState.reason} (only \`cwts-ultra risk resume\` leaves it)`);
}
