import { isWellFormedString, type ExecutionReport, type Order, type OrderIntent, type OrderStatus } from '../domain/orders.js';
import { describeValue } from '../domain/describe-value.js';
import { InstrumentMap } from '../domain/instrument-map.js';
import { KeyRing } from '../domain/key-ring.js';
import { CLIENT_ID_PREFIX, clientIdNumber } from '../domain/client-id.js';
import { MAX_DECIMAL_DIGITS } from '../journal/record-body.js';
import { LISTED_WITHOUT_TIME, listedWithoutTime } from '../contracts/listed-time.js';

const TERMINAL: ReadonlySet<OrderStatus> = new Set(['filled', 'cancelled', 'rejected']);

export type ReportOutcome =
  /**
   * `ackSentAt`: for an order's first report, when it was handed to its venue (performance.now()
   * ms; NaN when the venue answered inside submit()); -1 for every later report (or an order not
   * submitted in this run). The engine observes the ack latency from it.
   */
  | { kind: 'applied'; order: Order; fill: boolean; ackSentAt: number }
  | { kind: 'duplicate'; order: Order }
  /** A report the engine cannot book (reportProblem): nothing of it was applied. */
  | { kind: 'invalid'; order: Order; reason: InvalidReportReason; detail: string }
  | { kind: 'unknown' };

/** Why a report about a known order was not applied (`cwts_execution_reports_invalid_total{reason}`). */
export type InvalidReportReason = 'wrong_instrument' | 'fill_qty' | 'fill_price' | 'fill_fee' | 'fill_side' | 'kind' | 'id' | 'field';

const REPORT_KINDS: ReadonlySet<string> = new Set(['ack', 'fill', 'cancelled', 'expired', 'rejected']);

/**
 * What makes a report about `order` impossible to book, or undefined: it names another
 * instrument, or a fill that is not a positive whole number of lots at a positive whole number of
 * ticks, with a bigint fee, on the order's side, or ids that are not well-formed strings, or a
 * field the journal could not keep as it is (fieldProblem). Adapters check what venues send;
 * this is the engine's own check, for an adapter that did not (a third-party plugin, a bug).
 */
export function reportProblem(r: ExecutionReport, order: Order): { reason: InvalidReportReason; detail: string } | undefined {
  if (r.exchange !== order.exchange || r.symbol !== order.symbol) return { reason: 'wrong_instrument', detail: `the report names ${String(r.exchange)} ${String(r.symbol)}, the order is on ${order.exchange} ${order.symbol}` };
  if (!REPORT_KINDS.has(r.kind)) return { reason: 'kind', detail: `unknown report kind ${describeValue(r.kind)}` };
  if (r.kind !== 'fill') return isReopenMark(r) ? REOPEN_MARK_PROBLEM : (idProblem(r) ?? fieldProblem(r));
  const fill = fillProblem(r);
  if (fill !== undefined) return fill;
  if (r.side !== order.side) return { reason: 'fill_side', detail: `a ${String(r.side)} fill of a ${order.side} order` };
  return undefined;
}

/**
 * The text of the record reconciliation journals when it opens an order again (reconcile.ts, step
 * 1b: the venue lists as working an order closed here): an `ack` report, the record an order's
 * open path journals, with this text. The restore replays it as OrderManager.reopen
 * (engine/rebuild.ts); applied as an ack it left the order closed (a terminal state never goes
 * back), so the next start had forgotten the reopen, and a fill of the order then came to one the
 * journal called closed.
 */
export const REOPENED_TEXT = 'reopened by reconciliation: the venue lists the order as working';

/** Whether a report is reconciliation's reopen record (REOPENED_TEXT). */
export function isReopenMark(r: Pick<ExecutionReport, 'kind' | 'text'>): boolean {
  return r.kind === 'ack' && r.text === REOPENED_TEXT;
}

/**
 * A venue report that reads as the reopen record is refused: the engine journals the reports it
 * applies as they came, and a restart replayed such an ack as a reopen of an order the venue had
 * closed.
 */
const REOPEN_MARK_PROBLEM: { reason: InvalidReportReason; detail: string } = { reason: 'field', detail: `text ${JSON.stringify(REOPENED_TEXT)} is the journal's reopen record, which no venue report carries` };

/** What makes a fill impossible to book on its own terms: not positive whole lots at positive whole ticks, a fee that is not a bigint, no side, ids that are not well-formed strings, a field the journal could not keep. */
export function fillProblem(r: ExecutionReport): { reason: InvalidReportReason; detail: string } | undefined {
  const ids = idProblem(r);
  if (ids !== undefined) return ids;
  if (!(Number.isSafeInteger(r.lastQty) && r.lastQty > 0)) return { reason: 'fill_qty', detail: `fill quantity ${String(r.lastQty)} lots is not a positive whole number` };
  if (!(Number.isSafeInteger(r.lastPrice) && r.lastPrice > 0)) return { reason: 'fill_price', detail: `fill price ${String(r.lastPrice)} ticks is not a positive whole number` };
  if (typeof r.feeAtoms !== 'bigint') return { reason: 'fill_fee', detail: `fee ${String(r.feeAtoms)} is not a bigint of quote atoms` };
  if (feeTooLong(r.feeAtoms)) return feeTooLongProblem();
  if (r.side !== 'buy' && r.side !== 'sell') return { reason: 'fill_side', detail: `side ${describeValue(r.side)} is neither buy nor sell` };
  return fieldProblem(r);
}

/**
 * A field of a report (any kind) that the journal could not keep as it is, or that a restart
 * could not read back (journal/record-body.ts decodes exactly this): a side other than buy or
 * sell, a venue time that is not a finite number, a quantity that is neither a finite number nor
 * absent (an adapter may leave out leavesQty and cumQty: nothing is booked from them), a fee that
 * is neither a bigint nor absent, a liquidity other than maker or taker, what a rejection
 * refuses other than order or request, a reject reason that is not a string of 1 to 200
 * characters, a text or fee asset that is not a string. Such a report was applied and then
 * failed the journal writer's whole batch at every retry (a fee of 0 for 0n, a missing venue
 * time), or was stored and refused as damaged at the next start (liquidity "Maker"), which left
 * the fill out of the restored position and started HALTED (docs/journal.md, "Records the
 * writer cannot store").
 */
