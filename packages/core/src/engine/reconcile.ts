import type { OrderStatusReport, VenueBalance } from '../contracts/exchange.js';
import type { PersistedState } from '../contracts/trading.js';
import { formatScaled, lotsToQty, notionalExponent } from '../domain/instrument.js';
import { amountToCommon } from '../risk/accounts.js';
import { redactUrlCredentials } from '../config/url-credentials.js';
import { COMMON_EXPONENT } from '../risk/portfolio.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import type { ReconcileEventKind } from '../journal/records.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import type { ExecutionClient } from '../contracts/exchange.js';
import type { Instrument } from '../domain/instrument.js';
import type { JournalRecord } from '../journal/records.js';
import { LISTED_WITHOUT_TIME, listedWithoutTime } from '../contracts/listed-time.js';
import { ADOPTED_TRADE_REASON, ADOPTED_TRADE_SOURCE, fillProblem, isTradeAdopted, REOPENED_TEXT, reportProblem, venueOrderProblem, type JournaledOrder, type OrderManager } from './order-manager.js';
import type { Portfolio } from '../risk/portfolio.js';
import type { RiskState } from '../risk/risk-state.js';
import type { MismatchKind, ReconcileMismatch, ReconcileResult } from './restart-report.js';

export type { MismatchKind, ReconcileMismatch, ReconcileResult } from './restart-report.js';

/** What reconciliation needs from the engine (the Engine class satisfies it). */
export interface ReconcileEnginePort {
  readonly now: number;
  readonly orders: OrderManager;
  readonly portfolio: Portfolio;
  readonly riskState: RiskState;
  readonly fillCount: number;
  venueNames(): string[];
  venue(name: string): { symbols: readonly string[]; execution: ExecutionClient } | undefined;
  instrument(exchange: string, symbol: string): Instrument | undefined;
  /**
   * Books a report as the live path does. A fill booked on a venue not reconciled yet is noted
   * there for a retry (by trade id, or by unidentifiedKeysOf without one): reconciliation's own
   * bookings come through here and are noted nowhere else, each once.
   */
  onExecutionReport(r: ExecutionReport): void;
  journal(rec: JournalRecord): void;
  /** Journaled per-component state; the balance baseline lives here between runs. */
  readonly persisted: PersistedState;
  /**
   * The journal's cash per venue and asset (x 10^-18), booked from every fill (restored and
   * live); undefined when no cash ledger runs (no risk layer), which skips the balance check.
   */
  cashBalance(exchange: string, asset: string): bigint | undefined;
  /** Fills booked per venue so far, restored ones included. */
  readonly fillsBooked: ReadonlyMap<string, number>;
}

/**
 * What the balance check compares against next time: the venue's balances and the journal's
 * ledger at the same moment (decimal strings). Kept with `persisted` under this scope, per venue.
 */
export interface BalanceBaseline {
  venue: Record<string, string>;
  ledger: Record<string, string>;
  /** Fills booked for the venue at that moment (the fee rounding tolerance counts those since). */
  fills: number;
  ts: number;
}
export const BALANCE_BASELINE_SCOPE = 'reconcile.balances';

const TERMINAL = new Set(['filled', 'cancelled', 'rejected']);

/** How far before the journal's start trades are still pulled: venue and host clocks differ. */
export const TRADES_BEFORE_JOURNAL_MS = 10 * 60_000;

/**
 * Where a venue's trades are read from (step 2): its watermark (lastFillTs), or without one, when
 * the journal began less TRADES_BEFORE_JOURNAL_MS. The engine journals it as the venue's
 * watermark until its reconciliation completes (journal/store.ts, tradesWatermarks).
 */
export function tradesFrom(opts: Pick<ReconcileOptions, 'lastFillTs' | 'journalStartedTs'>, exchange: string, now: number): number {
  const mark = opts.lastFillTs[exchange];
  if (mark !== undefined && !watermarkAhead(mark, now)) return mark;
  return Math.max(0, (opts.journalStartedTs ?? now) - TRADES_BEFORE_JOURNAL_MS);
}

/**
 * How far ahead of the host clock a watermark may be and still be read from: venue and host
 * clocks differ by seconds, not by this. Further ahead, its fill's venue time is not a time (a
 * venue clock glitch, an adapter passing microseconds for milliseconds) and reading from it
 * never reads a trade made while down again.
 */
export const WATERMARK_AHEAD_MS = TRADES_BEFORE_JOURNAL_MS;

/**
 * Whether a venue's watermark is beyond the host clock by more than WATERMARK_AHEAD_MS: then not
 * trusted, and its trades are read as for a venue without one, from when the journal began (less
 * TRADES_BEFORE_JOURNAL_MS); the journaled fills from there are known as booked (engine/rebuild.ts
 * takes the same point from tradesFrom). docs/journal.md, "Trades watermark".
 */
export function watermarkAhead(mark: number, now: number): boolean {
  return !(mark <= now + WATERMARK_AHEAD_MS);
}

export interface ReconcileOptions {
  logger: Logger;
  /**
   * Masks secrets in a venue's error before it is journaled and shown (EngineOptions.redact and
   * the pattern scrubber); URL credentials only when absent.
   */
  redact?: (text: string) => string;
  metrics: MetricsRegistry;
  onMismatch: 'adopt-venue' | 'halt';
  /**
   * Per venue, the venue time its trades are read from: of the last journaled fill, booked while
   * the venue was reconciled (journal/store.ts, tradesWatermarks).
   */
  lastFillTs: Record<string, number>;
  /**
   * When the journal began (undefined: no journal, it begins now). A venue without a journaled
   * fill has its trades pulled from here, less TRADES_BEFORE_JOURNAL_MS: older trades cannot be
   * ours, and booking an account's history as adopted trades would invent positions.
   */
  journalStartedTs?: number;
  /**
   * The journaled fills at or after `lastFillTs`, per venue, by `bookedTradeKeys`: what
   * `tradesSince` (from that time, inclusive) answers again. Their orders may have left memory
   * (closed-order retention), so a fill here is known as booked, never adopted a second time.
   */
  journaledTrades?: Record<string, ReadonlySet<string>>;
  /**
   * Journaled fills at or after `lastFillTs` that carry no trade id, per venue, counted by
   * `unidentifiedFillKey` (order, price, quantity), or by `adoptedFillKey` for those of an order
   * adopted under a made-up id: `tradesSince` answers them again and nothing else tells them from
   * a new fill, so each one matched is taken as booked, once.
   */
  journaledUnidentifiedFills?: Record<string, ReadonlyMap<string, number>>;
  /**
   * Whether the engine is stopping. A stop ends reconciliation at once: the venue at hand is left
   * where it is, and what it was doing is no finding (no mismatch, no HALT from it).
   */
  stopping?: () => boolean;
  /** Reconcile only these venues (a retry of one that could not be reconciled); default: every venue. */
  venues?: readonly string[];
  /**
   * A retry of venues whose earlier attempt could not complete: that attempt counted their
   * `venue_unreachable` mismatch (journaled, paged on, HALTED under "halt"), so failing again is
   * no new mismatch, only an answer in `unreachable`. Every other finding counts as at start,
   * unless an earlier attempt reported it (`reportedFindings`).
   */
  retry?: boolean;
  /**
   * Keys (findingKey) of the findings reported so far, per venue; each one reported here is
   * added. A finding whose key is already there is the same finding found again (a hand-placed
   * order still working, the same unexplained position difference, read again by a retry whose
   * earlier attempt failed after it): logged, and not counted, journaled, listed or HALTed on a
   * second time. Default: nothing reported before this run.
   */
  reportedFindings?: Map<string, Set<string>>;
}

/**
 * What makes a finding the same one found again: its venue (the map's key), kind, order, symbol,
 * and `identity`: by default its detail, which for an order or a trade names the listing or the
 * trade itself; for a quantity that differs (`position`, `status`) the unexplained difference,
 * not the two figures, which both move with every fill booked meanwhile.
 */
const findingKey = (m: ReconcileMismatch, identity: string): string => `${m.kind}\u0000${m.clientOrderId ?? ''}\u0000${m.symbol ?? ''}\u0000${identity}`;

