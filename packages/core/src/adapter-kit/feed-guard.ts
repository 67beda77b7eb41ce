import type { FeedReject, FeedRejectReason, MarketEventSink } from '../contracts/exchange.js';
import type { BookLevel } from '../domain/events.js';

/**
 * Validation at the adapter edge, shared by every venue: what a normalized value must be before
 * it may reach a book or the tape, and how a rejection is reported.
 *
 * The checks run per level and per trade on the hot path, so they are plain integer comparisons
 * on the already-parsed ticks and lots (a zod schema per level would allocate per frame); zod
 * validates the cold inputs (REST snapshots, options; see `snapshot-schema.ts`).
 */

/** Defaults for the implausible-jump bounds (per venue overridable). */
export const FEED_GUARD_DEFAULTS = Object.freeze({
  /**
   * Largest advance of a book's update id in one frame (u - previous u, and u - U). Binance's
   * busiest spot book advances a few thousand ids per 100 ms frame; ten million is far beyond
   * any real burst and far below the poisoned 9007199254740000.
   */
  maxSeqJump: 10_000_000,
  /** Largest advance of a numeric trade id between two trades of one symbol. */
  maxTradeIdJump: 10_000_000,
  /** Consistent far-ahead trades in a row after which the stream is believed to have moved. */
  tradeRebaseAfter: 3,
  /**
   * A trade time further than this from the host clock (either way) is not trusted by the
   * trade-id guard's move-back rule (where the guard is given the host clock): such a trade
   * counts as one without a time. Live trades arrive within seconds of their venue time.
   */
  tradeClockWindowMs: 300_000,
  /** At most one warn line per (symbol, reason) in this window; the rest are summarised. */
  logEveryMs: 10_000,
});

/** Why a book level is unacceptable, or undefined. Zero quantity means "delete" only in deltas. */
export function levelProblem(l: BookLevel, zeroQtyMeansDelete: boolean): FeedRejectReason | undefined {
  const p = l.price;
  const q = l.qty;
  if (!Number.isSafeInteger(p) || !Number.isSafeInteger(q)) return 'off_grid';
  if (p <= 0) return 'non_positive_price';
  if (q < 0) return 'negative_qty';
  if (q === 0 && !zeroQtyMeansDelete) return 'zero_qty';
  return undefined;
}

/** First problem among the levels (index in `at`), or undefined when all are acceptable. */
export function levelsProblem(levels: readonly BookLevel[], zeroQtyMeansDelete: boolean): FeedRejectReason | undefined {
  for (let i = 0; i < levels.length; i++) {
    const r = levelProblem(levels[i]!, zeroQtyMeansDelete);
    if (r !== undefined) return r;
  }
  return undefined;
}

/**
 * The first price (ticks) listed twice on one side of a snapshot, or NaN: such a snapshot is no
 * book (which quantity stands depends on the reader), refused as `bad_snapshot`. Venues list a side
 * in price order (bids descending, asks ascending): one pass proves that; a side in any other
 * order is checked through a Set (cold: not the venues' layout).
 */
export function repeatedSnapshotPrice(levels: readonly BookLevel[], descending: boolean): number {
  let ordered = true;
  for (let k = 1; k < levels.length; k++) {
    const a = levels[k - 1]!.price;
    const b = levels[k]!.price;
    if (a === b) return a;
    if (descending ? a < b : a > b) {
      ordered = false;
      break;
    }
  }
  if (ordered) return NaN;
  const seen = new Set<number>();
  for (const l of levels) {
    if (seen.has(l.price)) return l.price;
    seen.add(l.price);
  }
  return NaN;
}

/** Why a trade's price/qty (ticks, lots) is unacceptable, or undefined. */
export function tradeProblem(price: number, qty: number): FeedRejectReason | undefined {
  if (!Number.isSafeInteger(price) || !Number.isSafeInteger(qty)) return 'off_grid';
  if (price <= 0) return 'non_positive_price';
  if (qty < 0) return 'negative_qty';
  if (qty === 0) return 'zero_qty';
  return undefined;
}