function fieldProblem(r: ExecutionReport): { reason: InvalidReportReason; detail: string } | undefined {
  if (r.side !== 'buy' && r.side !== 'sell') return field(`side ${describeValue(r.side)} is neither buy nor sell`);
  if (!Number.isFinite(r.ts)) return field(`venue time ${describeValue(r.ts)} is not a finite number`);
  if (notFiniteOrAbsent(r.lastPrice)) return field(`lastPrice ${describeValue(r.lastPrice)} is not a finite number`);
  if (notFiniteOrAbsent(r.lastQty)) return field(`lastQty ${describeValue(r.lastQty)} is not a finite number`);
  if (notFiniteOrAbsent(r.leavesQty)) return field(`leavesQty ${describeValue(r.leavesQty)} is not a finite number`);
  if (notFiniteOrAbsent(r.cumQty)) return field(`cumQty ${describeValue(r.cumQty)} is not a finite number`);
  if (r.feeAtoms !== undefined && typeof r.feeAtoms !== 'bigint') return { reason: 'fill_fee', detail: `fee ${describeValue(r.feeAtoms)} is not a bigint of quote atoms` };
  if (r.feeAtoms !== undefined && feeTooLong(r.feeAtoms)) return feeTooLongProblem();
  if (r.liquidity !== undefined && r.liquidity !== 'maker' && r.liquidity !== 'taker') return field(`liquidity ${describeValue(r.liquidity)} is neither maker nor taker`);
  if (r.rejects !== undefined && r.rejects !== 'order' && r.rejects !== 'request') return field(`rejects ${describeValue(r.rejects)} is neither order nor request`);
  if (r.rejectReason !== undefined && !(typeof r.rejectReason === 'string' && r.rejectReason.length >= 1 && r.rejectReason.length <= MAX_REJECT_REASON)) return field(`reject reason ${describeValue(r.rejectReason)} is not a string of 1 to ${MAX_REJECT_REASON} characters`);
  if (r.text !== undefined && typeof r.text !== 'string') return field(`text ${describeValue(r.text)} is not a string`);
  if (r.feeAsset !== undefined && typeof r.feeAsset !== 'string') return field(`fee asset ${describeValue(r.feeAsset)} is not a string`);
  return undefined;
}

/**
 * Fees whose decimal text (sign included) is longer than a restart reads back: a fee of 10^400
 * atoms is no venue's, and booked live it would be refused as damaged at the next start. Two
 * bigint comparisons, not a toString() of every fee.
 */
const FEE_ABOVE = 10n ** BigInt(MAX_DECIMAL_DIGITS);
const FEE_BELOW = -(10n ** BigInt(MAX_DECIMAL_DIGITS - 1));

function feeTooLong(fee: bigint): boolean {
  return fee >= FEE_ABOVE || fee <= FEE_BELOW;
}

function feeTooLongProblem(): { reason: InvalidReportReason; detail: string } {
  return { reason: 'fill_fee', detail: `fee has more than ${MAX_DECIMAL_DIGITS} digits: no venue's fee, and the journal could not read it back` };
}

/** The longest reject reason a journaled report or order keeps (journal/record-body.ts, shortText). */
const MAX_REJECT_REASON = 200;

function notFiniteOrAbsent(v: unknown): boolean {
  return v !== undefined && !Number.isFinite(v);
}

function field(detail: string): { reason: InvalidReportReason; detail: string } {
  return { reason: 'field', detail };
}

/**
 * Ids the journal could not keep as they are: each is a string with no lone UTF-16 surrogate.
 * One that is not would be stored as U+FFFD, so two distinct trade ids would come back from a
 * restart as one, and the replay would drop the second fill as its duplicate.
 */
function idProblem(r: ExecutionReport): { reason: InvalidReportReason; detail: string } | undefined {
  // absent only on a venue's trade of an order it has no client id for (reconciliation names it)
  if (r.clientOrderId != null && !isWellFormedString(r.clientOrderId)) return { reason: 'id', detail: `client order id ${describeValue(r.clientOrderId)} is not a well-formed string` };
  if (r.venueOrderId !== undefined && !isWellFormedString(r.venueOrderId)) return { reason: 'id', detail: `venue order id ${describeValue(r.venueOrderId)} is not a well-formed string` };
  if (r.tradeId !== undefined && !isWellFormedString(r.tradeId)) return { reason: 'id', detail: `trade id ${describeValue(r.tradeId)} is not a well-formed string` };
  return undefined;
}

/**
 * What makes an order a venue lists as working impossible to adopt (reconciliation), or
 * undefined: not on this venue and a known instrument, a quantity that is not positive whole
 * lots, a limit price that is not positive whole ticks, no side, no client id.
 */
export function venueOrderProblem(o: Order, exchange: string, known: (symbol: string) => boolean): string | undefined {
  if (o.exchange !== exchange || typeof o.symbol !== 'string' || !known(o.symbol)) return `on ${String(o.exchange)} ${String(o.symbol)}, not an instrument of ${exchange}`;
  if (typeof o.clientOrderId !== 'string' || o.clientOrderId.length === 0) return 'no client order id';
  if (!isWellFormedString(o.clientOrderId) || (o.venueOrderId !== undefined && !isWellFormedString(o.venueOrderId))) return 'an id that is not a well-formed string';
  if (o.side !== 'buy' && o.side !== 'sell') return `side ${describeValue(o.side)} is neither buy nor sell`;
  if (!(Number.isSafeInteger(o.qty) && o.qty > 0)) return `quantity ${String(o.qty)} lots is not a positive whole number`;
  if (o.price !== undefined && !(Number.isSafeInteger(o.price) && o.price > 0)) return `price ${String(o.price)} ticks is not a positive whole number`;
  // A missing time (undefined, NaN, 0: ccxt's for none) is not a problem: adoptOrder takes the
  // host's. One that is not a number at all is not a venue's listing.
  if (o.createdTs !== undefined && typeof o.createdTs !== 'number') return `creation time ${describeValue(o.createdTs)} is not a number`;
  if (o.updatedTs !== undefined && typeof o.updatedTs !== 'number') return `update time ${describeValue(o.updatedTs)} is not a number`;
  return undefined;
}

/**
 * Where client ids are reserved (the journal's, engine/rebuild.ts). `reserve` is the only one
 * required; with `reserveAhead` and `durableUpTo` the order path stops waiting for it.
 */