/**
 * How `mismatch` tells a finding from one reported before: a string that identifies it
 * (findingKey), or BOOKED for a finding that booked something now (a trade or an order adopted
 * from the venue): money moved, so it is new whatever was reported before.
 */
type FindingIdentity = string | typeof BOOKED;
const BOOKED: unique symbol = Symbol('booked now');
type Report = (m: ReconcileMismatch, identity?: FindingIdentity) => void;

/** One reconciliation pass: what it found, and how far each venue got. */
export interface ReconcileRun {
  result: ReconcileResult;
  /** Venues reconciled to the end (every step their client offers). */
  reconciled: string[];
  /**
   * Venues whose reconciliation could not complete (a read failed), with the error: not
   * reconciled, so not ready and not to be traded (the engine retries them). A venue a stop
   * interrupted is in neither list.
   */
  unreachable: Map<string, string>;
}

/** Every MismatchKind: `cwts_reconcile_mismatches_total` has a series at 0 for each, per venue, before reconciling. */
export const MISMATCH_KINDS = ['fill_while_down', 'status', 'unknown_order', 'unknown_trade', 'position', 'balance', 'venue_unreachable'] as const satisfies readonly MismatchKind[];
// A kind added to MismatchKind and not listed above fails to compile here.
const everyMismatchKindListed: [Exclude<MismatchKind, (typeof MISMATCH_KINDS)[number]>] extends [never] ? true : never = true;
void everyMismatchKindListed;

/** Thrown by a venue read that a stop overtook (see reconcileVenues). */
const STOPPED: unique symbol = Symbol('reconciliation stopped');

/**
 * The keys a booked fill with a trade id is known by (journaledTrades): its order's client id
 * with the trade id, as the journal's fills_trade index keys it, and its symbol, side and trade
 * id, for a venue trade that names no client id (exchange-ccxt leaves it out for an order the
 * venue has none for). A trade id alone does not do: a self-trade is one trade id on two orders,
 * a buy and a sell, and keyed by it the second side was skipped as booked, never adopted or
 * reported. None without a trade id (journaledUnidentifiedFills counts those).
 */
export function bookedTradeKeys(r: Pick<ExecutionReport, 'clientOrderId' | 'symbol' | 'side' | 'tradeId'>): string[] {
  if (typeof r.tradeId !== 'string') return [];
  // String(): read before the fill is checked, a hostile symbol (a Symbol) must not throw here
  const bySide = `s\u0000${String(r.symbol)}\u0000${String(r.side)}\u0000${r.tradeId}`;
  return typeof r.clientOrderId === 'string' && r.clientOrderId !== '' ? [`c\u0000${r.clientOrderId}\u0000${r.tradeId}`, bySide] : [bySide];
}

/**
 * Whether a venue trade is one of `booked` (bookedTradeKeys): by client id and trade id, or by
 * symbol, side and trade id. Either key is enough: one venue trade has one buy and one sell order,
 * so the side tells a self-trade's two fills apart, and a trade reported under another id than it
 * was journaled with (the venue order id, when the venue no longer answers for its order) is still
 * the same side of the same trade.
 */
function isBookedTrade(booked: ReadonlySet<string> | undefined, t: ExecutionReport): boolean {
  if (booked === undefined) return false;
  for (const key of bookedTradeKeys(t)) if (booked.has(key)) return true;
  return false;
}

/** The key of a fill without a trade id (journaledUnidentifiedFills). */
export const unidentifiedFillKey = (r: Pick<ExecutionReport, 'clientOrderId' | 'lastPrice' | 'lastQty'>): string => `${r.clientOrderId}\u0000${r.lastPrice}\u0000${r.lastQty}`;

/**
 * The keys step 2 matches a booked fill without a trade id by, when the trade list answers it
 * again (engine/rebuild.ts keys the journal's the same way): by its order, and by what the trade
 * says; only the latter for an order adopted under a made-up id, which the venue never names.
 */
export function unidentifiedKeysOf(exchange: string, r: ExecutionReport): string[] {
  return hasClientId(r) && !isMadeUpAdoptedId(exchange, r.clientOrderId) ? [unidentifiedFillKey(r), adoptedFillKey(r)] : [adoptedFillKey(r)];
}

/** Whether a venue trade names a client id (exchange-ccxt leaves it out for an order the venue has none for). */
const hasClientId = (t: Pick<ExecutionReport, 'clientOrderId'>): boolean => typeof t.clientOrderId === 'string' && t.clientOrderId !== '';

/**
 * Whether `id` is one adoptedId made up (now `adopted-<venue>-<symbol>-<side>-…`, before
 * 2bf09b1 `adopted-<venue>-…`): the venue never reports it, so a fill journaled under it is
 * found again by what the trade itself says (adoptedFillKey), not by that id.
 */
export const isMadeUpAdoptedId = (exchange: string, id: unknown): boolean => typeof id === 'string' && id.startsWith(`adopted-${exchange}-`);

/**
 * The key of a fill without a trade id that was adopted without a client id (isMadeUpAdoptedId),
 * counted in journaledUnidentifiedFills beside unidentifiedFillKey: what the venue says of the
 * trade when it answers it again with neither id: symbol, side, venue order id (empty where none
 * is given), price, quantity and venue time. Keyed by the made-up id, which that answer cannot
 * name, such a fill was adopted again at every start. The leading NUL and letter never begin an
 * unidentifiedFillKey of a client id, whose price field is a number.
 */
export const adoptedFillKey = (r: Pick<ExecutionReport, 'symbol' | 'side' | 'venueOrderId' | 'lastPrice' | 'lastQty' | 'ts'>): string =>
  `\u0000a\u0000${String(r.symbol)}\u0000${String(r.side)}\u0000${typeof r.venueOrderId === 'string' ? r.venueOrderId : ''}\u0000${r.lastPrice}\u0000${r.lastQty}\u0000${r.ts}`;

/**
 * Reconciliation at start (the NautilusTrader model: order, fill and position status reports),
 * per venue:
 * 1. every order the journal holds open is asked about by client id (`queryOrder`); fills the
 *    venue made while we were down are applied through the normal report path, so each is booked
 *    once (trade ids de-duplicate) with its real fee; a terminal venue status closes it here;
 *    an order the venue does not know is closed (an in-process paper venue did not survive);
 *    Then the venue's open orders the journal does not know are adopted (a `unknown_order`
 *    mismatch): a crash lost their record, or the journal was restored from an older backup;
 *    each is asked about (`queryOrder`) and its fills so far booked as a journaled order's are;
 *    one the journal holds closed (held or forgotten) that the venue answers as working is
 *    opened again and journaled so (OrderManager.reopen, journalReopen); answered as ended or
 *    unknown, it stays closed;
 * 2. the venue's trades since the last journaled fill are pulled (`tradesSince`): fills of
 *    journaled orders apply once, fills of orders the journal never saw are mismatches;
 *    The fills read in steps 1 and 2 are booked after both, together, in the venue's order
 *    (bookInVenueOrder: realized PnL is first-in first-out);
 * 3. positions are compared (`positions`);
 * 4. balances of the traded assets are compared (`balances`): the venue's balance now against
 *    its balance at the last reconciliation plus what the journal's fills moved since (see
 *    checkBalances).
 * Fills of orders the journal holds open are expected (they were working while we were down):
 * booked and listed as recovered. Every other difference is a mismatch: logged, counted in cwts_reconcile_mismatches_total, journaled
 * and handled by `[reconcile] on_mismatch` ("adopt-venue": the venue's view is booked and
 * trading starts; "halt": the venue's fills are still booked, then the engine starts HALTED).
 * A venue without `queryOrder` falls back to its open-order list. A stop (opts.stopping) ends it
 * where it is: a read the stop overtook is not a mismatch, and nothing is concluded from it.
 * A venue whose read fails is not reconciled (`unreachable`, a `venue_unreachable` mismatch the
 * first time): the engine keeps it unready and untraded and runs it again (opts.retry). What a
 * run finds again that an earlier one reported (opts.reportedFindings) is not a mismatch again.
 */