export const TradeIdVerdict = { NEW: 0, DUPLICATE: 1, JUMP: 2 } as const;
export type TradeIdVerdictCode = (typeof TradeIdVerdict)[keyof typeof TradeIdVerdict];

/**
 * Per-symbol trade-id bookkeeping: duplicates (id <= last) are dropped silently (replays after a
 * reconnect are normal), and an id implausibly far ahead is rejected instead of becoming the new
 * high-water mark, so one poisoned id (9e15) cannot turn every later real trade into a
 * "duplicate". If the venue really moved on, its next trades agree with each other: after
 * `rebaseAfter` consecutive far-ahead ids that are each within the bound of the previous one, the
 * guard follows them. Consecutive means no other trade in between, a duplicate included.
 *
 * A mark a little ahead of the stream (within the bound: one mutated digit) is caught by time
 * when the caller passes trade times: a replay after a reconnect repeats trades that happened
 * before the mark, so their times are at or before the mark's time; trades behind the mark but
 * strictly LATER than it are the real stream under a poisoned mark (or a venue that reset its
 * ids). After `rebaseAfter` consecutive such trades, ids increasing, the guard moves its mark
 * back to them: at most `rebaseAfter - 1` real trades are dropped instead of every trade until
 * the stream catches up (`rebasedBack` counts it).
 *
 * **A trade id is never emitted twice, whatever the times say** (a trade emitted twice is volume
 * counted twice by the detectors). Times can be wrong too: a trade whose id was right but whose
 * time was two months early became the mark, and the market_trades backfill after the next gap
 * (every trade behind it, all emitted already) looked "later than the mark" and was emitted again.
 * So the move back distinguishes what was emitted, by ids alone:
 *
 * - `floor` is the id emitted before the mark. Between two marks the emitted ids only grow, so
 *   the ids strictly between `floor` and `last` were never emitted (the stream under a poisoned
 *   mark): the move back may land there, on trades later than the mark's time, as above. The
 *   mark it leaves was emitted, so it is refused once more (`skip`) when the stream reaches it;
 *   no second move back is made before a trade is taken forward again.
 * - Marks stay outstanding until the stream reaches one exactly or `floor3` passes it: a trade
 *   taken forward past a mark is no evidence the stream got there (it may be the next poisoned
 *   id, moved back from in turn), and a mark forgotten then was emitted again. Two marks are kept
 *   exactly; more (marks moved back from while earlier ones are still ahead) are folded into one
 *   interval of possibly emitted ids (`holdLo`..`holdHi`). The trade-off is chosen against
 *   duplicates: every id in that interval is refused, real ones included, until the stream passes
 *   it: a real trade dropped per poisoned id at most its distance ahead of the stream, rather
 *   than a trade counted twice.
 * - An id at or below `floor` was emitted: taking it again is only right when the venue's ids
 *   really restarted (`restarts`). That needs `rebaseAfter` consecutive such trades, ids
 *   increasing, each strictly later than EVERY trade time taken since the ids (re)started
 *   (`maxTs`: one wrong time on the mark cannot lower it), and no trade without a (trusted) time
 *   taken since the last one with (its real time is unknown). A replay or backfill only repeats
 *   trades from before the mark, never later than all of them.
 *
 * The run of `rebaseAfter` trades is of one kind: ids never emitted, or ids the guard took (the
 * stream under two poisoned ids reaches the lower one: no restart). A restart keeps every mark
 * and the ids it knows were emitted above it (`floor3`..`last`). What stays open: the real stream
 * under three or more poisoned ids taken forward in a row (move backs interrupted) is
 * indistinguishable from a restart (ids at or below `floor2`, times later than all); past four,
 * an id taken before `floor3` (the oldest poisoned ids, a mark already forgotten) can be emitted
 * twice.
 *
 * Given the host clock (`clock`, ms), a trade time further than `clockWindowMs` from it counts as
 * no time: it neither sets the mark's time nor moves the mark back. Everything is a few numbers
 * per stream: nothing is allocated per trade.
 */