export interface ClientIdReserver {
  /** Reserves ids up to `upTo` durably before it returns (blocks the caller); throws when it cannot. */
  reserve(upTo: number): void;
  /** Asks for ids up to `upTo` to be reserved durably, without waiting; never throws (a lost request is made up by `reserve`). */
  reserveAhead?(upTo: number): void;
  /** The highest id reserved durably so far, as the journal last confirmed it: only ids up to it are issued without `reserve`. */
  durableUpTo?(): number;
  /**
   * Waits until what was asked for ahead is committed (or failed) and returns durableUpTo();
   * never throws (a reservation that did not become durable is made up by `reserve`).
   */
  awaitDurable?(): number;
}


/**
 * How long closed orders stay in memory (docs/journal.md, "Closed orders in memory"). A
 * long-running process must not keep every order and every fill's trade id for ever, and the
 * bound must hold whatever the order rate: a closed order is forgotten once it has been closed
 * for `closedMs` while more than `minClosed` closed orders are held, or at once when more than
 * `maxClosed` are held (oldest first). Open orders are never forgotten. A fill may arrive after
 * its order's cancel ack (most venues) and a polling venue reports seconds late: both fall well
 * inside the window at any order rate a venue's rate limits allow. A report for a forgotten
 * order is refused as one for an unknown order (never applied, so never applied twice); the
 * journal keeps the history.
 */
export interface ClosedOrderRetention {
  /** Closed orders kept whatever their age (a clock that jumps forward forgets no more than this). */
  minClosed: number;
  /** Closed orders older than this (clock ms since they closed) are forgotten, down to `minClosed`. */
  closedMs: number;
  /** Never more closed orders than this: the memory bound at any order rate. */
  maxClosed: number;
}

export const DEFAULT_CLOSED_ORDER_RETENTION: ClosedOrderRetention = { minClosed: 1_000, closedMs: 10 * 60_000, maxClosed: 20_000 };

/**
 * The order state machine. Venue reports can arrive late, twice or out of order (a fill after
 * a cancel ack is normal on most venues), so: fills are de-duplicated by trade id, a fill is
 * always applied even to a cancelled order (the venue's fill is the truth), and terminal states
 * never go back to working.
 */
export class OrderManager {
  /**
   * Every order known, by client id, with what is kept beside it. One map lookup per report:
   * three (the order, its closed mark, its trade ids) were most of this class's time, and a Set
   * of trade ids per order was most of its garbage (docs/performance.md, "The order manager's
   * one map").
   */
  private readonly entries = new Map<string, OrderEntry>();
  /** The entry create() made last: markSent() finds it without a lookup. */
  private lastCreated: OrderEntry | undefined;
  private readonly open = new InstrumentMap<OpenSet>();
  /** Open orders across every instrument: the sum of the sets' sizes, kept as they change. */
  private openTotal = 0;
  /** The array allOpen hands out, until the open orders change (addOpen, removeOpen); undefined: to be built. */
  private allOpenSnapshot: readonly Order[] | undefined = NO_ORDERS;
  /** Closed orders held, in the order they closed (oldest at `head`), with when (clock ms): what is forgotten first. */
  private readonly closedIds = new KeyRing<string>({ initial: 1024, timed: true });
  private lastNow = 0;
  private nextId = 1;
  /**
   * Ids up to here are durably reserved in the journal; issuing past it takes the reservation
   * the writer has made durable since, or reserves the next block first (blocking).
   */
  private reservedUpTo = Number.POSITIVE_INFINITY;
  /** The furthest reservation asked for (ahead of need, or blocking); at least reservedUpTo once reservations are used. */
  private requestedUpTo = Number.POSITIVE_INFINITY;
  /** Issuing past this id asks for the next block ahead of need (half a block before the furthest asked for runs out). */
  private aheadAt = Number.POSITIVE_INFINITY;
  private reserver: ClientIdReserver | undefined;

  constructor(
    private readonly idPrefix = CLIENT_ID_PREFIX,
    private readonly retention: ClosedOrderRetention = DEFAULT_CLOSED_ORDER_RETENTION,
  ) {}

  /**
   * Client ids come from a durable sequence: blocks of `block` ids are reserved in the journal
   * before use, so after a crash the sequence resumes above anything that may have reached a
   * venue, even an order whose own journal record was lost. With a reserver that can reserve
   * ahead (the journal's, rebuild.ts), the next block is asked for when half of the furthest one
   * asked for is issued, and committed by the journal's writer thread while orders go on: an
   * order waits for a reservation's commit only when the writer is half a block behind (docs/
   * journal.md, "Client ids reserved ahead"). A bare function reserves blocking, as needed.
   */
  useReservations(reservedUpTo: number, reserver: ClientIdReserver | ((upTo: number) => void), block = 1000): void {
    if (reservedUpTo >= this.nextId) this.nextId = reservedUpTo + 1;
    this.reservedUpTo = this.nextId - 1;
    this.requestedUpTo = this.reservedUpTo;
    this.reserver = typeof reserver === 'function' ? { reserve: reserver } : reserver;
    this.block = block;
    this.aheadAt = Number.POSITIVE_INFINITY;
    // The run's first block is asked for now, before any order needs it.
    if (this.reserver.reserveAhead) this.reserveAhead();
  }
  private block = 1000;

  /** Ids are needed past what is durably reserved: take what the writer made durable since, or wait. */
  private takeReservation(reserver: ClientIdReserver): void {
    if (this.useDurable(reserver.durableUpTo?.() ?? 0)) return;
    // A request that covers this id is with the writer: wait for it rather than for a second
    // fsync behind it. Not asking further ahead instead: the wait is mostly the writer's
    // backlog, and waiting for it at each block keeps that backlog (what a crash can lose) near
    // a block of orders, as the blocking reservation did (docs/performance.md, "The client id
    // reservation on the order path": doubling the request at each wait made waits rarer but
    // up to 1.5 s long).
    if (this.requestedUpTo >= this.nextId && reserver.awaitDurable && this.useDurable(reserver.awaitDurable())) return;
    // No reserving ahead, or the request ahead did not become durable (its commit failed):
    // reserve and wait for the commit. Reserved first, counted after: a reservation that throws
    // (the journal failed) issues no id above what is durable, and the next order tries again.
    const upTo = Math.max(this.requestedUpTo, this.nextId + this.block - 1);
    reserver.reserve(upTo);
    this.reservedUpTo = upTo;
    this.requestedUpTo = upTo;
    if (reserver.reserveAhead) this.aheadAt = upTo - (this.block >> 1);
  }