export async function reconcileVenues(engine: ReconcileEnginePort, opts: ReconcileOptions): Promise<ReconcileRun> {
  const { logger, metrics } = opts;
  const result: ReconcileResult = { at: '', policy: opts.onMismatch, venues: [], mismatches: [], recovered: [] };
  const run: ReconcileRun = { result, reconciled: [], unreachable: new Map() };
  const venueNames = opts.venues ?? engine.venueNames();
  // Each series exists at 0 before its first possible increment, so Prometheus sees 0 -> 1 where a
  // scrape falls in between (monitoring/alerts.yml, ReconcileMismatch, covers a count made before one).
  for (const name of venueNames) for (const kind of MISMATCH_KINDS) metrics.reconcileMismatches.labels(name, kind).inc(0);
  const record = (exchange: string, kind: ReconcileEventKind, detail: string, clientOrderId?: string) =>
    engine.journal({ t: 'reconcile', exchange, clientOrderId, kind, detail, ts: engine.now });
  const reported = opts.reportedFindings ?? new Map<string, Set<string>>();
  const adoptedIds: AdoptedIds = { next: 0 };
  /**
   * A finding: counted, logged, journaled and listed, once (see reportedFindings). A retry runs
   * every step again, so what an earlier attempt found before its read failed is found again:
   * counted each time, one hand-placed order paged and listed in /status at every retry (every
   * 30 s for as long as the venue fails), and under on_mismatch = "halt" it HALTed again each
   * time after the operator had resumed.
   */
  const mismatch: Report = (m, identity = m.detail) => {
    if (identity !== BOOKED) {
      let seen = reported.get(m.exchange);
      if (seen === undefined) reported.set(m.exchange, (seen = new Set()));
      const key = findingKey(m, identity);
      if (seen.has(key)) {
        logger.info({ mismatch: m }, `reconcile ${m.exchange}: ${m.kind} found again, reported before (not counted again): ${m.detail}`);
        return;
      }
      seen.add(key);
    }
    result.mismatches.push(m);
    metrics.reconcileMismatches.labels(m.exchange, m.kind).inc();
    logger.warn({ mismatch: m }, `reconcile ${m.exchange}: ${m.kind}: ${m.detail}`);
    record(m.exchange, 'mismatch', `${m.kind}: ${m.detail}`, m.clientOrderId);
  };
  const recovered = (m: ReconcileMismatch) => {
    result.recovered.push(m);
    logger.info({ recovered: m }, `reconcile ${m.exchange}: ${m.detail}`);
    record(m.exchange, 'recovered', m.detail, m.clientOrderId);
  };
  const close = (o: Order, why: string) => {
    engine.orders.forceClose(o.clientOrderId, why);
    record(o.exchange, 'closed', why, o.clientOrderId);
  };
  const stopping = () => opts.stopping?.() === true;
  /**
   * Every venue read goes through here. A stop closes the venue's clients: a read it overtook
   * fails ("rate limiter closed", "execution not started") or answers empty (no open orders, no
   * balances), and neither is the venue's view: taken as one, it was a `venue_unreachable`
   * mismatch (HALTED under on_mismatch = "halt", so the next start cancelled every open order),
   * journaled orders closed as not open, or balances of 0 recorded as the baseline.
   */
  const ask = async <T>(read: Promise<T>): Promise<T> => {
    try {
      const answer = await read;
      if (stopping()) throw STOPPED;
      return answer;
    } catch (err) {
      throw stopping() ? STOPPED : err;
    }
  };

  for (const name of venueNames) {
    if (stopping()) break; // a stop during start: nothing more is asked or booked
    const v = engine.venue(name)!;
    const x = v.execution;
    const caps = [x.queryOrder && 'queryOrder', x.tradesSince && 'tradesSince', x.positions && 'positions', x.balances && 'balances'].filter(Boolean) as string[];
    const stats: ReconcileResult['venues'][number] = { exchange: name, ordersChecked: 0, fillsApplied: 0, closed: 0, mismatches: 0, capabilities: caps };
    const before = result.mismatches.length;
    const fillsBefore = engine.fillCount;
    const open = engine.orders.allOpen().filter((o) => o.exchange === name);
    /**
     * Fills the venue reported, and what follows from them once booked. Nothing is booked while
     * the venue is read: the fills of steps 1 and 2 are booked together, in the venue's order
     * (bookInVenueOrder), then the checks that need them booked run in the order they were found.
     * Booked as they were read (each order's fills in turn, then the trades), a sell that came
     * before a buy at the venue closed lots the venue had not yet bought: the position matched
     * and realized PnL did not.
     */
    const pending: PendingFill[] = [];
    const afterBooking: (() => void)[] = [];
    /**
     * One fill, in its turn. Its order is looked up now, not when it was read: one held then may
     * have been forgotten since (closed-order retention, as earlier fills closed other orders).
     * A fill whose order is not held is booked as step 2 books a trade of an order the journal
     * never saw (unless its trade id is journaled).
     */
    const bookFill = (p: PendingFill) => {
      const t = p.report;
      const o = engine.orders.get(t.clientOrderId);
      if (o) {
        const before = o.filledQty;
        const duplicate = typeof t.tradeId === 'string' && engine.orders.hasTrade(o.clientOrderId, t.tradeId);
        // Booked before, as step 2 knows it: by the journal (and this run's bookings while the
        // venue was not reconciled). An order reviveJournaled brought back has no trade ids on its
        // entry; statusFills tells its booked fills by that too (`byQuantity`), this is the last word.
        if (!duplicate && typeof t.tradeId === 'string' && isBookedTrade(opts.journaledTrades?.[name], t)) return;
        const problem = duplicate ? undefined : heldFillProblem(t, o);
        engine.onExecutionReport(t);
        p.added = o.filledQty - before;
        // refused (as live: fill_qty, another side): the venue's word differs from the journal's
        if (p.added === 0 && !duplicate) refusedFill(name, t, `order ${o.clientOrderId} (${o.side} ${o.qty} lots, ${before} filled): ${problem ?? 'the engine did not book it'}`);
        return;
      }
      if (isBookedTrade(opts.journaledTrades?.[name], t)) return;
      // An order the journal holds that has left memory (closed-order retention): its trade is
      // checked against what the journal has of it, and never adopted as an order the journal
      // never saw under the journal's own id (the journal keeps its first record of an id, and the
      // next start replays the trade onto it, past its quantity).
      const journaled = engine.orders.journaledOrder(t.clientOrderId);
      if (journaled !== undefined) {
        const problem = journaledFillProblem(t, journaled, name);
        if (problem !== undefined) return refusedFill(name, t, `order ${t.clientOrderId} (${journaled.side} ${journaled.qty} lots, ${journaled.filledQty} filled in the journal, no longer held): ${problem}`);
        const booked = engine.orders.reviveJournaled(t.clientOrderId, engine.now);
        if (booked === undefined) return refusedFill(name, t, `order ${t.clientOrderId}: not held, and cannot be brought back`);
        const before = booked.filledQty;
        try {
          engine.onExecutionReport(t);
        } finally {
          engine.orders.releaseRevived(t.clientOrderId);
        }
        p.added = booked.filledQty - before;
        if (p.added === 0) return refusedFill(name, t, `order ${t.clientOrderId}: the engine did not book it`);
        // a fill of an order the journal had closed without it: booked onto that order, and reported
        p.adopted = true;
        mismatch({ exchange: name, kind: 'status', clientOrderId: t.clientOrderId, symbol: t.symbol, detail: `trade ${t.tradeId ?? '?'} (${t.side} ${t.lastQty} lots at ${t.lastPrice}) of journaled order ${t.clientOrderId}, closed in the journal with ${before} of ${journaled.qty} lots filled: booked onto it` }, BOOKED);
        // the order may have left memory again in its booking (keepCount counted it then): counted once
        if (journaled.filledQty < booked.filledQty) journaled.filledQty = booked.filledQty;
        return;
      }
      // An order this run made (create) that has left memory: its trade is never one of an order
      // the journal never saw. Its venue was reconciled before it was made, so this is another
      // venue's trade under its id: refused, as the journaled order's check refuses one.
      if (engine.orders.issuedHere(t.clientOrderId)) return refusedFill(name, t, `order ${t.clientOrderId} (made by this process in this run, no longer held): not adopted as a new order`);
      const bad = fillProblem(t) ?? (engine.instrument(name, t.symbol) === undefined ? { detail: `${String(t.symbol)} is not an instrument of ${name}` } : undefined);
      const refused = (why: string) => mismatch({ exchange: name, kind: 'unknown_trade', clientOrderId: t.clientOrderId, symbol: t.symbol, detail: `trade ${t.tradeId ?? '?'} of an order the journal never saw is not a valid fill (${why}): not booked` });
      if (bad !== undefined) return refused(bad.detail);
      const out = adoptTrade(engine, t, adoptedIds);
      // booked before, onto the order adopted for it (a trade without a client id answered again)
      if (out.kind === 'duplicate') return;
      if (out.kind === 'refused') return refused(out.detail);
      // reported once booked: a finding counted and journaled as adopted is money the engine holds
      mismatch({ exchange: name, kind: 'unknown_trade', clientOrderId: out.id, symbol: t.symbol, detail: `trade ${t.tradeId ?? '?'} (${t.side} ${t.lastQty} lots at ${t.lastPrice}) of an order the journal never saw` }, BOOKED);
      p.adopted = true;
      record(name, 'adopted', `trade ${t.tradeId ?? '?'} booked from the venue as ${out.id}`, out.id);
    };
    /** A venue fill of an order the journal holds that is not booked: a `status` mismatch, never adopted. */
    const refusedFill = (exchange: string, t: ExecutionReport, why: string) => {
      mismatch({ exchange, kind: 'status', clientOrderId: t.clientOrderId, symbol: t.symbol, detail: `the venue reports trade ${t.tradeId ?? '?'} (${String(t.side)} ${String(t.lastQty)} lots at ${String(t.lastPrice)}) of ${why}: not booked` });
    };
    let booked = false;
    const book = () => {
      if (booked) return;
      booked = true;
      bookInVenueOrder(pending, bookFill);
      for (const next of afterBooking) next();
    };
    /** Orders the venue answered about (steps 1 and 1b). */
    const answered = new Set<string>();
    /** A venue's answer about an order we hold: its fills booked once each, a terminal status closes it. */
    const applyAnswer = (o: Order, st: OrderStatusReport, byQuantity = false) => {
      answered.add(o.clientOrderId);
      const answer = statusFills(engine, o, st, byQuantity, opts.journaledTrades?.[name]);
      pending.push(...answer.fills);
      // Taken as booked by the journal's count: the trade list answers them again, in this attempt
      // and every later one, under ids the order's entry does not know; kept with the order manager
      // (as the revived mark is), as a later attempt need not ask about the order (closed by then)
      for (const t of answer.counted ?? []) engine.orders.noteCountedTrade(name, bookedTradeKeys(t));
      for (const c of answer.countedUnidentified ?? []) engine.orders.noteCountedUnidentifiedFill(name, unidentifiedKeysOf(name, c.report), c.report.ts, c.occurrence);
      afterBooking.push(() => {
        for (const p of answer.fills) {
          if (p.whole === undefined || p.added === 0) continue;
          engine.orders.noteCountedUnidentifiedFill(name, unidentifiedKeysOf(name, p.whole.report), p.whole.report.ts, p.whole.occurrence, unidentifiedKeysOf(name, p.report));
        }
        checkStatus(engine, o, st, answer, mismatch, recovered);
        if (TERMINAL.has(st.status) && !TERMINAL.has(o.status)) {
          close(o, `venue status ${st.status}`);
          stats.closed++;
        }
      });
    };
    try {
      // 1. Orders the journal holds open.
      if (x.queryOrder) {
        for (const o of open) {
          stats.ordersChecked++;
          // adopted from a listing without a creation time: asked about as such (no time), as when
          // it was adopted; its journaled createdTs is the host's, and a venue asked from it would
          // leave out its trades before then (the fills the journal has: a false `status` mismatch)
          const st = await ask(x.queryOrder(listedWithoutTime(o) ? { ...o, createdTs: 0 } : o));
          if (!st) {
            const why = x.simulated
              ? 'paper order on the in-process venue, which did not survive the restart: cancelled'
              : 'the venue does not know this order (never arrived): closed';
            logger.warn({ clientOrderId: o.clientOrderId, exchange: name }, `order ${o.clientOrderId} (${o.side} ${o.symbol}) from the journal: ${why}`);
            close(o, why);
            stats.closed++;
            continue;
          }
          // brought back by an earlier attempt (step 1b) whose later read failed: its trade ids are
          // still unknown, so its fills are told by the journal's count and trade ids, as then
          applyAnswer(o, st, engine.orders.wasRevived(o.clientOrderId));
        }
      } else if (open.length > 0) {
        const venueOpen = new Set((await ask(x.openOrders())).map((o) => o.clientOrderId));
        for (const o of open) {
          stats.ordersChecked++;
          if (venueOpen.has(o.clientOrderId)) continue;
          // Without queryOrder, fills made while down cannot be told from a cancel.
          logger.warn({ clientOrderId: o.clientOrderId, exchange: name }, `order ${o.clientOrderId} from the journal is not open at ${name}, which cannot be asked what happened to it (no queryOrder): closed`);
          close(o, 'not open at venue after restart (venue has no queryOrder)');
          stats.closed++;
        }
      }
      // 1b. Orders working at the venue that are not open here: one the journal never saw (an
      // order whose record a crash lost, one placed after the backup a journal was restored from,
      // or one placed outside this process) is adopted, so it is followed, cancellable and
      // replayed; one closed here (held or forgotten) is opened again.
      if (x.queryOrder && !x.simulated) {
        for (const vo of await ask(x.openOrders())) {
          const held = engine.orders.get(vo.clientOrderId);
          // open here: step 1 asked about it
          if (held !== undefined && !TERMINAL.has(held.status)) continue;
          const what = `order ${vo.clientOrderId} (${vo.side} ${vo.qty} lots at ${vo.price ?? 'market'}) is working at the venue but not in the journal`;
          // Only ids of our own form are adopted: an order someone placed by hand on the same
          // account is reported, never followed or cancelled by this process.
          // a listing that is not an order (a broken or hostile venue answer) is reported, never adopted
          const bad = venueOrderProblem(vo, name, (s) => engine.instrument(name, s) !== undefined);
          if (bad !== undefined) {
            mismatch({ exchange: name, kind: 'unknown_order', clientOrderId: typeof vo.clientOrderId === 'string' ? vo.clientOrderId : undefined, symbol: typeof vo.symbol === 'string' ? vo.symbol : undefined, detail: `the venue lists a working order that is not a valid one (${bad}): left alone` });
            continue;
          }
          // An id this process issued in this run: an order sent to a venue already reconciled,
          // so not one of this venue's, whatever it lists.
          if (engine.orders.issuedHere(vo.clientOrderId)) {
            mismatch({ exchange: name, kind: 'unknown_order', clientOrderId: vo.clientOrderId, symbol: vo.symbol, detail: `order ${vo.clientOrderId} (${vo.side} ${vo.qty} lots at ${vo.price ?? 'market'}) is working at the venue under the id of an order made by this process in this run (${held !== undefined ? `closed, on ${held.exchange}` : 'no longer held'}): left alone, never adopted` });
            continue;
          }
          // Closed here, held (the journal's or this run's close) or forgotten since (the journal
          // holds the id): the order held, never a second one. Adopted as new, it got a second
          // order record under the id, and its fills so far were booked again from the answer
          // (their trade ids left memory with it). Passed over while held, a venue's word that it
          // still works (so can still fill) was ignored: never counted by the risk checks, never
          // cancelled by a HALT.
          const closed = held ?? engine.orders.journaledOrder(vo.clientOrderId);
          if (closed !== undefined) {
            if (closed.exchange !== name || closed.symbol !== vo.symbol || closed.side !== vo.side) {
              mismatch({ exchange: name, kind: 'unknown_order', clientOrderId: vo.clientOrderId, symbol: vo.symbol, detail: `order ${vo.clientOrderId} (${vo.side} ${vo.qty} lots at ${vo.price ?? 'market'}) is working at the venue, and the journal holds that id for a ${closed.side} order on ${closed.exchange} ${closed.symbol}: left alone, never adopted` });
              continue;
            }
            stats.ordersChecked++;
            const st = await ask(x.queryOrder(listedWithoutTime(vo) ? { ...vo, createdTs: 0 } : vo));
            // Working on the venue's own answer: an answer that it ended (a list that lags) leaves
            // it as the journal has it, and so does one that the venue does not know it, as step 1
            // closes a journaled order the venue does not know (taken as working, it was followed
            // as open for the whole run). Either way what the journal booked on it stays booked.
            if (st === undefined) {
              logger.info({ exchange: name, clientOrderId: vo.clientOrderId }, `reconcile ${name}: order ${vo.clientOrderId} is listed as working, but the venue does not know it when asked; as the journal has it closed: left closed`);
              continue;
            }
            const working = !TERMINAL.has(st.status);
            // working: open again (its quantity, for one adopted from a trade, the listing's), and
            // journaled so, so that the next start has it open; else brought back (forgotten) only
            // for its booking
            const o = working ? engine.orders.reopen(vo.clientOrderId, engine.now, vo.qty) : (held ?? engine.orders.reviveJournaled(vo.clientOrderId, engine.now));
            if (o === undefined) continue; // the journal's notes are gone: this venue was reconciled meanwhile
            if (vo.venueOrderId) o.venueOrderId = vo.venueOrderId;
            if (working) {
              journalReopen(engine, o);
              mismatch({ exchange: name, kind: 'status', clientOrderId: vo.clientOrderId, symbol: vo.symbol, detail: `order ${vo.clientOrderId} (${vo.side} ${closed.qty} lots) is closed in the journal with ${closed.filledQty} lots filled, and working at the venue: followed again as working` });
              record(name, 'adopted', `open order ${vo.clientOrderId}, closed in the journal, followed again as working at the venue`, vo.clientOrderId);
            } else {
              logger.info({ exchange: name, clientOrderId: vo.clientOrderId, status: st.status }, `reconcile ${name}: order ${vo.clientOrderId} is listed as working but answered ${st.status}, as the journal has it closed: left closed`);
            }
            // its fills beyond what is booked on it, once each: by trade id where its entry knows
            // them, else (brought back from the journal's count) by that count
            applyAnswer(o, st, engine.orders.wasRevived(vo.clientOrderId));
            if (held === undefined) afterBooking.push(() => engine.orders.releaseRevived(vo.clientOrderId));
            continue;
          }
          if (!engine.orders.ownsId(vo.clientOrderId)) {
            mismatch({ exchange: name, kind: 'unknown_order', clientOrderId: vo.clientOrderId, symbol: vo.symbol, detail: `${what}; not an id this process issues: left alone` });
            continue;
          }
          // Asked about like a journaled order, before anything is booked: its fills so far are
          // booked once each, by trade id, and the client follows it from the trades it booked.
          // The listing alone does not tell the client which orders are adopted (it also names
          // orders left alone, whose trades before the journal began are not ours to book), so
          // it follows what it lists from the venue's filled quantity.
          stats.ordersChecked++;
          const st = await ask(x.queryOrder(listedWithoutTime(vo) ? { ...vo, createdTs: 0 } : vo));
          mismatch({ exchange: name, kind: 'unknown_order', clientOrderId: vo.clientOrderId, symbol: vo.symbol, detail: `${what}: adopted` }, BOOKED);
          const adopted = adoptOrder(engine, vo);
          record(name, 'adopted', `open order ${vo.clientOrderId} adopted from the venue`, vo.clientOrderId);
          // unknown to the venue a moment after it listed it: its fills come through step 2
          if (st) applyAnswer(adopted, st);
        }
      }
      // 2. Trades since the venue's watermark: the last fill journaled while it was reconciled
      // (without one, since the journal began).
      if (x.tradesSince) {
        const since = tradesFrom(opts, name, engine.now);
        const mark = opts.lastFillTs[name];
        if (mark !== undefined && watermarkAhead(mark, engine.now)) {
          logger.warn({ exchange: name, watermark: mark, now: engine.now, since }, `reconcile ${name}: the trades watermark (a journaled fill's venue time, ${mark}) is more than ${WATERMARK_AHEAD_MS / 60_000} minutes ahead of this host's clock (${engine.now}): not trusted, trades are read from when the journal began (${since}); the journaled fills from there are known as booked`);
        }
        const trades = await ask(x.tradesSince(v.symbols, since));
        // fills without a trade id the journal holds from that time on, and those booked in this
        // run while the venue was not reconciled (an earlier attempt whose later read failed, or
        // the live stream) or taken as booked by a revived order's count, also from that time on:
        // each matches once. The list does not answer an older one again, and counted, its note
        // took a later fill alike for itself.
        const unidentified = new Map(opts.journaledUnidentifiedFills?.[name] ?? []);
        for (const [key, n] of engine.orders.unidentifiedFills(name, since)) unidentified.set(key, (unidentified.get(key) ?? 0) + n);
        for (const t of trades) {
          if (t.kind !== 'fill') continue;
          // Without a trade id nothing tells this fill from the same one in the order's status
          // answer, which brought every fill beyond the journal's quantity: booked there, once.
          if (t.tradeId === undefined && answered.has(t.clientOrderId)) continue;
          // at any time from `since` on: a fill booked while the venue was not reconciled is
          // later than the watermark (journal/store.ts, tradesWatermarks) and answered again
          if (t.tradeId === undefined) {
            // with no client id either: matched by what the trade says (a fill adopted under a
            // made-up id, or ours reported without its order's client id); two alike trades are
            // two: each journaled fill matches once
            const key = hasClientId(t) ? unidentifiedFillKey(t) : adoptedFillKey(t);
            const n = unidentified.get(key) ?? 0;
            if (n > 0) {
              unidentified.set(key, n - 1);
              continue;
            }
          }
          // booked, whether its order is held or not: one brought back from the journal's count
          // (step 1b, reviveJournaled) does not know its trade ids
          if (isBookedTrade(opts.journaledTrades?.[name], t) || isBookedTrade(engine.orders.countedTrades(name), t)) continue;
          // booked in its turn (bookFill): a fill of a held order applies once, by trade id; one of
          // an order the journal never saw is a mismatch, adopted if it is a valid fill
          const fill: PendingFill = { report: t, added: 0 };
          pending.push(fill);
          afterBooking.push(() => {
            if (fill.added !== 0 && !fill.adopted) recovered({ exchange: name, kind: 'fill_while_down', clientOrderId: t.clientOrderId, symbol: t.symbol, detail: `trade ${t.tradeId ?? '?'} of ${t.clientOrderId} was not in the journal: applied (${t.lastQty} lots at ${t.lastPrice} ticks, fee ${t.feeAtoms} atoms)` });
          });
        }
      }
      book();
      // 3. Positions.
      if (x.positions) {
        const venue = await ask(x.positions(v.symbols));
        for (const p of venue) {
          const ours = engine.portfolio.qty(name, p.symbol);
          if (ours === p.qty) continue;
          const i = engine.instrument(name, p.symbol);
          const fmt = (q: number) => (i ? lotsToQty(i, q) : `${q} lots`);
          mismatch({ exchange: name, kind: 'position', symbol: p.symbol, detail: `journal position ${fmt(ours)}, venue position ${fmt(p.qty)}` }, `unexplained ${p.qty - ours} lots`);
        }
      }
      // 4. Balances of the traded assets.
      if (x.balances) stats.balances = checkBalances(engine, name, v.symbols, await ask(x.balances()), mismatch, logger);
      run.reconciled.push(name);
    } catch (err) {
      // what the venue answered before the failure or stop is its own word: booked all the same
      book();
      if (err === STOPPED) {
        // what this venue booked before the stop stays booked (its fills are the venue's own
        // word); the rest is asked again at the next start
        logger.info({ exchange: name }, `reconciliation of ${name} ended by the stop: not completed, nothing recorded for what it was waiting on`);
        break;
      }
      // The mismatch's detail is shown on /status and journaled, neither of which the log
      // redactor sees: a venue's error may carry a proxy URL with its password, or (htx's
      // AccessKeyId) the API key in the request's query string.
      const error = (opts.redact ?? redactUrlCredentials)(String((err as Error)?.message ?? err));
      run.unreachable.set(name, error);
      if (opts.retry) logger.warn({ exchange: name }, `reconcile ${name}: still could not complete: ${error}`);
      else mismatch({ exchange: name, kind: 'venue_unreachable', detail: `reconciliation could not complete: ${error}` });
    }
    stats.mismatches = result.mismatches.length - before;
    stats.fillsApplied = engine.fillCount - fillsBefore;
    result.venues.push(stats);
    if (stats.ordersChecked > 0 || stats.mismatches > 0 || stats.fillsApplied > 0) {
      logger.info({ reconcile: stats }, `reconciled ${name}: ${stats.ordersChecked} order(s) checked, ${stats.fillsApplied} fill(s) applied, ${stats.closed} closed, ${stats.mismatches} mismatch(es)`);
    }
  }
  // Mismatches found before a stop are findings like any other and latch: some are not found
  // again at the next start (a trade adopted now is booked then, a balance baseline moved on).
  // The stop itself added none (see ask). Findings reported by an earlier attempt are not here
  // (mismatch): an operator who resumed after them is not overruled by finding them again.
  if (result.mismatches.length > 0 && opts.onMismatch === 'halt') {
    record('*', 'halted', `${result.mismatches.length} mismatch(es); [reconcile] on_mismatch = "halt"`);
    engine.riskState.set('HALTED', `reconciliation found ${result.mismatches.length} mismatch(es) with the venues ([reconcile] on_mismatch = "halt"); inspect /status, then \`cwts-ultra risk resume\``, engine.now, 'reconcile');
  }
  result.at = new Date().toISOString();
  return run;
}