export class TradeIdGuard {
  last = -1;
  /** The time of the trade that set `last` (when the caller passes times). */
  lastTs = -Infinity;
  /** The id emitted before `last` (-1: none): between them, no id was emitted. */
  floor = -1;
  /**
   * The id emitted before `floor` (== `floor`: unknown). Two forward takes in a row from a
   * poisoned mark (a second id ahead of the stream, within the bound) make `floor` itself a
   * poisoned id: the ids strictly between `floor2` and `floor` were never emitted either, and the
   * real stream there may move the mark back too (both marks then refused when reached). Without
   * it, a second poisoned id taken forward dropped every real trade until the stream reached it
   * when a wrong far-future time had also been taken (no restart could follow): kraken-ws fuzz,
   * seed 4, one pair's trades lost for the rest of the run.
   */
  floor2 = -1;
  /**
   * The `floor2` before the last forward take: marks at or below it are forgotten. Every later
   * emission is above `floor2` (which never falls) but a restart's; the real stream under three
   * poisoned ids taken forward in a row looks like one (ids at or below `floor2`, times later than
   * all), and lands above `floor3` (the last real id before them).
   */
  floor3 = -1;
  /** The latest (trusted) trade time taken since the ids (re)started. */
  maxTs = -Infinity;
  /** After a move back: the mark it left (emitted), refused when the stream reaches it (-1: none). */
  skip = -1;
  /** The mark an earlier move back left, while a later one holds `skip` (-1: none). */
  skip2 = -1;
  /**
   * Marks that did not fit in `skip`/`skip2`, kept as the interval of ids possibly emitted
   * (`holdLo`..`holdHi`; -1: none): every id in it is refused until `floor3` passes it.
   */
  holdLo = -1;
  holdHi = -1;
  /** Times the mark was moved back to a later stream behind it (restarts included). */
  rebasedBack = 0;
  /** Times the venue's ids were taken to have restarted (ids at or below `floor` followed). */
  restarts = 0;
  private untimed = false;
  /**
   * The mark is where a move back landed (`floor` kept from before it): the ids between them are
   * not all unseen (the stream passed some as duplicates), so no second move back until a trade
   * is taken forward. Only that long: a block held until the stream reached `skip` (up to
   * maxJump ids ahead, days of trades) left a second poisoned mark in force for good, and every
   * real trade under it was dropped.
   */
  private movedBack = false;
  private candidate = -1;
  private candidates = 0;
  private behindId = -1;
  private behind = 0;
  private behindUnseen = false;

  constructor(
    readonly maxJump: number = FEED_GUARD_DEFAULTS.maxTradeIdJump,
    readonly rebaseAfter: number = FEED_GUARD_DEFAULTS.tradeRebaseAfter,
    readonly clock?: () => number,
    readonly clockWindowMs: number = FEED_GUARD_DEFAULTS.tradeClockWindowMs,
  ) {}