  /** Takes a durable reservation when it covers the next id. */
  private useDurable(durable: number): boolean {
    if (durable < this.nextId) return false;
    this.reservedUpTo = durable;
    if (durable > this.requestedUpTo) this.requestedUpTo = durable;
    return true;
  }

  /** Asks for the block after the furthest one asked for, without waiting. */
  private reserveAhead(): void {
    const upTo = Math.max(this.requestedUpTo, this.nextId - 1) + this.block;
    this.reserver!.reserveAhead!(upTo);
    this.requestedUpTo = upTo;
    this.aheadAt = upTo - (this.block >> 1);
  }

  /**
   * Whether a client order id is one this manager may have issued: `<prefix>-<n>` with n no more
   * than OWN_ID_HEADROOM above what it has issued or reserved. A larger n (typed by hand, another
   * program's, a venue's mangled echo) is not ours: adopting it would move the sequence there,
   * and past 2^53 every later order would get the same id.
   */
  ownsId(clientOrderId: string): boolean {
    return this.ownIdNumber(clientOrderId) !== undefined;
  }

  private ownIdNumber(clientOrderId: string): number | undefined {
    const n = clientIdNumber(clientOrderId, this.idPrefix);
    if (n === undefined) return undefined;
    const issued = Number.isFinite(this.reservedUpTo) ? Math.max(this.reservedUpTo, this.nextId - 1) : this.nextId - 1;
    return n <= issued + OWN_ID_HEADROOM ? n : undefined;
  }

  /** The next id number to be issued (status, tests). */
  get nextIdNumber(): number {
    return this.nextId;
  }

  /**
   * The ids create() issued in this run, as runs of consecutive numbers: [first, last, first,
   * last, ...]. A new run starts only where the sequence jumped (an adopted id of our form above
   * it, restore()), so it stays a few numbers (issuedHere).
   */
  private readonly issuedRuns: number[] = [];

  /**
   * Whether create() issued this id in this run: an order this process made (and journaled) that
   * a reconciliation retry may meet again once it has left memory. Such an id is never adopted
   * as an order the journal never saw (reconcile.ts, bookFill).
   */
  issuedHere(clientOrderId: unknown): boolean {
    const n = clientIdNumber(clientOrderId, this.idPrefix);
    // the one spelling issued: `cw-05` names no order of ours
    if (n === undefined || clientOrderId !== `${this.idPrefix}-${n}`) return false;
    const runs = this.issuedRuns;
    for (let k = 0; k < runs.length; k += 2) if (n >= runs[k]! && n <= runs[k + 1]!) return true;
    return false;
  }

  create(intent: OrderIntent, now: number): Order {
    if (this.nextId > this.reservedUpTo && this.reserver) this.takeReservation(this.reserver);
    if (this.nextId > this.aheadAt) this.reserveAhead();
    const n = this.nextId++;
    const runs = this.issuedRuns;
    if (runs.length > 0 && runs[runs.length - 1] === n - 1) runs[runs.length - 1] = n;
    else runs.push(n, n);
    // One literal of one shape: a spread of the intent and then more keys is a slow path in V8
    // (each key a dictionary store; 8% of the e2e bench's engine thread). An order carries the
    // intent's fields as OrderIntent defines them; an absent optional one is present as undefined.
    const order: Order = {
      exchange: intent.exchange,
      symbol: intent.symbol,
      side: intent.side,
      type: intent.type,
      price: intent.price,
      qty: intent.qty,
      tif: intent.tif,
      reduceOnly: intent.reduceOnly,
      source: intent.source,
      reason: intent.reason,
      clientOrderId: `${this.idPrefix}-${n}`,
      venueOrderId: undefined,
      status: 'pending_new',
      filledQty: 0,
      filledNotionalTicksLots: 0n,
      feeAtoms: 0n,
      createdTs: now,
      updatedTs: now,
      rejectReason: undefined,
      text: undefined,
    };
    this.lastNow = now;
    const e: OrderEntry = { order, closed: false, stale: 0, trades: undefined, sentAt: Number.NaN };
    this.entries.set(order.clientOrderId, e);
    this.lastCreated = e;
    this.addOpen(order);
    return order;
  }

  /** Restores an order (from the journal) without issuing a new id below it. */
  restore(order: Order): void {
    // a restored order replaces the one of its id; its closed mark and trade ids stay
    let e = this.entries.get(order.clientOrderId);
    if (e === undefined) this.entries.set(order.clientOrderId, (e = { order, closed: false, stale: 0, trades: undefined, sentAt: NOT_AWAITING }));
    else e.order = order;
    // only an id of ours moves the sequence (an adopted venue trade's `adopted-<venue>-<symbol>-<side>-<trade id>` does not)
    const n = this.ownIdNumber(order.clientOrderId);
    if (n !== undefined && n >= this.nextId) this.nextId = n + 1;
    if (!TERMINAL.has(order.status)) this.addOpen(order);
    else {
      this.removeOpen(order);
      this.closed(e, order.updatedTs);
    }
  }

  /** Closed orders held in memory (status, tests). */
  get closedCount(): number {
    return this.closedIds.size - this.staleClosed;
  }

  /** Places in `closedIds` of orders reopened since (OrderEntry.stale, summed). */
  private staleClosed = 0;

  /** Every order known (journal and this run), for reconciliation and status. */
  *all(): IterableIterator<Order> {
    for (const e of this.entries.values()) yield e.order;
  }

  get(clientOrderId: string): Order | undefined {
    return this.entries.get(clientOrderId)?.order;
  }

  /** Whether a fill with this trade id is booked on the order (false once the order is forgotten). */
  hasTrade(clientOrderId: string, tradeId: string): boolean {
    const t = this.entries.get(clientOrderId)?.trades;
    return t === undefined ? false : typeof t === 'string' ? t === tradeId : t.has(tradeId);
  }

  /**
   * Our open orders on one instrument. The array is shared until the set changes and is never
   * changed after it is returned (a change builds a new one), so a caller may keep it as a
   * snapshot; the pre-trade checks read it on every order without a copy.
   */
  openOrders(exchange: string, symbol: string): readonly Order[] {
    return this.open.get(exchange, symbol)?.array() ?? NO_ORDERS;
  }