/**
 * The balance check. A venue's balances include money the journal never saw (deposits, other
 * assets, the starting balance), so absolute amounts cannot be compared; what can is the change:
 * for every asset of the venue's instruments (base and quote), the venue's balance now must
 * equal its balance at the last reconciliation plus what the journal's fills moved since (the
 * cash ledger now minus the ledger then). Steps 1 and 2 ran first, so fills made while the
 * process was down are already booked. Tolerance: one unit of the last decimal the venue
 * reports, plus, for a quote asset, one quote atom (10^-(price exp + qty exp)) per fill booked
 * since, because a fee is booked in whole quote atoms, rounded up (Binance charges 8 decimals on
 * a 7-decimal notional). Anything beyond is a `balance` mismatch (a deposit or withdrawal, a
 * trade outside this process, a fee charged in another asset). Either policy then takes the venue's balances as the
 * new baseline (a mismatch is reported once, not at every restart); "halt" also halts. The first
 * reconciliation with a venue only records the baseline.
 */
function checkBalances(engine: ReconcileEnginePort, exchange: string, symbols: readonly string[], venue: readonly VenueBalance[], mismatch: Report, logger: Logger): { compared: string[] } | { skipped: string } {
  const assets = new Set<string>();
  /** Per quote asset, its largest atom across the venue's instruments (x 10^-18). */
  const quoteAtom = new Map<string, bigint>();
  for (const s of symbols) {
    const i = engine.instrument(exchange, s);
    if (!i) continue;
    assets.add(i.base).add(i.quote);
    const atom = 10n ** BigInt(Math.max(0, COMMON_EXPONENT - notionalExponent(i)));
    if (atom > (quoteAtom.get(i.quote) ?? 0n)) quoteAtom.set(i.quote, atom);
  }
  const fills = engine.fillsBooked.get(exchange) ?? 0;
  const next: BalanceBaseline = { venue: {}, ledger: {}, fills, ts: engine.now };
  for (const a of assets) {
    const ledger = engine.cashBalance(exchange, a);
    if (ledger === undefined) return { skipped: 'no cash ledger (no risk layer)' };
    next.ledger[a] = formatScaled(ledger, COMMON_EXPONENT);
    next.venue[a] = venue.find((b) => b.asset === a)?.total ?? '0';
  }
  const before = engine.persisted.get<BalanceBaseline>(BALANCE_BASELINE_SCOPE, exchange);
  engine.persisted.set(BALANCE_BASELINE_SCOPE, exchange, next);
  if (!before) {
    logger.info({ exchange, balances: next.venue }, `reconcile ${exchange}: first balance check, baseline recorded (${Object.entries(next.venue).map(([a, v]) => `${a} ${v}`).join(', ')})`);
    return { skipped: 'baseline recorded' };
  }
  const compared: string[] = [];
  for (const a of assets) {
    if (before.venue[a] === undefined || before.ledger[a] === undefined) continue;
    compared.push(a);
    const moved = amountToCommon(next.ledger[a]!) - amountToCommon(before.ledger[a]!);
    const expected = amountToCommon(before.venue[a]!) + moved;
    const actual = amountToCommon(next.venue[a]!);
    const diff = actual - expected;
    const decimals = next.venue[a]!.includes('.') ? next.venue[a]!.split('.')[1]!.length : 0;
    const unit = 10n ** BigInt(Math.max(0, COMMON_EXPONENT - decimals));
    const tolerance = unit + BigInt(Math.max(0, fills - (before.fills ?? 0))) * (quoteAtom.get(a) ?? 0n);
    if (diff < tolerance && -diff < tolerance) continue;
    const fmt = (v: bigint) => formatScaled(v, COMMON_EXPONENT);
    mismatch({
      exchange,
      kind: 'balance',
      detail: `${a}: venue balance ${next.venue[a]}, journal expects ${fmt(expected)} (venue ${before.venue[a]} at ${new Date(before.ts).toISOString()}, ${moved >= 0n ? '+' : ''}${fmt(moved)} from journaled fills since): ${diff > 0n ? '+' : ''}${fmt(diff)} unexplained`,
    });
  }
  return { compared };
}