  /** `ts`: the trade's venue time (ms), where the feed has one; enables the move back. */
  check(id: number, ts?: number): TradeIdVerdictCode {
    if (!Number.isSafeInteger(id) || id < 0) return TradeIdVerdict.JUMP;
    if (ts !== undefined && (!Number.isFinite(ts) || (this.clock !== undefined && Math.abs(ts - this.clock()) > this.clockWindowMs))) ts = undefined;
    if (id <= this.last) {
      // a trade at or behind the mark is the stream still where it was: far-ahead ids so far
      // were not consecutive (the fuzzer had poison ids rebased between replayed real trades)
      this.candidates = 0;
      // never emitted (under a poisoned mark): later than the mark's time; emitted already: only
      // a restart, later than every time taken
      // under two marks (floor2 < id < floor): never emitted either (but a mark an earlier move
      // back left, refused on landing: see `isMark`)
      const deep = id > this.floor2 && id < this.floor;
      const unseen = deep || (id > this.floor && id < this.last);
      if (ts === undefined || (unseen ? this.movedBack || !(ts > this.lastTs) : id === this.last || this.untimed || !(ts > this.maxTs))) {
        this.behind = 0;
        return TradeIdVerdict.DUPLICATE;
      }
      // one kind of trade in a row: trades under the mark and then the mark's own floor (the
      // stream under a poisoned mark reaching the poisoned id before it) are no restart
      this.behind = this.behind > 0 && id > this.behindId && unseen === this.behindUnseen ? this.behind + 1 : 1;
      this.behindId = id;
      this.behindUnseen = unseen;
      if (this.behind < this.rebaseAfter) return TradeIdVerdict.DUPLICATE;
      this.rebasedBack++;
      if (unseen) {
        // the move back lands on a mark an earlier one left: the real stream reached it, it was
        // emitted then (the mark is `last` now: never emitted again either way)
        const verdict = this.isMark(id) ? TradeIdVerdict.DUPLICATE : TradeIdVerdict.NEW;
        if (id === this.skip) this.skip = -1;
        else if (id === this.skip2) this.skip2 = -1;
        // the marks left behind were emitted: each refused when the stream reaches it
        const last = this.last;
        const floor = deep ? this.floor2 : this.floor;
        if (deep) this.addMark(this.floor);
        const floor2 = this.floor2;
        this.take(id, ts);
        this.addMark(last);
        this.floor = floor;
        this.floor2 = floor2;
        this.movedBack = true;
        return verdict;
      }
      // The real stream under three poisoned ids taken forward in a row (ids at or below
      // `floor2`, times later than all) looks like a restart: the marks kept and the ids the
      // guard knows were emitted above the landing stay refused until the stream passes them (a
      // real restart loses those few trades when its ids get there).
      this.restarts++;
      this.maxTs = -Infinity;
      this.addMark(this.floor3);
      this.addMark(this.floor2);
      this.addMark(this.floor);
      this.addMark(this.last);
      const verdict = this.isMark(id) ? TradeIdVerdict.DUPLICATE : TradeIdVerdict.NEW;
      if (id === this.skip) this.skip = -1;
      else if (id === this.skip2) this.skip2 = -1;
      this.take(id, ts);
      this.floor = -1;
      this.floor2 = -1;
      this.floor3 = -1;
      return verdict;
    }
    if (this.isMark(id)) {
      // a mark a move back left: emitted then (the stream reached it: it is `last` from now on)
      if (id === this.skip) this.skip = -1;
      else if (id === this.skip2) this.skip2 = -1;
      this.take(id, ts);
      return TradeIdVerdict.DUPLICATE;
    }
    if (this.last < 0 || id - this.last <= this.maxJump) {
      this.take(id, ts);
      return TradeIdVerdict.NEW;
    }
    if (this.candidates > 0 && id > this.candidate && id - this.candidate <= this.maxJump) this.candidates++;
    else this.candidates = 1;
    this.candidate = id;
    this.behind = 0;
    if (this.candidates >= this.rebaseAfter) {
      this.take(id, ts);
      return TradeIdVerdict.NEW;
    }
    return TradeIdVerdict.JUMP;
  }

  reset(): void {
    this.last = -1;
    this.lastTs = -Infinity;
    this.floor = -1;
    this.floor2 = -1;
    this.floor3 = -1;
    this.maxTs = -Infinity;
    this.skip = -1;
    this.skip2 = -1;
    this.holdLo = -1;
    this.holdHi = -1;
    this.movedBack = false;
    this.untimed = false;
    this.candidates = 0;
    this.behind = 0;
  }

  private take(id: number, ts: number | undefined): void {
    // no id emitted before `floor` is known (the first trades, after a restart): `floor2` is
    // `floor`, so nothing below the first trade taken (history a backfill may list) counts as unseen
    const forward = id > this.last;
    if (forward) this.floor3 = this.floor2;
    this.floor2 = this.floor >= 0 ? this.floor : this.last;
    this.floor = this.last;
    this.last = id;
    // A mark is forgotten only once `floor3` passes it (see there). Passing a mark is no evidence
    // the stream got there: the take past it may itself be a poisoned id (within the bound) that
    // the real stream later moves back from, and the mark forgotten then was emitted twice. (A
    // move back restores the floors after this take: nothing to forget then.)
    if (forward) {
      if (this.skip <= this.floor3) this.skip = -1;
      if (this.skip2 <= this.floor3) this.skip2 = -1;
      if (this.holdHi <= this.floor3) this.holdLo = this.holdHi = -1;
    }
    this.movedBack = false;
    // a trade without a time keeps the earlier one: the move back then waits for later trades
    // (and no restart is followed until a trade with a time is taken)
    if (ts !== undefined) {
      this.lastTs = ts;
      if (ts > this.maxTs) this.maxTs = ts;
      this.untimed = false;
    } else this.untimed = true;
    this.candidates = 0;
    this.behind = 0;
  }