  /**
   * Our open orders on every instrument. Like openOrders, the array is shared until an order
   * opens, closes or is replaced (never changed after it is returned: a change builds a new one),
   * so a caller may keep it as a snapshot: a HALT cancels what it held while orders close, and
   * the total-position check reads it on every order without a copy. A new array per call was
   * garbage on that hot path.
   */
  allOpen(): readonly Order[] {
    return (this.allOpenSnapshot ??= this.buildAllOpen());
  }

  private buildAllOpen(): readonly Order[] {
    if (this.openTotal === 0) return NO_ORDERS;
    const out: Order[] = [];
    // a loop, not push(...xs): a spread passes each order as an argument (V8 overflows past ~125k)
    for (const s of this.open.values()) for (const o of s.array()) out.push(o);
    return Object.freeze(out);
  }

  /** Adds (or replaces, under its id) an open order; every change to the open sets goes through here or removeOpen. */
  private addOpen(order: Order): void {
    if (this.openSet(order.exchange, order.symbol).add(order)) this.openTotal++;
    this.allOpenSnapshot = undefined;
  }

  /** Takes an order out of the open ones; true when it was there. */
  private removeOpen(o: Readonly<Order>): boolean {
    if (!this.open.get(o.exchange, o.symbol)?.delete(o.clientOrderId)) return false;
    this.openTotal--;
    this.allOpenSnapshot = undefined;
    return true;
  }

  openCount(): number {
    return this.openTotal;
  }

  /**
   * The order was handed to its venue at `t` (performance.now() ms), unless the venue answered
   * inside submit() (its first report came first: an ack in no time). Kept on the order's entry,
   * not in a map of its own: that was a second map insert and delete per order.
   */
  markSent(order: Order, t: number): void {
    const last = this.lastCreated;
    const e = last !== undefined && last.order === order ? last : this.entries.get(order.clientOrderId);
    if (e !== undefined && Number.isNaN(e.sentAt)) e.sentAt = t;
  }

  /**
   * `journaled`: the report is replayed from the journal (engine/rebuild.ts). The live engine
   * booked it, so a fill past the order's quantity is booked again: journals written before
   * overfills were refused hold such fills (an order adopted from a venue trade, booked onto its
   * first trade's quantity), and refusing them would restore a different position and halt at
   * every start.
   */
  apply(r: ExecutionReport, now: number, journaled = false): ReportOutcome {
    this.lastNow = now;
    const e = this.entries.get(r.clientOrderId);
    if (e === undefined) return { kind: 'unknown' };
    const problem = reportProblem(r, e.order);
    if (problem !== undefined) return { kind: 'invalid', order: e.order, ...problem };
    // one comparison per fill; the rest only for a fill past the order's quantity
    if (r.kind === 'fill' && r.lastQty > e.order.qty - e.order.filledQty) {
      const over = overfill(e, r, journaled);
      if (over !== undefined) return over;
    }
    // the first report of any kind answers the order
    const ackSentAt = e.sentAt;
    if (ackSentAt !== NOT_AWAITING) e.sentAt = NOT_AWAITING;
    const order = e.order;
    if (r.venueOrderId) order.venueOrderId = r.venueOrderId;
    order.updatedTs = now;
    let fill = false;
    switch (r.kind) {
      case 'ack':
        if (order.status === 'pending_new') order.status = 'open';
        break;
      case 'fill': {
        if (r.tradeId !== undefined && !addTrade(e, r.tradeId)) return { kind: 'duplicate', order };
        order.filledQty += r.lastQty;
        order.filledNotionalTicksLots += BigInt(r.lastPrice) * BigInt(r.lastQty);
        order.feeAtoms += r.feeAtoms;
        if (order.filledQty >= order.qty) order.status = 'filled';
        // A fill that crossed our cancel in flight does not answer the cancel: the order stays
        // pending_cancel (the engine reads anything else as "refused" and cancels it again).
        else if (!TERMINAL.has(order.status) && order.status !== 'pending_cancel') order.status = 'partially_filled';
        fill = true;
        break;
      }
      case 'cancelled':
      case 'expired':
        if (!TERMINAL.has(order.status)) order.status = 'cancelled';
        break;
      case 'rejected':
        if (r.rejects === 'order') {
          // the venue refused the order itself: final (one with fills ends with what filled)
          if (!TERMINAL.has(order.status)) {
            order.status = order.filledQty > 0 ? 'cancelled' : 'rejected';
            order.rejectReason = r.rejectReason;
            order.text = r.text;
          }
        } else if (r.rejects === 'request') {
          // a refused cancel (or duplicate) leaves the order as it was before the request
          if (order.status === 'pending_cancel') order.status = order.filledQty > 0 ? 'partially_filled' : 'open';
        } else if (order.status === 'pending_new' || order.status === 'pending_cancel' || order.status === 'open' || order.status === 'partially_filled') {
          // A rejected cancel leaves the order as it was; a rejected new order is final.
          if (order.status === 'pending_new') {
            order.status = 'rejected';
            order.rejectReason = r.rejectReason;
            order.text = r.text;
          } else if (order.status === 'pending_cancel') {
            order.status = order.filledQty > 0 ? 'partially_filled' : 'open';
          }
        }
        break;
    }
    if (TERMINAL.has(order.status)) {
      this.removeOpen(order);
      this.closed(e, now);
    }
    return { kind: 'applied', order, fill, ackSentAt };
  }

  markPendingCancel(clientOrderId: string): Order | undefined {
    const o = this.entries.get(clientOrderId)?.order;
    if (!o || TERMINAL.has(o.status)) return undefined;
    o.status = 'pending_cancel';
    return o;
  }

  /** The cancel marked by markPendingCancel never reached the venue: the order is back as it was (unless a report has moved it on since). */
  cancelNotSent(clientOrderId: string, previous: OrderStatus): void {
    const o = this.entries.get(clientOrderId)?.order;
    if (o !== undefined && o.status === 'pending_cancel') o.status = previous;
  }

  /**
   * Takes an open order out of the open ones without closing it: one restored for a venue the
   * config no longer names (engine/rebuild.ts), which no cancel can reach and no report update.
   * It is still held (get) as the journal left it, so a start with the venue configured again
   * reconciles it; it is no longer counted as working (openCount, allOpen, openOrders). True when
   * it was open.
   */
  setAside(clientOrderId: string): boolean {
    const o = this.entries.get(clientOrderId)?.order;
    if (o === undefined || TERMINAL.has(o.status)) return false;
    return this.removeOpen(o);
  }