/** A fill read from the venue during reconciliation, waiting to be booked. */
interface PendingFill {
  report: ExecutionReport;
  /** Lots it added to its order when booked (0: already booked, or refused). */
  added: number;
  /** Booked onto an order adopted for it (its order was not held). */
  adopted?: boolean;
  /** A fill without a trade id booked for its lots beyond a revived order's count: the whole fill (a retry's trade list answers that). */
  whole?: CountedFill;
}

/**
 * Venue time, then trade id where both are decimal numbers (Binance, Bybit and the sim number
 * trades in the order they happen, and many share a millisecond); otherwise the order read
 * (ids such as Coinbase's UUIDs say nothing about order). Never throws on a malformed report:
 * the engine refuses that one alone when its turn comes.
 */
function venueOrder(a: PendingFill, b: PendingFill): number {
  const ta = typeof a.report.ts === 'number' && Number.isFinite(a.report.ts) ? a.report.ts : Infinity;
  const tb = typeof b.report.ts === 'number' && Number.isFinite(b.report.ts) ? b.report.ts : Infinity;
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ia: unknown = a.report.tradeId;
  const ib: unknown = b.report.tradeId;
  if (typeof ia !== 'string' || typeof ib !== 'string' || !DECIMAL_ID.test(ia) || !DECIMAL_ID.test(ib)) return 0;
  const x = ia.replace(LEADING_ZEROS, '');
  const y = ib.replace(LEADING_ZEROS, '');
  return x.length !== y.length ? x.length - y.length : x < y ? -1 : x > y ? 1 : 0;
}
const DECIMAL_ID = /^\d{1,64}$/;
const LEADING_ZEROS = /^0+(?=\d)/;