  /** Whether `id` was emitted by a mark a move back left (exactly, or inside the held interval). */
  private isMark(id: number): boolean {
    return id === this.skip || id === this.skip2 || (id >= this.holdLo && id <= this.holdHi);
  }

  /**
   * Records an emitted mark the stream is now behind. Two are kept exactly; with a third, one
   * joins the held interval: the one that widens it least (every id inside is refused, real ones
   * too), or the highest when none is held (the stream reaches the others first, and an exact mark
   * is freed when reached; the interval only once `floor3` passes it).
   */
  private addMark(m: number): void {
    if (m < 0 || this.isMark(m)) return;
    if (this.skip < 0) this.skip = m;
    else if (this.skip2 < 0) this.skip2 = m;
    else {
      const a = this.skip;
      const b = this.skip2;
      let out: number;
      if (this.holdHi < 0) out = Math.max(a, b, m);
      else {
        const lo = this.holdLo;
        const hi = this.holdHi;
        const widen = (x: number) => (x < lo ? lo - x : x > hi ? x - hi : 0);
        out = widen(a) <= widen(b) ? a : b;
        if (widen(m) < widen(out)) out = m;
      }
      if (out === a) this.skip = m;
      else if (out === b) this.skip2 = m;
      if (this.holdHi < 0) this.holdLo = this.holdHi = out;
      else {
        if (out < this.holdLo) this.holdLo = out;
        if (out > this.holdHi) this.holdHi = out;
      }
    }
  }
}

export interface FeedErrorReporterOptions {
  exchange: string;
  /** Component name for the warn line (`cwts_errors_total{component}`), e.g. "binance:market-data". */
  component: string;
  sink: () => MarketEventSink | undefined;
  /** Injectable clock (ms) for the log rate limit. */
  now: () => number;
  /** Default FEED_GUARD_DEFAULTS.logEveryMs. */
  logEveryMs?: number;
}

/**
 * Counts every rejection (sink.onFeedReject -> cwts_feed_errors_total{exchange,symbol,reason})
 * and logs it at a rate-limited warn (sink.onFeedError): the first rejection of a (symbol,
 * reason) is logged at once, later ones at most once per `logEveryMs` with the number held back,
 * so a venue spraying bad frames cannot flood the log. A sink without onFeedReject (an older
 * engine) gets every rejection through onFeedError, so nothing goes uncounted.
 */
export class FeedErrorReporter {
  /** Rejections by reason (tests, harnesses, diagnostics). */
  readonly counts: Record<string, number> = {};
  total = 0;
  private readonly windows = new Map<string, { next: number; held: number }>();

  constructor(private readonly opts: FeedErrorReporterOptions) {}

  reject(symbol: string, reason: FeedRejectReason, detail: string): void {
    this.total++;
    this.counts[reason] = (this.counts[reason] ?? 0) + 1;
    const sink = this.opts.sink();
    if (!sink) return;
    const message = `${this.opts.exchange}${symbol ? ` ${symbol}` : ''}: ${reason}: ${detail}`;
    if (!sink.onFeedReject) {
      sink.onFeedError(this.opts.component, message);
      return;
    }
    const r: FeedReject = { exchange: this.opts.exchange, symbol, reason, detail };
    sink.onFeedReject(r);
    const key = `${symbol}\u0000${reason}`;
    const now = this.opts.now();
    const w = this.windows.get(key);
    if (w && now < w.next) {
      w.held++;
      return;
    }
    const held = w?.held ?? 0;
    this.windows.set(key, { next: now + (this.opts.logEveryMs ?? FEED_GUARD_DEFAULTS.logEveryMs), held: 0 });
    sink.onFeedError(this.opts.component, held > 0 ? `${message} (and ${held} more like it not logged)` : message);
  }
}