  /**
   * Notes an order the journal holds (the restore, engine/rebuild.ts, for each journaled order;
   * reconciliation, for each order it adopts and journals): kept after the order itself is
   * forgotten, so that reconciliation can tell a venue trade of it from one of an order the
   * journal never saw (journaledOrder). Updated with the order's own count when it is forgotten
   * (closed): fills booked live since the restore count too.
   */
  noteJournaled(o: Readonly<Order>): void {
    const map = (this.journaled ??= new Map());
    if (map.has(o.clientOrderId)) return;
    map.set(o.clientOrderId, { exchange: o.exchange, symbol: o.symbol, side: o.side, type: o.type, price: o.price, qty: o.qty, filledQty: 0, tradeAdopted: isTradeAdopted(o), createdTs: o.createdTs, listedWithoutTime: listedWithoutTime(o) });
  }

  /** A journaled fill of a journaled order, booked by the restore (noteJournaled). */
  noteJournaledFill(clientOrderId: string, lots: number): void {
    const j = this.journaled?.get(clientOrderId);
    if (j === undefined) return;
    j.filledQty += lots;
    if (j.tradeAdopted && j.filledQty > j.qty) j.qty = j.filledQty;
  }

  /** What the journal holds of an order, held in memory or not (noteJournaled); undefined for one it never held. */
  journaledOrder(clientOrderId: unknown): JournaledOrder | undefined {
    return typeof clientOrderId === 'string' ? this.journaled?.get(clientOrderId) : undefined;
  }

  /**
   * Brings a journaled order that has left memory back with what the journal has of it
   * (reconciliation books a venue trade of it onto it, under the journal's own record of the id:
   * nothing new is journaled for the order). Undefined when the journal does not hold it.
   * Closed, unless `working` (the venue lists it as working: followed again, never forgotten
   * while open). A closed one is held outside the closed-order window until a report about it
   * is applied or releaseRevived lets it go: put in the window at once, retention with
   * `maxClosed` 0 forgot it before it was returned, and the venue's trade of it was refused.
   * Its trade ids are not known (wasRevived): reconciliation tells its booked fills by the
   * journal's count and trade ids, in this attempt and every later one.
   */
  reviveJournaled(clientOrderId: string, now: number, working = false): Order | undefined {
    const held = this.get(clientOrderId);
    if (held !== undefined) return held;
    const j = this.journaled?.get(clientOrderId);
    if (j === undefined) return undefined;
    const order: Order = {
      exchange: j.exchange,
      symbol: j.symbol,
      side: j.side,
      type: j.type,
      price: j.price,
      qty: j.qty,
      tif: 'GTC',
      source: j.tradeAdopted ? ADOPTED_TRADE_SOURCE : 'reconcile:journaled',
      ...(j.tradeAdopted ? { reason: `${ADOPTED_TRADE_REASON}?` } : {}),
      clientOrderId,
      // one adopted from a listing without a time is asked about with none, as when it was adopted
      ...(j.listedWithoutTime && !j.tradeAdopted ? { reason: LISTED_WITHOUT_TIME } : {}),
      status: working ? (j.filledQty > 0 ? 'partially_filled' : 'open') : j.filledQty >= j.qty ? 'filled' : 'cancelled',
      filledQty: j.filledQty,
      filledNotionalTicksLots: 0n,
      feeAtoms: 0n,
      // as the journal has it: a later attempt asks the venue about the order from its creation
      // time (ccxt reads its trades from there), and one of now left out its earlier fills. One
      // the journal has no time for is asked about with none (0, "unknown" to every adapter): a
      // time of now made a search by time (Coinbase's start_date) start after the order
      createdTs: Number.isFinite(j.createdTs) ? j.createdTs : 0,
      updatedTs: now,
    };
    (this.revived ??= new Set()).add(clientOrderId);
    if (working) this.restore(order);
    else this.entries.set(clientOrderId, { order, closed: false, stale: 0, trades: undefined, sentAt: NOT_AWAITING });
    return order;
  }

  /**
   * Opens an order closed here again: the venue lists it as working (reconciliation, step 1b), or
   * the journal says reconciliation did (the restore, REOPENED_TEXT). Held, it keeps its fills and
   * trade ids and leaves the closed-order window; forgotten (closed-order retention), it is brought
   * back from what the journal has of it (reviveJournaled, working). An order adopted from a venue
   * trade takes `listedQty` as its quantity where that is more (its own is only what filled). A
   * working order is returned as it is. Undefined when neither memory nor the journal's notes hold it.
   */
  reopen(clientOrderId: string, now: number, listedQty?: number): Order | undefined {
    const e = this.entries.get(clientOrderId);
    const o = e === undefined ? this.reviveJournaled(clientOrderId, now, true) : e.order;
    if (o === undefined) return undefined;
    if (listedQty !== undefined && isTradeAdopted(o) && Number.isSafeInteger(listedQty) && listedQty > o.qty) o.qty = listedQty;
    if (e === undefined || !TERMINAL.has(o.status)) return o;
    o.status = o.filledQty > 0 ? 'partially_filled' : 'open';
    o.updatedTs = now;
    if (e.closed) {
      e.closed = false;
      e.stale++;
      this.staleClosed++;
    }
    this.addOpen(o);
    return o;
  }

  /**
   * Whether reviveJournaled brought the order back in this run. Its entry has no trade ids, so
   * fills the journal booked on it are not told from new ones by hasTrade: a later attempt's
   * answer about it (step 1, the order held and open) booked every such fill again.
   */
  wasRevived(clientOrderId: string): boolean {
    return this.revived?.has(clientOrderId) === true;
  }

  /** Ids reviveJournaled brought back (wasRevived), until every venue is reconciled. */
  private revived: Set<string> | undefined;

  /** A closed order reviveJournaled brought back, once its booking is done: into the closed-order window (and forgotten as it allows). */
  releaseRevived(clientOrderId: string): void {
    const e = this.entries.get(clientOrderId);
    if (e !== undefined && !e.closed && TERMINAL.has(e.order.status)) this.closed(e, this.lastNow);
  }