/**
 * Books reconciliation's fills in the venue's order (a stable sort: fills the venue gives no
 * order for stay in the order read). Positions are first-in first-out, so realized PnL depends
 * on that order; the same trade read twice (an order's answer and the trade list) is booked
 * once, by trade id. Fills booked live before the restart stay where they are: one the live
 * stream missed and this books later than a newer one moves realized PnL between lots (docs/journal.md).
 */
function bookInVenueOrder(pending: PendingFill[], bookFill: (p: PendingFill) => void): void {
  pending.sort(venueOrder);
  for (const p of pending) bookFill(p);
}

/** What a venue's order status answer brings: the journal's fill quantity when it came, and its fills to book. */
interface StatusAnswer {
  /** The order's filled quantity in the journal when the answer came. */
  before: number;
  /** Its fills to book: all with a trade id (booked once by it), those without only beyond what the journal had. */
  fills: PendingFill[];
  /** Of those, the ones with a trade id the order had not booked when the answer came. */
  fresh: PendingFill[];
  /** Fills with a trade id taken as booked by the journal's count alone (revivedStatusFills): not booked by step 2 either. */
  counted?: ExecutionReport[];
  /** Fills without a trade id taken as booked by the journal's count alone, whole (revivedStatusFills). */
  countedUnidentified?: CountedFill[];
}

