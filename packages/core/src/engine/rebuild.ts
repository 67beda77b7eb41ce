export type { RestoreSummary } from './restart-report.js';
import { defineInstrument, instrumentKey, lotsToQty, type Instrument, type InstrumentSpec } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import type { JournalContents } from '../journal/records.js';
import type { JournalStore } from '../journal/store.js';
import type { Logger } from '../observability/logger.js';
import type { Engine } from './engine.js';
import type { RestoreSummary } from './restart-report.js';
import { commonToDecimal } from '../risk/portfolio.js';
import { RISK_CAPITAL_KEY, RISK_CAPITAL_SCOPE, type RiskStateName } from '../risk/risk-state.js';
import { convertCeil, convertExact, convertFloor, describeGrid, GRID_HISTORY_SCOPE, sameGrid, scaleRatio, type ScaleRatio } from '../risk/grid.js';
import { fillProblem, isReopenMark } from './order-manager.js';
import { bookedTradeKeys, tradesFrom, unidentifiedKeysOf, WATERMARK_AHEAD_MS, watermarkAhead } from './reconcile.js';

/**
 * One earlier definition of an instrument in the journal's grid history (GRID_HISTORY_SCOPE;
 * docs/journal.md, "Tick or lot size changed between runs"): the journal's first `events` orders
 * and reports on the instrument, cumulative, are counted in it.
 */
interface GridSegment {
  instrument: Instrument;
  events: number;
}

const specOf = (i: Instrument): InstrumentSpec => ({ exchange: i.exchange, symbol: i.symbol, base: i.base, quote: i.quote, tickSize: i.tickSize, lotSize: i.lotSize, minNotional: i.minNotional });