  /**
   * Notes a fill without a trade id booked on `exchange` while it is not reconciled (by
   * reconciliation or the live stream), by a key reconciliation matches such fills by
   * (reconcile.ts, unidentifiedKeysOf), with its venue time `ts`: a retry of the venue's
   * reconciliation reads it again, and nothing else tells it from a new fill.
   */
  noteUnidentifiedFill(exchange: string, key: string, ts: number): void {
    this.unidentifiedNotes(exchange, key).push({ ts, reason: 'booked', occurrence: 0 });
  }

  /**
   * The fills without a trade id noted on a venue so far (noteUnidentifiedFill and
   * noteCountedUnidentifiedFill, whatever the reason) at or after `since` (the retry's trade-list
   * window), by key, with how many. One from before is not answered again: counted, it was taken
   * for a later fill of the same order, price and quantity, which was then never booked (the
   * restore counts the journal's the same way).
   */
  unidentifiedFills(exchange: string, since: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, notes] of this.unidentified?.get(exchange) ?? []) {
      let n = 0;
      for (const note of notes) if (note.ts >= since) n++;
      if (n > 0) out.set(key, n);
    }
    return out;
  }

  /**
   * Notes trades (bookedTradeKeys) an answer about a revived order took as booked by the
   * journal's count (reconcile.ts, revivedStatusFills): a later attempt's trade list answers them
   * again, and once the order has closed no answer about it counts them there; booked then, the
   * journal's lots were booked twice.
   */
  noteCountedTrade(exchange: string, keys: readonly string[]): void {
    const byVenue = (this.counted ??= new Map());
    let set = byVenue.get(exchange);
    if (set === undefined) byVenue.set(exchange, (set = new Set()));
    for (const k of keys) set.add(k);
  }

  /** The trades noted on a venue so far by noteCountedTrade. */
  countedTrades(exchange: string): ReadonlySet<string> | undefined {
    return this.counted?.get(exchange);
  }

  /** Per venue, trades taken as booked by a revived order's count in this run (noteCountedTrade). */
  private counted: Map<string, Set<string>> | undefined;

  /**
   * Notes a fill without a trade id that an answer about a revived order took as booked by the
   * journal's count, whole or for part of its lots (one that straddled it, booked beyond it), by
   * the keys step 2 matches it by (reconcile.ts, unidentifiedKeysOf) for the whole fill: what a
   * later attempt's trade list answers. `occurrence` tells equal fills of one answer apart; each
   * later answer counts the same fills again, and noted once per answer, one fill swallowed a
   * later equal one. The part booked was noted (noteUnidentifiedFill) under its own quantity,
   * which the trade list never answers: `booked` takes that note back.
   */
  noteCountedUnidentifiedFill(exchange: string, keys: readonly string[], ts: number, occurrence: number, booked?: readonly string[]): void {
    for (const key of keys) {
      const notes = this.unidentifiedNotes(exchange, key);
      if (!notes.some((n) => n.reason === 'counted' && n.ts === ts && n.occurrence === occurrence)) notes.push({ ts, reason: 'counted', occurrence });
    }
    const noted = this.unidentified?.get(exchange);
    for (const key of booked ?? []) {
      const notes = noted?.get(key);
      const i = notes?.findIndex((n) => n.reason === 'booked' && n.ts === ts) ?? -1;
      if (i < 0) continue;
      notes!.splice(i, 1);
      if (notes!.length === 0) noted!.delete(key);
    }
  }

  /** The notes of one key on a venue (unidentified), made where there are none yet. */
  private unidentifiedNotes(exchange: string, key: string): UnidentifiedNote[] {
    const byVenue = (this.unidentified ??= new Map());
    let m = byVenue.get(exchange);
    if (m === undefined) byVenue.set(exchange, (m = new Map()));
    let notes = m.get(key);
    if (notes === undefined) m.set(key, (notes = []));
    return notes;
  }

  /**
   * Per venue, by key, the fills without a trade id known as booked in this run while the venue
   * was not reconciled: booked then (noteUnidentifiedFill), or taken as booked by a revived
   * order's count (noteCountedUnidentifiedFill).
   */
  private unidentified: Map<string, Map<string, UnidentifiedNote[]>> | undefined;

  /**
   * Frees what noteJournaled, noteUnidentifiedFill, noteCounted* and reviveJournaled kept, once every venue is
   * reconciled: only reconciliation asks it, and it grows with the journal (~100 bytes an
   * order), for the life of the process otherwise.
   */
  forgetJournaled(): void {
    this.journaled = undefined;
    this.unidentified = undefined;
    this.revived = undefined;
    this.counted = undefined;
  }

  /** Every order the journal held at the restore or reconciliation adopted since, by client id (noteJournaled). */
  private journaled: Map<string, JournaledOrder> | undefined;

  /**
   * An order noted as journaled leaves memory: what it filled is kept with the note. Counted only
   * from the journal, a fill booked live after the restore was missing from it, and a further
   * venue trade of the order past its quantity was booked by reconciliation as fitting.
   */
  private keepCount(clientOrderId: string): void {
    const j = this.journaled!.get(clientOrderId);
    const o = this.entries.get(clientOrderId)?.order;
    if (j === undefined || o === undefined) return;
    if (o.filledQty > j.filledQty) j.filledQty = o.filledQty;
    if (j.tradeAdopted && o.qty > j.qty) j.qty = o.qty;
  }

  /** Closes an order we believed open but the venue does not know (reconciliation). */
  forceClose(clientOrderId: string, text: string): void {
    const e = this.entries.get(clientOrderId);
    if (!e || TERMINAL.has(e.order.status)) return;
    const o = e.order;
    o.status = 'cancelled';
    o.text = text;
    this.removeOpen(o);
    this.closed(e, this.lastNow);
  }

  /** Notes an order as closed (once: a late fill on a closed order keeps its place), then forgets what retention allows. */
  private closed(e: OrderEntry, at: number): void {
    if (e.closed) return;
    e.closed = true;
    const q = this.closedIds;
    q.push(e.order.clientOrderId, at);
    const { minClosed, closedMs, maxClosed } = this.retention;
    const now = Math.max(at, this.lastNow);
    while (q.size > maxClosed || (q.size > minClosed && now - q.oldestAt() >= closedMs)) {
      const id = q.shift();
      const left = this.entries.get(id);
      if (left !== undefined && left.stale > 0) {
        left.stale--;
        this.staleClosed--;
        continue;
      }
      if (this.journaled !== undefined) this.keepCount(id);
      this.entries.delete(id);
    }
  }

  private openSet(exchange: string, symbol: string): OpenSet {
    let s = this.open.get(exchange, symbol);
    if (!s) {
      s = new OpenSet();
      this.open.set(exchange, symbol, s);
    }
    return s;
  }
}