/** A fill without a trade id of an answer, whole, and which of its equal fills (order, price, quantity, venue time) it is there. */
interface CountedFill {
  report: ExecutionReport;
  occurrence: number;
}

/**
 * `byQuantity`: the order was brought back from the journal's count (reviveJournaled), so its
 * entry does not know its trade ids; `booked` (journaledTrades) knows those the journal has from
 * the trades watermark on, and this run's bookings while the venue was not reconciled.
 */
function statusFills(engine: ReconcileEnginePort, o: Order, st: OrderStatusReport, byQuantity = false, booked?: ReadonlySet<string>): StatusAnswer {
  if (byQuantity) return revivedStatusFills(engine, o, st, booked);
  const before = o.filledQty;
  const answer: StatusAnswer = { before, fills: [], fresh: [] };
  let venueCum = 0;
  for (const f of st.fills) {
    if (f.kind !== 'fill') continue;
    venueCum += f.lastQty;
    // Without a trade id a fill cannot be de-duplicated: only quantity beyond what the journal has is new.
    if (f.tradeId === undefined && venueCum <= before) continue;
    const fill: PendingFill = { report: { ...f, clientOrderId: o.clientOrderId }, added: 0 };
    answer.fills.push(fill);
    if (typeof f.tradeId === 'string' && !engine.orders.hasTrade(o.clientOrderId, f.tradeId)) answer.fresh.push(fill);
  }
  return answer;
}

/**
 * The fills of an answer about an order brought back from the journal's count (statusFills,
 * `byQuantity`). A fill whose trade id is known as booked (on the order's entry, or in `booked`)
 * is left out, and when it was booked on this order its lots are taken off the count. The rest
 * of the count is matched by quantity: the venue's fills in its order are taken as booked while
 * their running total is within it. Matched by quantity alone, a journal that missed an earlier
 * fill and booked a later one skipped the earlier and booked the later a second time.
 * A fill that straddles the count is booked only for its lots beyond it, with their share of its
 * fee: fee x lots / its lots, truncated toward zero (bigint division), so the fee booked is never
 * more than the fill's, by less than one atom; booked whole, its lots within the count were
 * booked twice, with their fee.
 */
function revivedStatusFills(engine: ReconcileEnginePort, o: Order, st: OrderStatusReport, booked: ReadonlySet<string> | undefined): StatusAnswer {
  const before = o.filledQty;
  const answer: StatusAnswer = { before, fills: [], fresh: [] };
  const id = o.clientOrderId;
  /** undefined: not known as booked; true: booked on this order; false: booked on another (a trade answered without its client id, adopted). */
  const knownOn = (f: ExecutionReport): boolean | undefined => {
    if (typeof f.tradeId !== 'string') return undefined;
    if (engine.orders.hasTrade(id, f.tradeId)) return true;
    if (booked === undefined) return undefined;
    const [own, bySide] = bookedTradeKeys({ clientOrderId: id, symbol: f.symbol, side: f.side, tradeId: f.tradeId });
    return booked.has(own!) ? true : bySide !== undefined && booked.has(bySide) ? false : undefined;
  };
  // the lots of the count not accounted for by a trade id
  let count = before;
  for (const f of st.fills) if (f.kind === 'fill' && Number.isSafeInteger(f.lastQty) && f.lastQty > 0 && knownOn(f) === true) count -= f.lastQty;
  if (count < 0) count = 0;
  let venueCum = 0;
  const seen = new Map<string, number>();
  for (const f of st.fills) {
    if (f.kind !== 'fill' || knownOn(f) !== undefined) continue;
    let report: ExecutionReport = { ...f, clientOrderId: id };
    let whole: CountedFill | undefined;
    if (f.tradeId === undefined) {
      const k = `${unidentifiedFillKey(report)}\u0000${f.ts}`;
      const occurrence = seen.get(k) ?? 0;
      seen.set(k, occurrence + 1);
      whole = { report, occurrence };
    }
    // a malformed quantity is passed on whole, for the engine to refuse; counted, a NaN made
    // every later fill look beyond the count, and the journal's were booked again
    if (Number.isSafeInteger(f.lastQty) && f.lastQty > 0) {
      const prev = venueCum;
      venueCum += f.lastQty;
      if (venueCum <= count) {
        if (typeof f.tradeId === 'string') (answer.counted ??= []).push(report);
        else if (whole !== undefined) (answer.countedUnidentified ??= []).push(whole);
        continue;
      }
      // straddles the count: its lots beyond it
      if (prev < count && typeof f.feeAtoms === 'bigint') {
        const lots = venueCum - count;
        report = { ...report, lastQty: lots, feeAtoms: (f.feeAtoms * BigInt(lots)) / BigInt(f.lastQty) };
      } else whole = undefined;
    } else whole = undefined;
    const fill: PendingFill = whole !== undefined ? { report, added: 0, whole } : { report, added: 0 };
    answer.fills.push(fill);
    if (typeof f.tradeId === 'string') answer.fresh.push(fill);
  }
  return answer;
}

/**
 * After the fills are booked: what the answer recovered, then a fill-quantity check of the
 * answer itself: the journal's quantity when it came plus its fills booked since (by this, or by
 * the live stream while reconciliation read on) against the venue's count. Fills after the
 * answer (read in step 2, or live) are not in the venue's count and not in this sum.
 */
function checkStatus(engine: ReconcileEnginePort, o: Order, st: OrderStatusReport, answer: StatusAnswer, mismatch: Report, recovered: (m: ReconcileMismatch) => void): void {
  const added = answer.fills.reduce((n, f) => n + f.added, 0);
  if (added > 0) {
    recovered({ exchange: o.exchange, kind: 'fill_while_down', clientOrderId: o.clientOrderId, symbol: o.symbol, detail: `filled ${added} lot(s) while down: applied with their fees` });
  }
  let covered = answer.before;
  for (const f of answer.fills) {
    const t = f.report.tradeId;
    if (f.added > 0) covered += f.added;
    else if (answer.fresh.includes(f) && t !== undefined && engine.orders.hasTrade(o.clientOrderId, t)) covered += f.report.lastQty;
  }
  if (st.filledQty !== covered) {
    mismatch({ exchange: o.exchange, kind: 'status', clientOrderId: o.clientOrderId, symbol: o.symbol, detail: `venue says ${st.filledQty} lots filled, journal ${covered} after applying the venue's fills` }, `unexplained ${st.filledQty - covered} lots`);
  }
  if (st.venueOrderId) o.venueOrderId = st.venueOrderId;
}

/**
 * An order working at the venue that the journal never saw: booked as open with nothing filled
 * (its fills come from the venue's answer about it, and through step 2, once each, by trade id).
 * Returns the order as held.
 */