/** The journal's grid history per instrument key; a value that cannot be read is a problem (the restore halts on it). */
function readGridHistory(contents: JournalContents, problems: string[]): Map<string, GridSegment[]> {
  const out = new Map<string, GridSegment[]>();
  for (const s of contents.state) {
    if (s.scope !== GRID_HISTORY_SCOPE) continue;
    try {
      const segments = (s.value as { segments: { instrument: InstrumentSpec; events: number }[] }).segments.map((g) => {
        if (!Number.isSafeInteger(g.events) || g.events < 0) throw new Error(`event count ${String(g.events)}`);
        return { instrument: defineInstrument(g.instrument), events: g.events };
      });
      out.set(s.key, segments);
    } catch (err) {
      problems.push(`the earlier definitions of ${s.key} (state ${GRID_HISTORY_SCOPE}) cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

const TERMINAL_STATUS: ReadonlySet<string> = new Set(['filled', 'cancelled', 'rejected']);

/**
 * Puts one order on another grid of its instrument. Quantities must convert exactly: an open
 * order's that do not are the problem returned; a closed order's stay as they were (only a late
 * report could touch it). A limit price off the new grid is rounded toward crossing (a buy's
 * up, a sell's down): the self-trade check then errs on the side of refusing. The filled
 * notional (an average price, for display) rounds down, the fee (quote atoms of the new
 * exponent) up, as fees always do.
 */
function regridOrder(o: Order, from: Instrument, to: Instrument): string | undefined {
  const pr = scaleRatio(from.priceScale, to.priceScale);
  const qr = scaleRatio(from.qtyScale, to.qtyScale);
  const qty = convertExact(BigInt(o.qty), qr);
  const filled = convertExact(BigInt(o.filledQty), qr);
  if (qty === undefined || filled === undefined || qty <= 0n) {
    if (TERMINAL_STATUS.has(o.status)) return undefined;
    return `${o.exchange}:${o.symbol}: open order ${o.clientOrderId} of ${lotsToQty(from, o.qty)} ${from.base} (${lotsToQty(from, o.filledQty)} filled) is not a whole number of the new lot size (${describeGrid(from)} -> ${describeGrid(to)})`;
  }
  o.qty = Number(qty);
  o.filledQty = Number(filled);
  if (o.price !== undefined) {
    const p = BigInt(o.price);
    o.price = Number(convertExact(p, pr) ?? (o.side === 'buy' ? convertCeil(p, pr) : convertFloor(p, pr)));
  }
  o.filledNotionalTicksLots = convertFloor(o.filledNotionalTicksLots, { num: pr.num * qr.num, den: pr.den * qr.den });
  o.feeAtoms = convertCeil(o.feeAtoms, atomRatio(from, to));
  return undefined;
}

/** Quote atoms of `from` (10^-(price exponent + lot exponent)) into those of `to`. */
function atomRatio(from: Instrument, to: Instrument): ScaleRatio {
  return scaleRatio({ mantissa: 1n, exponent: from.priceScale.exponent + from.qtyScale.exponent }, { mantissa: 1n, exponent: to.priceScale.exponent + to.qtyScale.exponent });
}

/**
 * Moves the restored position and orders of one instrument from the grid of `from` to that of
 * `to` (Position.regrid, regridOrder). With `apply` false only the problems are returned (a
 * start that must be refused changes nothing); with it true, everything that converts is moved.
 */
function regridRestored(engine: Engine, from: Instrument, to: Instrument, apply: boolean): string[] {
  const problems: string[] = [];
  const p = engine.portfolio.find(to.exchange, to.symbol);
  if (p !== undefined) {
    const problem = apply ? p.regrid(to) : p.regridProblem(to);
    if (problem !== undefined) problems.push(problem);
  }
  if (sameGrid(from, to)) return problems;
  for (const o of engine.orders.all()) {
    if (o.exchange !== to.exchange || o.symbol !== to.symbol) continue;
    const problem = apply ? regridOrder(o, from, to) : regridOrder({ ...o }, from, to);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}


/** A journaled fill without a trade id at or after the venue's watermark (lastFillTs), with the definition it was journaled in. */
interface UnidentifiedFill {
  report: ExecutionReport;
  instrument: Instrument | undefined;
}

/**
 * The journaled fills without a trade id at or after the watermark, counted per venue by
 * `unidentifiedFillKey` and `adoptedFillKey` (only the latter for an order adopted under a made-up id) in the instrument's current definition (`current`): reconciliation
 * matches the venue's answer, parsed in the current ticks and lots, against these keys. A key
 * built from the journaled ticks once missed the same fill answered after a tick change, and it
 * was booked a second time. A fill whose price or quantity has no exact place on the current
 * grid keeps its journaled key: the venue cannot answer it in the current increments (the
 * adapter refuses an off-grid amount at its edge).
 */
function unidentifiedFillKeys(fills: readonly UnidentifiedFill[], current: (exchange: string, symbol: string) => Instrument | undefined): Record<string, Map<string, number>> {
  const out: Record<string, Map<string, number>> = {};
  for (const { report, instrument } of fills) {
    let keyed: ExecutionReport = report;
    const to = current(report.exchange, report.symbol);
    if (instrument !== undefined && to !== undefined && !sameGrid(instrument, to)) {
      const price = convertExact(BigInt(report.lastPrice), scaleRatio(instrument.priceScale, to.priceScale));
      const qty = convertExact(BigInt(report.lastQty), scaleRatio(instrument.qtyScale, to.qtyScale));
      if (price !== undefined && qty !== undefined) keyed = { ...report, lastPrice: Number(price), lastQty: Number(qty) };
    }
    const m = (out[report.exchange] ??= new Map());
    // An order adopted under a made-up id: the venue answers its trade again without any id. Any
    // other: by its client id, and by what the trade says too, since a venue that no longer
    // answers for the order reports its trade without the client id (ccxt: an archived order).
    // One venue trade is answered once per pass, under one of the two, and the trades of one
    // order all come with or all without it: a fill cannot be matched twice.
    for (const key of unidentifiedKeysOf(report.exchange, keyed)) m.set(key, (m.get(key) ?? 0) + 1);
  }
  return out;
}

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
  // Each event is counted in the definition it was journaled in: an earlier one from the grid
  // history up to its event count, then the next (the journal's latest last). At each change the
  // position and orders are moved onto the next grid as the run that met the change moved them.
  const history = readGridHistory(contents, unbookable);
  const cursors = new Map<string, { events: number; segment: number; segments: GridSegment[]; latest: Instrument | undefined }>();
  const cursorOf = (key: string) => {
    let c = cursors.get(key);
    if (c === undefined) cursors.set(key, (c = { events: 0, segment: 0, segments: history.get(key) ?? [], latest: instruments.get(key) }));
    return c;
  };
  const advance = (c: ReturnType<typeof cursorOf>, upTo: number) => {
    while (c.segment < c.segments.length && c.segments[c.segment]!.events < upTo) {
      const from = c.segments[c.segment]!.instrument;
      const to = c.segment + 1 < c.segments.length ? c.segments[c.segment + 1]!.instrument : c.latest;
      if (to !== undefined) for (const p of regridRestored(engine, from, to, true)) unbookable.push(`at the change to ${describeGrid(to)}: ${p}`);
      c.segment++;
    }
  };
  /** Counts one order or report event of the instrument; the definition it was journaled in. */
  const definitionOf = (exchange: string, symbol: string): Instrument | undefined => {
    const c = cursorOf(instrumentKey(String(exchange), String(symbol)));
    advance(c, ++c.events);
    return c.segment < c.segments.length ? c.segments[c.segment]!.instrument : c.latest;
  };
  // Reconciliation asks each venue for its trades from its watermark on (lastFillTs, inclusive);
  // those already journaled are recognised by order and trade id (bookedTradeKeys: their orders
  // may be gone). Every fill from that time on is one: fills booked while the venue was not
  // reconciled may be later than the watermark.
  const journaledAtLast: Record<string, Set<string>> = {};
  // where reconciliation reads each venue's trades from (tradesFrom, as the journal says)
  const from = new Map<string, number>();
  const readFrom = (exchange: string): number => {
    let ts = from.get(exchange);
    if (ts === undefined) from.set(exchange, (ts = tradesFrom({ lastFillTs: contents.lastFillTs, journalStartedTs: contents.startedTs }, exchange, engine.now)));
    return ts;
  };
  const unidentifiedAtLast: UnidentifiedFill[] = [];
  for (const ev of contents.events) {
    if (ev.t === 'order') {
      definitionOf(ev.order.exchange, ev.order.symbol);
      engine.orders.restore({ ...ev.order });
      // kept once the order is forgotten: reconciliation checks a venue trade of it against this
      engine.orders.noteJournaled(ev.order);
    } else if (ev.t === 'report') {
      const instrument = definitionOf(ev.report.exchange, ev.report.symbol);
      // Reconciliation opened the order again (the venue listed it as working): open from here,
      // as that run had it; replayed as the ack it is, a closed order stays closed.
      if (isReopenMark(ev.report)) {
        engine.orders.reopen(ev.report.clientOrderId, ev.report.ts, ev.report.cumQty + ev.report.leavesQty);
        continue;
      }
      const out = engine.orders.apply(ev.report, ev.report.ts, true);
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
      engine.orders.noteJournaledFill(ev.report.clientOrderId, ev.report.lastQty);
      if (ev.report.ts >= readFrom(ev.report.exchange)) {
        if (ev.report.tradeId !== undefined) {
          const keys = (journaledAtLast[ev.report.exchange] ??= new Set());
          for (const k of bookedTradeKeys(ev.report)) keys.add(k);
        } else unidentifiedAtLast.push({ report: ev.report, instrument });
      }
      if (!instrument) {
        missingInstrument++;
        continue;
      }
      try {
        engine.portfolio.applyFill(instrument, ev.report);
      } catch (err) {
        // a position that could not be moved onto this grid (a damaged grid history)
        unbookable.push(`report seq ${ev.seq} of ${ev.report.clientOrderId}: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      engine.risk?.replayFill?.(instrument, ev.report);
      engine.fillsBooked.set(ev.report.exchange, (engine.fillsBooked.get(ev.report.exchange) ?? 0) + 1);
      fills++;
    } else if (ev.t === 'reconcile' && ev.kind === 'closed' && ev.clientOrderId) {
      engine.orders.forceClose(ev.clientOrderId, ev.detail);
    }
  }
  // Changes after the last event of an instrument: its position and orders reach the latest definition too.
  for (const [key, segments] of history) {
    const c = cursorOf(key);
    advance(c, segments.length === 0 ? 0 : segments[segments.length - 1]!.events + 1);
  }
  engine.journaledTradesByVenue = journaledAtLast;
  // keyed in the journal's definitions until the venues' current ones are known (ontoCurrent)
  engine.journaledUnidentifiedFillsByVenue = unidentifiedFillKeys(unidentifiedAtLast, () => undefined);
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
  engine.risk?.restore?.({ peak: contents.lastPeak?.peak, latched, ...journaledCapital(contents, logger), marks: journaledMarks(contents, instruments) });
  // Only a stronger state: a HALT set before the restore (the control endpoint, while the venues
  // loaded) was once moved to the journal's REDUCING, and journaled so, until the next evaluation.
  if (latched && RISK_RANK[latched.state] > RISK_RANK[engine.riskState.state]) engine.riskState.set(latched.state, latched.reason, engine.now, 'journal');
  engine.restoreComponentState(contents.state);

  const unconfigured = setAsideUnconfigured(engine, logger);
  let open = 0;
  let total = 0;
  for (const o of engine.orders.all()) {
    total++;
    if (!['filled', 'cancelled', 'rejected'].includes(o.status)) open++;
  }
  for (const u of unconfigured) open -= u.orders;
  // Through the portfolio's own conversion, so an instrument finer than 1e-18 quote units (tick
  // x lot) rounds the same way here as in equity, instead of stopping the restart.
  const positions = [...engine.portfolio.all()].map((p) => {
    const i = p.instrument;
    return { exchange: i.exchange, symbol: i.symbol, qty: lotsToQty(i, p.qty), realizedPnl: commonToDecimal(p.realizedCommon()), fees: commonToDecimal(p.feesCommon()) };
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
    // Where the sequence continues once attachJournal applies the journal's reservation
    // (OrderManager.useReservations): past every id reserved, not past the highest journaled
    // order; the log line and /status name the id the next order really gets.
    nextClientId: Math.max(engine.orders.nextIdNumber, contents.reservedClientIds + 1),
    componentState: contents.state.length,
    unreadableRecords: unreadable,
    unbookableReports: unbookable.length,
    ordersOnUnconfiguredVenues: unconfigured,
  };
  logRestore(summary, logger);
  // Booked in the journal's definitions; trading uses the venues' current ones, known once the
  // engine has loaded its instruments (a restore may run before: attachJournal before start()).
  const journaled = new Map(instruments);
  const eventCounts = new Map<string, number>();
  for (const [key, c] of cursors) eventCounts.set(key, c.events);
  const ontoCurrent = (e: Engine) => {
    regridToCurrent(e, journaled, eventCounts, history, logger);
    e.journaledUnidentifiedFillsByVenue = unidentifiedFillKeys(unidentifiedAtLast, (exchange, symbol) => e.instrument(exchange, symbol));
  };
  if (engine.started) ontoCurrent(engine);
  else engine.restoredOnto = ontoCurrent;
  return summary;
}

/**
 * Puts the restored positions and orders on the instruments as the venues define them now. Where
 * a venue changed an instrument's tick or lot size since the journal was written, everything is
 * converted (Position.regrid, regridOrder) and the journal's definition is recorded in its grid
 * history, so the next restart counts these events in it and converts them the same way. A
 * restored quantity that is not a whole number of the new lots refuses the start before anything
 * is changed or journaled, naming the instrument and both definitions: it can neither be booked
 * nor traded. Every restored position is also bound to the engine's own definition object (the
 * risk checks tell the order's own position from the others by it).
 */
function regridToCurrent(engine: Engine, journaled: ReadonlyMap<string, Instrument>, eventCounts: ReadonlyMap<string, number>, history: ReadonlyMap<string, GridSegment[]>, logger: Logger): void {
  const changes: { key: string; from: Instrument; to: Instrument }[] = [];
  const problems: string[] = [];
  for (const [key, from] of journaled) {
    const to = engine.instrument(from.exchange, from.symbol);
    if (to === undefined || sameGrid(from, to)) continue;
    changes.push({ key, from, to });
    problems.push(...regridRestored(engine, from, to, false));
  }
  if (problems.length > 0) {
    throw new Error(
      `refusing to start: a venue changed the tick or lot size of an instrument the journal holds, and ${problems.length} restored amount(s) cannot be counted in the new one: ${problems.join('; ')}. ` +
        'A quantity that is not a whole number of the new lots can be neither booked nor traded here; bring the position at the venue to a multiple of the new lot size and start with a new journal (cwts-ultra journal export keeps the old history readable)',
    );
  }
  for (const c of changes) {
    regridRestored(engine, c.from, c.to, true);
    const events = eventCounts.get(c.key) ?? 0;
    if (events > 0) {
      const segments = [...(history.get(c.key) ?? []), { instrument: c.from, events }];
      engine.persisted.set(GRID_HISTORY_SCOPE, c.key, { segments: segments.map((g) => ({ instrument: specOf(g.instrument), events: g.events })) });
    }
    logger.warn(
      { exchange: c.to.exchange, symbol: c.to.symbol, journaled: describeGrid(c.from), venue: describeGrid(c.to) },
      `${c.to.exchange}:${c.to.symbol}: the venue's definition changed since the journal was written (${describeGrid(c.from)} -> ${describeGrid(c.to)}): the restored position and orders are converted to it; an entry price off the new grid is rounded against the position and the difference carried into realized PnL (equity unchanged)`,
    );
  }
  for (const p of engine.portfolio.all()) {
    const to = engine.instrument(p.instrument.exchange, p.instrument.symbol);
    if (to === undefined || to === p.instrument) continue;
    const problem = p.regrid(to);
    if (problem !== undefined) throw new Error(`refusing to start: ${problem}`);
  }
}

const RISK_RANK: Record<RiskStateName, number> = { ACTIVE: 0, REDUCING: 1, HALTED: 2 };

/**
 * The starting capital the journal's peaks are counted in (RISK_CAPITAL_SCOPE), when the journal
 * has one; one that cannot be read is left out (the peak is then taken as is, as before it was journaled).
 */
function journaledCapital(contents: JournalContents, logger: Logger): { capital?: bigint } {
  let value: unknown;
  for (const s of contents.state) if (s.scope === RISK_CAPITAL_SCOPE && s.key === RISK_CAPITAL_KEY) value = s.value;
  if (value === undefined) return {};
  if (typeof value === 'string' && /^-?\d{1,60}$/.test(value)) return { capital: BigInt(value) };
  logger.warn({ value }, `journal: the starting capital of the journaled equity peak (state ${RISK_CAPITAL_SCOPE}) cannot be read; the peak is restored as journaled`);
  return {};
}

/** The last snapshot's marks, each with the grid of the journal's definition of its instrument (the one the run that wrote it traded on). */
function journaledMarks(contents: JournalContents, instruments: ReadonlyMap<string, Instrument>): { key: string; mid2: number; priceScale: Instrument['priceScale'] }[] {
  const out: { key: string; mid2: number; priceScale: Instrument['priceScale'] }[] = [];
  for (const [key, mid2] of Object.entries(contents.lastMarks ?? {})) {
    const i = instruments.get(key);
    if (i !== undefined) out.push({ key, mid2, priceScale: i.priceScale });
  }
  return out;
}

/** How many set-aside order ids the summary names per venue (the log names them all). */
const NAMED_SET_ASIDE = 20;

/**
 * Open orders restored for a venue the config no longer names: nothing can cancel them, ask
 * about them or report on them, yet they may still be working there. Set aside (OrderManager
 * .setAside): not counted as working by the risk checks, /status's open count, a HALT or a
 * stop, which otherwise waited for a cancel no venue could answer, and re-sent it for ever under
 * HALTED. Their journal records are untouched: a start with the venue configured again
 * reconciles them. Logged as an error per venue and listed in the restore summary (/status
 * `restoredFrom`): the operator must cancel them at the venue or enable it again
 * (docs/reliability.md, "Orders on a venue no longer configured").
 */
function setAsideUnconfigured(engine: Engine, logger: Logger): RestoreSummary['ordersOnUnconfiguredVenues'] {
  const byVenue = new Map<string, string[]>();
  for (const o of engine.orders.allOpen()) {
    if (engine.venue(o.exchange) !== undefined) continue;
    if (!engine.orders.setAside(o.clientOrderId)) continue;
    let ids = byVenue.get(o.exchange);
    if (ids === undefined) byVenue.set(o.exchange, (ids = []));
    ids.push(o.clientOrderId);
  }
  const out: RestoreSummary['ordersOnUnconfiguredVenues'] = [];
  for (const [exchange, ids] of byVenue) {
    out.push({ exchange, orders: ids.length, clientOrderIds: ids.slice(0, NAMED_SET_ASIDE) });
    logger.error(
      { exchange, orders: ids.length, clientOrderIds: ids },
      `journal: ${ids.length} order(s) open on ${exchange}, which is not configured now (${ids.join(', ')}): they may still be working there, and this process can neither cancel nor follow them; not counted as working here. Cancel them at ${exchange}, or enable it again so that reconciliation settles them`,
    );
  }
  return out;
}

/**
 * Wires an engine to its opened journal before start: restores from what earlier runs
 * committed, hands reconciliation the last journaled fill times, and makes client ids come
 * from the journal's reserved sequence (the first block is asked for here, ahead of the first
 * order).
 */
export function attachJournal(engine: Engine, store: JournalStore, logger: Logger, now = Date.now()): RestoreSummary {
  const contents = store.load();
  engine.restoredFrom = restoreFromJournal(engine, contents, store.path, logger, now);
  // A watermark far ahead of this host's clock is not trusted (tradesFrom): left out, so that
  // this run journals where it really read from, not the same bad time again.
  engine.lastFillTsByVenue = {};
  for (const [exchange, ts] of Object.entries(contents.lastFillTs)) {
    if (!watermarkAhead(ts, engine.now)) engine.lastFillTsByVenue[exchange] = ts;
    else logger.warn({ exchange, watermark: ts, now: engine.now }, `journal: the trades watermark of ${exchange} (${ts}) is more than ${WATERMARK_AHEAD_MS / 60_000} minutes ahead of this host's clock (${engine.now}), a fill's venue time that is not one: not trusted, the venue's trades are read from when the journal began`);
  }
  engine.journalStartedTs = contents.startedTs;
  engine.orders.useReservations(contents.reservedClientIds, {
    reserve: (upTo) => store.reserveClientIds(upTo),
    // The next block is committed by the writer thread while orders go on (order-manager.ts).
    reserveAhead: (upTo) => store.reserveClientIdsAhead(upTo),
    durableUpTo: () => store.durableClientIds,
    awaitDurable: () => store.awaitClientIds(),
  });
  return engine.restoredFrom;
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