/**
 * How far above the ids issued or reserved here an id of our form may be and still be taken as
 * ours: an order placed after the backup a journal was restored from is adopted at restart. A
 * billion orders past the journal's sequence, and still far below 2^53.
 */
const OWN_ID_HEADROOM = 1_000_000_000;

/**
 * What the restore keeps of every journaled order, whether or not it is still held (closed-order
 * retention forgets orders, the journal keeps them): reconciliation checks a venue trade of an
 * order that has left memory against it (reconcile.ts, bookFill).
 */
export interface JournaledOrder {
  exchange: string;
  symbol: string;
  side: Order['side'];
  type: Order['type'];
  price: number | undefined;
  qty: number;
  /** Lots booked on it by the journal's fills (and reconciliation's since). */
  filledQty: number;
  /** Adopted from a venue trade (isTradeAdopted): its quantity grows with its fills. */
  tradeAdopted: boolean;
  /** As journaled: reviveJournaled brings the order back with it, so the venue is asked about the order from then. */
  createdTs: number;
  /** Adopted from a listing without a creation time (listedWithoutTime): asked about with none. */
  listedWithoutTime: boolean;
}

/** A fill without a trade id noted on a venue while it is not reconciled (OrderManager.unidentifiedFills). */
interface UnidentifiedNote {
  /** Its venue time: a retry's trade list answers it only from its window's start on. */
  ts: number;
  /**
   * `booked`: booked in this run (noteUnidentifiedFill; one note per booking). `counted`: taken
   * as booked by a revived order's count, the `occurrence`-th of its equal fills in the answer
   * (noteCountedUnidentifiedFill; noted once however many answers count it).
   */
  reason: 'booked' | 'counted';
  occurrence: number;
}

/** OrderEntry.sentAt (and ReportOutcome.ackSentAt) of an order whose first report has come, or that was not submitted in this run. */
export const NOT_AWAITING = -1;

/** An order and what the manager keeps beside it until it forgets the order. */
interface OrderEntry {
  order: Order;
  /**
   * Waiting for the order's first report: when it was handed to its venue (performance.now() ms),
   * NaN while submit() runs; NOT_AWAITING once answered, and for restored orders.
   */
  sentAt: number;
  /** In `closedIds` (an order closes once: a late fill on a closed order keeps its place). */
  closed: boolean;
  /**
   * Places in `closedIds` the order left when it was reopened (OrderManager.reopen), older than
   * any it holds now: passed over when they come out, so that an order reopened is not forgotten
   * while open, nor, closed again, before its retention counts from that close.
   */
  stale: number;
  /** Trade ids of the fills applied: none, the one (most orders), or a set from the second on. */
  trades: string | Set<string> | undefined;
}

/**
 * Where an order was adopted from a venue trade (reconcile.ts, adoptTrade): its quantity is what
 * that trade filled, not the venue order's, which the trade does not say.
 */
export const ADOPTED_TRADE_SOURCE = 'reconcile:adopted';
export const ADOPTED_TRADE_REASON = 'venue trade ';

/** An order adopted from a venue trade: its quantity is only what its trades so far filled (ADOPTED_TRADE_SOURCE). */
export function isTradeAdopted(o: Readonly<Order>): boolean {
  return o.source === ADOPTED_TRADE_SOURCE && typeof o.reason === 'string' && o.reason.startsWith(ADOPTED_TRADE_REASON);
}

/**
 * A fill that takes the order past its quantity, or undefined to book it. A trade already booked
 * is a duplicate (the same fill again, not an overfill). No venue fills an order past its
 * quantity: the report is a hostile or broken adapter's (the same fill under another trade id,
 * or without one) and booked it would move the position past what was asked, flipping a
 * reduce-only exit. Refused, reconciliation settles what the venue really did. An order adopted
 * from a venue trade has no known quantity: it grows with each further trade of it.
 */
function overfill(e: OrderEntry, r: ExecutionReport, journaled: boolean): ReportOutcome | undefined {
  const o = e.order;
  const t = e.trades;
  if (r.tradeId !== undefined && t !== undefined && (typeof t === 'string' ? t === r.tradeId : t.has(r.tradeId))) return { kind: 'duplicate', order: o };
  if (isTradeAdopted(o)) {
    const qty = o.filledQty + r.lastQty;
    if (Number.isSafeInteger(qty)) {
      o.qty = qty;
      return undefined;
    }
  }
  if (journaled) return undefined;
  return { kind: 'invalid', order: o, reason: 'fill_qty', detail: `a fill of ${r.lastQty} lots on an order of ${o.qty} lots with ${o.filledQty} filled: past its quantity (${o.filledQty + r.lastQty} lots)` };
}

/** Notes a fill's trade id; false when it was applied before (a duplicate). */
function addTrade(e: OrderEntry, tradeId: string): boolean {
  const t = e.trades;
  if (t === undefined) {
    e.trades = tradeId;
    return true;
  }
  if (typeof t === 'string') {
    if (t === tradeId) return false;
    e.trades = new Set([t, tradeId]);
    return true;
  }
  if (t.has(tradeId)) return false;
  t.add(tradeId);
  return true;
}

const NO_ORDERS: readonly Order[] = Object.freeze([]);

/** One instrument's open orders by client id, with the array `openOrders` hands out, rebuilt after a change. */
class OpenSet {
  private readonly byId = new Map<string, Order>();
  private snapshot: readonly Order[] | undefined = NO_ORDERS;

  /** Adds or replaces; true when the id was not in the set. */
  add(order: Order): boolean {
    const fresh = !this.byId.has(order.clientOrderId);
    this.byId.set(order.clientOrderId, order);
    this.snapshot = undefined;
    return fresh;
  }

  delete(clientOrderId: string): boolean {
    if (!this.byId.delete(clientOrderId)) return false;
    this.snapshot = undefined;
    return true;
  }

  array(): readonly Order[] {
    return (this.snapshot ??= this.byId.size === 0 ? NO_ORDERS : Object.freeze([...this.byId.values()]));
  }
}