function adoptOrder(engine: ReconcileEnginePort, vo: Order): Order {
  // The venue's times as listed, where they are times: an order record without one cannot be
  // stored (created_ts NOT NULL: set aside, and the order adopted again at every start, its fills
  // booked again each time), and one of 0 (ccxt without a timestamp) is not when it was placed.
  // Marked adopted (ADOPTED_TRADE_SOURCE, whatever the listing says): the journal's start is not
  // taken from its creation time (journal/store.ts, loadContents).
  const createdTs = isTime(vo.createdTs) ? vo.createdTs : engine.now;
  const updatedTs = isTime(vo.updatedTs) ? vo.updatedTs : createdTs;
  // Without a time of the venue's, that createdTs is a host's time: journaled as such
  // (LISTED_WITHOUT_TIME), so the next start does not take it for when the order was placed.
  const untimed = !isTime(vo.createdTs) || listedWithoutTime(vo);
  const order: Order = { ...vo, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, source: ADOPTED_TRADE_SOURCE, createdTs, updatedTs, ...(untimed ? { reason: LISTED_WITHOUT_TIME } : {}) };
  engine.journal({ t: 'order', order: { ...order }, ts: engine.now });
  engine.orders.restore({ ...order, status: 'open' });
  // journaled now: once it has left memory, a later attempt checks a trade of it against it
  engine.orders.noteJournaled(order);
  return engine.orders.get(order.clientOrderId)!;
}

/**
 * Journals an order reopen() opened again, as the record its open path journals: an `ack` report
 * with the order's state after it, marked REOPENED_TEXT (the restore replays it as a reopen,
 * engine/rebuild.ts). Only in memory, the next start had it closed again: it was found again
 * (listed) or, filled meanwhile, its fills came to an order the journal called closed. Its
 * quantity goes with it (cumQty + leavesQty): one adopted from a venue trade takes the listing's.
 */
function journalReopen(engine: ReconcileEnginePort, o: Order): void {
  const report: ExecutionReport = {
    kind: 'ack',
    exchange: o.exchange,
    symbol: o.symbol,
    clientOrderId: o.clientOrderId,
    ...(o.venueOrderId !== undefined ? { venueOrderId: o.venueOrderId } : {}),
    side: o.side,
    lastPrice: 0,
    lastQty: 0,
    leavesQty: Math.max(0, o.qty - o.filledQty),
    cumQty: o.filledQty,
    feeAtoms: 0n,
    text: REOPENED_TEXT,
    ts: engine.now,
  };
  const order = { status: o.status, filledQty: o.filledQty, feeAtoms: o.feeAtoms, venueOrderId: o.venueOrderId, symbol: o.symbol };
  engine.journal({ t: 'report', report, order, feeAsset: engine.instrument(o.exchange, o.symbol)?.quote ?? '', ts: engine.now });
}

/** A time a venue gives that is one: a finite number of ms after 1970. */
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** Why a fill of a held order will not be booked, as the live engine would refuse it (undefined: it books). */
function heldFillProblem(t: ExecutionReport, o: Order): string | undefined {
  const problem = reportProblem(t, o);
  if (problem !== undefined) return problem.detail;
  if (t.lastQty > o.qty - o.filledQty && !isTradeAdopted(o)) return `a fill of ${t.lastQty} lots past its quantity (${o.filledQty + t.lastQty} lots)`;
  return undefined;
}

/** Why a fill of a journaled order that has left memory cannot be booked onto it: the live engine's checks, against what the journal has. */
function journaledFillProblem(t: ExecutionReport, j: JournaledOrder, exchange: string): string | undefined {
  const bad = fillProblem(t);
  if (bad !== undefined) return bad.detail;
  if (j.exchange !== exchange || t.symbol !== j.symbol) return `the trade names ${String(t.exchange)} ${String(t.symbol)}, the order is on ${j.exchange} ${j.symbol}`;
  if (t.side !== j.side) return `a ${String(t.side)} fill of a ${j.side} order`;
  if (t.lastQty > j.qty - j.filledQty && !j.tradeAdopted) return `a fill of ${t.lastQty} lots past its quantity (${j.filledQty + t.lastQty} lots)`;
  return undefined;
}

/** How adoptTrade names orders without a client id or trade id in one pass: a counter. */
interface AdoptedIds {
  next: number;
}

/**
 * The id of the order a trade of an unknown order is booked onto when the venue gives no client
 * id: its venue, symbol, side and trade id, which no other fill shares (the two sides of a
 * self-trade differ by side, equal per-symbol trade ids by symbol), so the same trade answered
 * again after a restart names the same order. Without a trade id nothing names it for good: the
 * venue order id where there is one, the time and a counter of the pass, past any id held. Named
 * `adopted-<venue>-<trade id>` as before, one self-trade's sides (and two id-less trades in one
 * pass) got one order: the second was refused as a fill on the wrong side, after it was counted
 * and journaled as adopted.
 */
function adoptedId(engine: ReconcileEnginePort, t: ExecutionReport, ids: AdoptedIds): string {
  const base = `adopted-${t.exchange}-${t.symbol}-${t.side}`;
  if (typeof t.tradeId === 'string') return `${base}-${t.tradeId}`;
  const of = typeof t.venueOrderId === 'string' ? `-o${t.venueOrderId}` : '';
  let id: string;
  do id = `${base}${of}-${engine.now}-${++ids.next}`;
  while (engine.orders.get(id) !== undefined);
  return id;
}

/** What adoptTrade did: booked onto `id`, already booked there, or refused (nothing booked or journaled). */
type Adoption = { kind: 'booked'; id: string } | { kind: 'duplicate'; id: string } | { kind: 'refused'; id: string; detail: string };

/**
 * A fill of an order the journal never saw (its record lost, or placed outside this process):
 * booked as an order of its own so the position matches the venue and replays after a restart.
 * The venue's client id names that order where it gives one (a second trade of it books onto
 * the same order), else adoptedId. What the order manager would refuse (a fill on another side
 * or instrument than an order held under the id) is found before anything is journaled.
 */
function adoptTrade(engine: ReconcileEnginePort, t: ExecutionReport, ids: AdoptedIds): Adoption {
  const id = hasClientId(t) ? t.clientOrderId : adoptedId(engine, t, ids);
  const report: ExecutionReport = { ...t, clientOrderId: id };
  const held = engine.orders.get(id);
  // an id the journal holds is never an order it never saw (its first record of the id stands)
  if (held === undefined && engine.orders.journaledOrder(id) !== undefined) return { kind: 'refused', id, detail: `order ${id} is in the journal: not adopted as a new order` };
  if (held !== undefined && typeof t.tradeId === 'string' && engine.orders.hasTrade(id, t.tradeId)) return { kind: 'duplicate', id };
  const order: Order = held ?? {
    exchange: t.exchange,
    symbol: t.symbol,
    side: t.side,
    type: 'limit',
    price: t.lastPrice,
    qty: t.lastQty,
    tif: 'GTC',
    // its quantity grows with each further trade of it (isTradeAdopted): the trade does not say the venue order's
    source: ADOPTED_TRADE_SOURCE,
    reason: `${ADOPTED_TRADE_REASON}${t.tradeId ?? '?'}`,
    clientOrderId: id,
    venueOrderId: t.venueOrderId,
    status: 'open',
    filledQty: 0,
    filledNotionalTicksLots: 0n,
    feeAtoms: 0n,
    createdTs: t.ts,
    updatedTs: t.ts,
  };
  const problem = reportProblem(report, order);
  if (problem !== undefined) return { kind: 'refused', id, detail: held !== undefined ? `order ${id}, held: ${problem.detail}` : problem.detail };
  if (held === undefined) {
    engine.orders.restore(order);
    engine.journal({ t: 'order', order: { ...order, status: 'pending_new' }, ts: engine.now });
    engine.orders.noteJournaled(order);
  }
  const booked = engine.orders.get(id)!;
  const before = booked.filledQty;
  engine.onExecutionReport(report);
  // the engine's own word on it: a refusal found only there is not counted as adopted
  if (booked.filledQty === before) return { kind: 'refused', id, detail: `the engine did not book it onto order ${id}` };
  return { kind: 'booked', id };
}
