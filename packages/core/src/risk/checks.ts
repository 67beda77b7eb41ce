import type { Clock } from '../contracts/clock.js';
import { monoMs } from '../contracts/mono-ms.js';
import type { BookView, RiskCheck, RiskContext, RiskDecision } from '../contracts/trading.js';
import type { RiskConfig } from '../config/types.js';
import { formatScaled, minNotionalAtoms, notionalAtoms, notionalExponent, parseDecimal, type Instrument } from '../domain/instrument.js';
import type { Side } from '../domain/events.js';
import type { Order, OrderIntent, RejectReason } from '../domain/orders.js';
import { InstrumentMap } from '../domain/instrument-map.js';
import { COMMON_EXPONENT, toCommon, type Position } from './portfolio.js';
import type { RiskStateName } from './risk-state.js';
import { RISK_SELF_TRADE } from './reasons.js';

/**
 * What the checks need beyond the RiskContext contract. The RiskManager implements it over the
 * engine; tests implement it directly. Every method is O(1) or O(open orders / positions) and
 * allocates nothing.
 */
export interface RiskEnv {
  readonly state: RiskStateName;
  readonly stateReason: string;
  /** Open orders across every venue. */
  openOrderCount(): number;
  /** Clock ms of the last book event, undefined when the book does not exist. */
  bookLastUpdate(exchange: string, symbol: string): number | undefined;
  /**
   * `now - bookLastUpdate(exchange, symbol)`, where the env can say it without handing out the
   * timestamp: an epoch ms is no small integer, and returned from a call it is a new heap number
   * on every order, while an age of a few ms is not (book_health uses this when present).
   */
  bookAgeMs?(exchange: string, symbol: string, now: number): number | undefined;
  /** Every position (for the total-notional limit). */
  positions(): Iterable<Position>;
  /**
   * The risk layer's mark of a position in half-ticks, given its book (the RiskManager's, per
   * `[risk] mark`), so the total-position limit values exposure as equity does. Without it:
   * `markHalfTicks`.
   */
  markHalfTicks?(p: Position, book: BookView | undefined): number | undefined;
}

/** The decimals of a quote amount that quoteToAtoms reads (rounded to nearest), the rest are dropped. */
export const QUOTE_DECIMALS = 12;

/**
 * A quote-currency amount from config (a plain number) as atoms at `exponent`, exactly. Here
 * rather than beside MaxPositionCheck, which is built on PositionLimitCheck: the two files
 * importing each other was an import cycle.
 */
export function quoteToAtoms(amount: number, exponent: number): bigint {
  // toFixed switches to exponent form at 1e21: a whole number that large converts exactly as a bigint
  if (Math.abs(amount) >= 1e21) return BigInt(amount) * 10n ** BigInt(exponent);
  const d = parseDecimal(amount.toFixed(QUOTE_DECIMALS).replace(/\.?0+$/, ''));
  const shift = exponent - d.exponent;
  return shift >= 0 ? d.mantissa * 10n ** BigInt(shift) : d.mantissa / 10n ** BigInt(-shift);
}

/**
 * The most an order can trade at from its side, its limit (undefined: a market order) and the
 * touch. The Kelly sizer values lots by the same rule, so an order it clipped to a limit is not
 * refused by that limit. For a market sell the bid is the most; for a market buy the ask is only
 * the least it pays: IntentFacts.highestPrice walks the book instead (sweepAskPrice), and this
 * answer is a floor (what the engine compares a router's plan price with).
 */
export function highestTradePrice(side: Side, limit: number | undefined, bid: number | undefined, ask: number | undefined): number | undefined {
  if (limit === undefined) return side === 'buy' ? ask : bid;
  return side === 'sell' && bid !== undefined && bid > limit ? bid : limit;
}

/** Levels read per step of sweepAskPrice, and the most it reads before it gives up. */
const SWEEP_FIRST = 16;
const SWEEP_MAX = 4096;
/** Level buffer of sweepAskPrice, shared (single-threaded; no caller holds it across a call). Grows once, then reused. */
const sweepLevels: { price: number; qty: number }[] = [];

/**
 * The deepest ask a market buy of `qty` lots reaches in `book`: the most it can trade at.
 * Undefined when the book's asks (at most SWEEP_MAX levels) do not add up to `qty`: how far
 * past the visible depth it would go is unknown, so the callers refuse it (NO_LIQUIDITY) rather
 * than value it at a price it may well exceed. Valued at the best ask, a 400-lot market buy
 * with 100 lots at 60 000 passed max_order_notional and max_position at 60 000 x 400 and took
 * the rest at 90 000. Allocates nothing once the buffer holds the levels it needs; a level
 * quantity that is not a number never adds up (fails closed).
 */
export function sweepAskPrice(book: BookView, qty: number): number | undefined {
  for (let want = SWEEP_FIRST; ; want *= 4) {
    const got = book.topLevels('ask', want, sweepLevels);
    let sum = 0;
    for (let k = 0; k < got; k++) {
      const l = sweepLevels[k]!;
      sum += l.qty;
      if (sum >= qty) return l.price;
    }
    if (got < want || want >= SWEEP_MAX) return undefined;
  }
}

export const OK: RiskDecision = Object.freeze({ ok: true }) as RiskDecision;

function reject(reason: RejectReason, message: string): RiskDecision {
  return { ok: false, reason, message };
}

const dirOf = (intent: Readonly<OrderIntent>): 1 | -1 => (intent.side === 'buy' ? 1 : -1);

const NO_ORDERS: readonly Readonly<Order>[] = [];

/**
 * What every check needs about one intent, looked up once per run of the checks: the
 * instrument, the book and its touch, the position and our open orders on the instrument. The
 * checks of one chain share one instance. instrument_rules loads it: it is the first check that
 * reads it in a run of the whole chain (risk_state reads it only when not ACTIVE, and then loads
 * it itself) and the first parent check (RiskCheck.parent), so a routed parent's run, which
 * skips risk_state, loads it too. The checks after it in the run reuse it (`of`). Nothing is
 * reused from an earlier run: the same intent object can come back with the market moved (a
 * retry after a refusal before the chain) or rewritten (a pooled intent), and a parent once was
 * valued at the touch of its previous submit. A check built on its own loads every time.
 */
export class IntentFacts {
  intent: Readonly<OrderIntent> | undefined;
  ctx: RiskContext | undefined;
  instrument: Instrument | undefined;
  book: BookView | undefined;
  bid: number | undefined;
  ask: number | undefined;
  pos = 0;
  open: readonly Readonly<Order>[] = NO_ORDERS;
  private resting = -1;
  /** The synced book, else undefined (what bid and ask were read from). */
  private live: BookView | undefined;
  /** sweepAskPrice of a market buy in this run: NaN until asked, undefined when the asks do not cover it. */
  private swept: number | undefined = NaN;
  /**
   * In a context with `liveBooks` (the engine), instrument and book objects are stable per
   * (exchange, symbol) once they exist, so a shared instance keeps them per pair for the last
   * such context it saw; a pair whose instrument or book is still missing is looked up each time.
   */
  private pairs = new InstrumentMap<{ instrument: Instrument; book: BookView }>();
  private pairsCtx: RiskContext | undefined;

  constructor(readonly shared = false) {}

  load(intent: Readonly<OrderIntent>, ctx: RiskContext): this {
    this.intent = intent;
    this.ctx = ctx;
    let b: BookView | undefined;
    const known = ctx === this.pairsCtx ? this.pairs.get(intent.exchange, intent.symbol) : undefined;
    if (known !== undefined) {
      this.instrument = known.instrument;
      b = known.book;
    } else {
      const instrument = ctx.instrument(intent.exchange, intent.symbol);
      b = ctx.book(intent.exchange, intent.symbol);
      if (this.shared && ctx.liveBooks === true && instrument !== undefined && b !== undefined) {
        if (ctx !== this.pairsCtx) {
          this.pairs = new InstrumentMap();
          this.pairsCtx = ctx;
        }
        this.pairs.set(intent.exchange, intent.symbol, { instrument, book: b });
      }
      this.instrument = instrument;
    }
    this.book = b;
    // A book that is not SYNCED (stale, resyncing, crossed, disconnected with its old levels) is
    // known to be wrong and values nothing, as no book. The engine sends no order on one, but a
    // routed parent is checked on its own venue whatever that book's state: a market parent was
    // valued at a frozen ask half the market's and its children on the synced venues traded 2x
    // max_order_notional.
    const live = b !== undefined && b.synced ? b : undefined;
    this.live = live;
    this.bid = live?.bestBid();
    this.ask = live?.bestAsk();
    this.pos = ctx.positions.qty(intent.exchange, intent.symbol);
    this.open = ctx.openOrders(intent.exchange, intent.symbol);
    this.resting = -1;
    this.swept = NaN;
    return this;
  }

  /** The facts loaded earlier in this run (by instrument_rules), else loaded now. */
  of(intent: Readonly<OrderIntent>, ctx: RiskContext): this {
    return this.shared && this.intent === intent && this.ctx === ctx ? this : this.load(intent, ctx);
  }

  /** Remaining quantity of our open orders on the intent's side. */
  restingSameSide(): number {
    if (this.resting < 0) {
      let n = 0;
      const side = this.intent!.side;
      for (let k = 0; k < this.open.length; k++) {
        const o = this.open[k]!;
        if (o.side === side) n += o.qty - o.filledQty;
      }
      this.resting = n;
    }
    return this.resting;
  }

  reduces(): boolean {
    const pos = this.pos;
    if (pos === 0 || Math.sign(pos) === dirOf(this.intent!)) return false;
    return this.intent!.qty + this.restingSameSide() <= Math.abs(pos);
  }

  /** The order's own price, as a venue values it (minimum notional): its limit, or the far touch for a market order. */
  valuationPrice(): number | undefined {
    const i = this.intent!;
    if (i.type === 'limit') return i.price;
    return i.side === 'buy' ? this.ask : this.bid;
  }

  /**
   * The most the order can trade at, which bounds its notional and the position it makes from
   * above: a buy limit's price; a sell limit's price or the best bid, the higher (a sell under
   * the bid trades at the bid: at its limit, a routed sell at 1 tick was worth nothing to
   * max_order_notional and sold 3x the limit across venues); for a market sell the best bid
   * (deeper bids are lower); for a market buy the deepest ask its quantity reaches
   * (sweepAskPrice), undefined when the synced book's asks do not cover it.
   */
  highestPrice(): number | undefined {
    const i = this.intent!;
    if (i.type === 'limit' || i.side === 'sell') return highestTradePrice(i.side, i.type === 'limit' ? i.price : undefined, this.bid, this.ask);
    if (this.live === undefined || this.ask === undefined) return undefined;
    if (Number.isNaN(this.swept)) this.swept = sweepAskPrice(this.live, i.qty);
    return this.swept;
  }

  /** Why highestPrice() has no answer, for a refusal. */
  noPriceWhy(): string {
    const i = this.intent!;
    return i.type !== 'limit' && i.side === 'buy' && this.ask !== undefined
      ? `the visible asks on ${i.exchange}:${i.symbol} do not cover a market buy of ${i.qty} lots: its price is unbounded`
      : `no price to value a market order on ${i.symbol}`;
  }
}

/** Remaining quantity of our open orders on the intent's instrument and side. */
export function restingSameSide(intent: Readonly<OrderIntent>, ctx: RiskContext): number {
  return new IntentFacts().load(intent, ctx).restingSameSide();
}

/**
 * An order reduces exposure when it is on the opposite side of the current position and, with
 * our resting orders on the same side, cannot flip the position past flat.
 */
export function reducesExposure(intent: Readonly<OrderIntent>, ctx: RiskContext): boolean {
  return new IntentFacts().load(intent, ctx).reduces();
}

interface Scale {
  /** priceScale.mantissa x qtyScale.mantissa, as a number. */
  m: number;
  /** Quote value of one tick x lot (m x 10^-exponent), for float estimates. */
  unit: number;
  exponent: number;
}
const scales = new WeakMap<Instrument, Scale>();
// One chain asks for the same instrument's scale several times in a row: the last one is kept.
let lastScaled: Instrument | undefined;
let lastScale: Scale | undefined;
function scaleOf(i: Instrument): Scale {
  if (i === lastScaled) return lastScale!;
  let s = scales.get(i);
  if (!s) {
    const m = Number(i.priceScale.mantissa * i.qtyScale.mantissa);
    const exponent = notionalExponent(i);
    s = { m, unit: m * 10 ** -exponent, exponent };
    scales.set(i, s);
  }
  lastScaled = i;
  lastScale = s;
  return s;
}

/**
 * Notional atoms of `lots` at `ticks` as a number when the product is exact (below 2^53; every
 * factor is a positive integer, so no intermediate is larger), else -1: the caller uses bigint.
 */
function notionalNum(i: Instrument, ticks: number, lots: number): number {
  const v = ticks * lots * scaleOf(i).m;
  return v <= Number.MAX_SAFE_INTEGER ? v : -1;
}

/** An amount in notional atoms: bigint, and the same number when it is exact (else -1). */
interface Atoms {
  big: bigint;
  num: number;
}
const atoms = (big: bigint): Atoms => ({ big, num: big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : -1 });

/** A value computed once per instrument; a chain asks for one instrument several times in a row, so the last is kept at hand. */
class PerInstrument<V> {
  private readonly cache = new Map<Instrument, V>();
  private lastI: Instrument | undefined;
  private lastV: V | undefined;
  constructor(private readonly compute: (i: Instrument) => V) {}
  for(i: Instrument): V {
    if (i === this.lastI) return this.lastV!;
    let v = this.cache.get(i);
    if (v === undefined) {
      v = this.compute(i);
      this.cache.set(i, v);
    }
    this.lastI = i;
    this.lastV = v;
    return v;
  }
}

/** A quote-currency limit from config in each instrument's notional atoms. */
const atomLimit = (amount: number): PerInstrument<Atoms> => new PerInstrument((i) => atoms(quoteToAtoms(amount, notionalExponent(i))));

/** notional(i, ticks, lots) > limit, exactly; number arithmetic when exact, bigint otherwise. */
function above(i: Instrument, ticks: number, lots: number, limit: Atoms): boolean {
  const n = notionalNum(i, ticks, lots);
  if (n >= 0 && limit.num >= 0) return n > limit.num;
  return notionalAtoms(i, ticks, lots) > limit.big;
}

// ---- 1. risk state ------------------------------------------------------------------------

/** HALTED refuses everything; REDUCING lets only exposure-reducing orders through. */
export class RiskStateCheck implements RiskCheck {
  readonly name = 'risk_state';
  constructor(private readonly env: RiskEnv, private readonly facts = new IntentFacts()) {}
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    const s = this.env.state;
    if (s === 'ACTIVE') return OK;
    if (s === 'HALTED') return reject('KILL_SWITCH', `risk state HALTED (${this.env.stateReason}): no new orders`);
    const f = this.facts.load(intent, ctx);
    if (f.reduces()) return OK;
    return reject(
      'RISK_STATE',
      `risk state REDUCING (${this.env.stateReason}): only orders that reduce exposure are accepted; ${intent.side} ${intent.qty} lots ${intent.symbol} with position ${f.pos} lots`,
    );
  }
}

// ---- 2. instrument rules ------------------------------------------------------------------

/**
 * Tick and lot: prices and quantities are integers in ticks and lots, so "on the grid" means a
 * positive safe integer. Min notional: price x qty at least the instrument's `minNotional`.
 */
export class InstrumentRulesCheck implements RiskCheck {
  readonly name = 'instrument_rules';
  /** A routed parent must be an order on its own instrument's grid too (RiskCheck.parent). */
  readonly parent = true;
  private readonly minAtoms = new PerInstrument((i) => atoms(minNotionalAtoms(i)));
  constructor(private readonly facts = new IntentFacts()) {}
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    // The first check of every run that reads the facts, a parent's run included: loads them.
    const f = this.facts.load(intent, ctx);
    const i = f.instrument;
    if (!i) return reject('INVALID_ORDER', `unknown instrument ${intent.exchange}:${intent.symbol}`);
    if (!Number.isSafeInteger(intent.qty)) return reject('OFF_GRID', `quantity ${intent.qty} is not a whole number of lots (lot ${i.lotSize})`);
    if (intent.qty <= 0) return reject('INVALID_ORDER', `quantity must be positive, got ${intent.qty} lots`);
    if (intent.type === 'limit') {
      if (!Number.isSafeInteger(intent.price)) return reject('OFF_GRID', `price ${intent.price} is not a whole number of ticks (tick ${i.tickSize})`);
      if (intent.price! <= 0) return reject('INVALID_ORDER', `limit price must be positive, got ${intent.price} ticks`);
    }
    const min = this.minAtoms.for(i);
    if (min.big === 0n) return OK;
    const price = f.valuationPrice();
    if (price === undefined) return reject('NO_LIQUIDITY', `no price to value a market order on ${intent.symbol}`);
    const n = notionalNum(i, price, intent.qty);
    if (n >= 0 && min.num >= 0 ? n < min.num : notionalAtoms(i, price, intent.qty) < min.big) {
      const notional = notionalAtoms(i, price, intent.qty);
      return reject('MIN_NOTIONAL', `order notional ${formatScaled(notional, notionalExponent(i))} ${i.quote} is below the minimum ${i.minNotional} of ${i.symbol}`);
    }
    return OK;
  }
}

export { minNotionalAtoms };

// ---- 2b. reduce-only ----------------------------------------------------------------------

/**
 * An order flagged `reduceOnly` must only reduce its venue's position: opposite the position,
 * and with our resting orders on its side at most the position (the REDUCING rule, `reduces()`),
 * so that it cannot flip the position whatever fills. Otherwise it is refused, not cut down: a
 * check answers yes or no and never rewrites an order, and a smaller order than the one asked
 * for is the strategy's to choose (docs/risk.md, "Reduce-only orders"). Venues enforce the flag
 * only where they have one (derivatives through ccxt); the paper client and spot venues ignore
 * it, and an "exit" once flipped the position. Built in: it runs in every chain, whatever
 * `[risk]` says, and on a routed parent as a whole (a parent check).
 */
export class ReduceOnlyCheck implements RiskCheck {
  readonly name = 'reduce_only';
  readonly parent = true;
  constructor(private readonly facts = new IntentFacts()) {}
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    if (intent.reduceOnly !== true) return OK;
    const f = this.facts.of(intent, ctx);
    if (f.reduces()) return OK;
    const pos = f.pos;
    const resting = f.restingSameSide();
    const why =
      pos === 0 ? 'there is no position to reduce'
      : Math.sign(pos) === dirOf(intent) ? `it would add to the ${pos > 0 ? 'long' : 'short'} position`
      : `with our resting ${intent.side} orders (${resting} lots) it could take the position past flat: at most ${Math.max(0, Math.abs(pos) - resting)} lots may go out`;
    return reject('INVALID_ORDER', `reduce-only ${intent.side} ${intent.qty} lots ${intent.exchange}:${intent.symbol} with position ${pos} lots: ${why}`);
  }
}

// ---- 3. book health -----------------------------------------------------------------------

/**
 * No new risk on a book that is not SYNCED or has had no update for longer than `staleAfterMs`.
 * An order that reduces exposure may still go out on a book that is only stale by age.
 */
export class BookHealthCheck implements RiskCheck {
  readonly name = 'book_health';
  constructor(private readonly env: RiskEnv, readonly staleAfterMs: number, private readonly facts = new IntentFacts()) {}
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    const f = this.facts.of(intent, ctx);
    const b = f.book;
    if (!b || !b.synced) return reject('BOOK_NOT_SYNCED', `book ${intent.exchange}:${intent.symbol} is not synced`);
    const env = this.env;
    let age: number | undefined;
    if (env.bookAgeMs !== undefined) age = env.bookAgeMs(intent.exchange, intent.symbol, ctx.now);
    else {
      const last = env.bookLastUpdate(intent.exchange, intent.symbol);
      age = last === undefined ? undefined : ctx.now - last;
    }
    if (age === undefined) return reject('BOOK_NOT_SYNCED', `book ${intent.exchange}:${intent.symbol} is missing`);
    if (age > this.staleAfterMs && !f.reduces()) {
      return reject('BOOK_NOT_SYNCED', `book ${intent.exchange}:${intent.symbol} is stale: no update for ${age} ms (limit ${this.staleAfterMs} ms)`);
    }
    return OK;
  }
}

// ---- 4. price band ------------------------------------------------------------------------

/**
 * Fat-finger band: a limit price may be at most `price_band_bps` basis points from the mid
 * (from the one side present when the book is one-sided). Exact integer test in half-ticks:
 * |2 p - (bid + ask)| x 10^6 <= bps x 100 x (bid + ask) (bps kept to 1/100 bp). Market orders
 * have no price to check; max_order_notional bounds them.
 */
export class PriceBandCheck implements RiskCheck {
  readonly name = 'price_band';
  private readonly bandCentiBps: number;
  constructor(readonly bps: number, private readonly facts = new IntentFacts()) {
    this.bandCentiBps = Math.round(bps * 100);
  }
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    if (intent.type !== 'limit') return OK;
    const f = this.facts.of(intent, ctx);
    const bid = f.bid;
    const ask = f.ask;
    const mid2 = bid !== undefined && ask !== undefined ? bid + ask : bid !== undefined ? 2 * bid : ask !== undefined ? 2 * ask : undefined;
    if (mid2 === undefined) return reject('NO_LIQUIDITY', `no mid on ${intent.exchange}:${intent.symbol} to check the price band against`);
    const dev = Math.abs(2 * intent.price! - mid2);
    const lhs = dev * 1_000_000;
    const rhs = this.bandCentiBps * mid2;
    const inside = lhs <= Number.MAX_SAFE_INTEGER && rhs <= Number.MAX_SAFE_INTEGER ? lhs <= rhs : BigInt(dev) * 1_000_000n <= BigInt(this.bandCentiBps) * BigInt(mid2);
    if (inside) return OK;
    return reject('RISK_PRICE_BAND', `limit price ${intent.price} ticks is ${((dev / mid2) * 10_000).toFixed(2)} bps from the mid ${mid2 / 2} ticks, outside risk.price_band_bps ${this.bps}`);
  }
}

// ---- 5. max order notional ----------------------------------------------------------------

export class MaxOrderNotionalCheck implements RiskCheck {
  readonly name = 'max_order_notional';
  /** A fat-finger limit holds for the whole order, not for each child a router splits it into (RiskCheck.parent). */
  readonly parent = true;
  private readonly limit: PerInstrument<Atoms>;
  constructor(readonly maxOrderNotional: number, private readonly facts = new IntentFacts()) {
    this.limit = atomLimit(maxOrderNotional);
  }
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    const f = this.facts.of(intent, ctx);
    const i = f.instrument;
    if (!i) return reject('INVALID_ORDER', `unknown instrument ${intent.exchange}:${intent.symbol}`);
    const price = f.highestPrice();
    if (price === undefined) return reject('NO_LIQUIDITY', f.noPriceWhy());
    if (above(i, price, intent.qty, this.limit.for(i))) {
      const notional = notionalAtoms(i, price, intent.qty);
      return reject('RISK_MAX_ORDER_NOTIONAL', `order notional ${formatScaled(notional, notionalExponent(i))} ${i.quote} is above risk.max_order_notional ${this.maxOrderNotional}`);
    }
    return OK;
  }
}

// ---- 6. position limits -------------------------------------------------------------------

/**
 * Position notional after the order, worst case: the position plus this order plus our other
 * resting orders on the same side, valued at the most the order can trade at
 * (IntentFacts.highestPrice). Per venue and symbol against `max_position`; with `max_total_position`, the
 * sum of absolute position notionals across all instruments (others at the risk layer's mark,
 * RiskEnv.markHalfTicks, by default the mid of a synced book, else its last synced mid, else the last fill) as well, and
 * each other instrument's working orders where they can grow its position (the lots beyond it
 * they could add, valued at the most they can trade at; RiskContext.allOpenOrders). Every
 * quote is counted as the account currency (the RiskManager refuses to start on an instrument
 * quoted in another: risk/account-currency.ts). An order that reduces the position without
 * taking it past flat, counting our resting orders on its side (IntentFacts.reduces), always
 * passes: a limit must never block an exit.
 *
 * A parent check too (RiskCheck.parent): a routed parent is checked whole, as one order on its
 * own venue, before it is split. Each child alone was under the limits, and no child counted
 * its siblings working on other venues: a 350-lot buy refused as GTC went out as IOC children
 * on three venues and held 210 against a max_total_position of 150.
 */
export class PositionLimitCheck implements RiskCheck {
  readonly name = 'max_position';
  readonly parent = true;
  private readonly perSymbol: PerInstrument<Atoms>;
  /** Other instruments' working orders, summed per instrument in each run (reused between runs). */
  private readonly working = new InstrumentMap<Working>();
  private readonly workingList: Working[] = [];
  private workingRun = 0;
  private readonly totalCommon: bigint | undefined;
  /**
   * Each other position's book and float unit, by its place in `env.positions()`, kept while
   * that place holds the same position in the same context (positions are only ever added).
   * A context whose books are not live (`liveBooks`) has its book looked up every time.
   */
  private marks: Mark[] = [];
  private marksCtx: RiskContext | undefined;
  private readonly markOfPosition: (p: Position, book: BookView | undefined) => number | undefined;

  constructor(
    private readonly env: RiskEnv,
    readonly maxPosition: number,
    readonly maxTotalPosition?: number,
    private readonly facts = new IntentFacts(),
  ) {
    this.perSymbol = atomLimit(maxPosition);
    this.totalCommon = maxTotalPosition === undefined ? undefined : quoteToAtoms(maxTotalPosition, COMMON_EXPONENT);
    this.markOfPosition = env.markHalfTicks === undefined ? markHalfTicks : (p, book) => env.markHalfTicks!(p, book);
  }

  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    const f = this.facts.of(intent, ctx);
    const i = f.instrument;
    if (!i) return reject('INVALID_ORDER', `unknown instrument ${intent.exchange}:${intent.symbol}`);
    const pos = f.pos;
    const dir = dirOf(intent);
    // An exit passes whatever the limit; an order that with our resting orders on its side could
    // take the position past flat is not one (ten resting "exits" of 2x the position each passed
    // when this looked at the order alone, and filled to 19x the limit the other way).
    if (f.reduces()) return OK;
    const price = f.highestPrice();
    if (price === undefined) return reject('NO_LIQUIDITY', f.noPriceWhy());
    const worst = Math.abs(pos + dir * (intent.qty + f.restingSameSide()));
    if (above(i, price, worst, this.perSymbol.for(i))) {
      const notional = notionalAtoms(i, price, worst);
      return reject('RISK_MAX_POSITION', `position ${intent.symbol} could reach ${formatScaled(notional, notionalExponent(i))} ${i.quote} (with resting orders), above risk.max_position ${this.maxPosition}`);
    }
    if (this.maxTotalPosition === undefined) return OK;
    // Float estimate first; only a total within 1e-9 of the limit is recomputed exactly.
    const limit = this.maxTotalPosition;
    let est = price * worst * scaleOf(i).unit;
    if (ctx !== this.marksCtx) {
      this.marks = [];
      this.marksCtx = ctx;
    }
    let k = -1;
    for (const p of this.env.positions()) {
      k++;
      if (p.qty === 0 || samePair(p.instrument, i)) continue;
      const m = this.markOf(k, p, ctx);
      const mark2 = this.markOfPosition(p, m.book);
      if (mark2 !== undefined) est += mark2 * 0.5 * Math.abs(p.qty) * m.unit;
    }
    const others = this.othersWorking(i, f.open.length, ctx);
    if (others < 0) return reject('NO_LIQUIDITY', `a working market order on another instrument has no price to value it by for risk.max_total_position (no touch, or a buy beyond the visible asks)`);
    for (let w = 0; w < others; w++) {
      const x = this.workingList[w]!;
      if (x.run === this.workingRun && x.extraLots > 0) est += x.extraPrice * x.extraLots * scaleOf(x.instrument).unit;
    }
    if (est < limit * (1 - 1e-9)) return OK;
    const exact = this.exactTotal(i, price, worst, ctx, others);
    if (est <= limit * (1 + 1e-9) && exact <= this.totalCommon!) return OK;
    // The refusal names the exact total: the float estimate's last digit depends on the order the
    // positions and working orders were summed in, and the same order must read the same.
    est = Number(exact) / 10 ** COMMON_EXPONENT;
    return reject('RISK_MAX_POSITION', `total position notional could reach ${est.toFixed(2)}${others > 0 ? ' (with working orders on other instruments)' : ''}, above risk.max_total_position ${limit}`);
  }

  /**
   * What the total counts besides `own`'s position and orders, exactly, in quote units x 10^-18
   * (the rule of `check`, from the same code): every other position at the risk layer's mark and
   * every other instrument's working orders where they can grow its position. Undefined when a
   * working market order elsewhere has no price to value it by (`check` then refuses every order
   * that grows a position, NO_LIQUIDITY). What `otherExposureOf` reads.
   */
  othersExact(own: Instrument, ctx: RiskContext): bigint | undefined {
    const others = this.othersWorking(own, ctx.openOrders(own.exchange, own.symbol).length, ctx);
    return others < 0 ? undefined : this.exactOthers(own, ctx, others);
  }

  /**
   * Other instruments' working orders (sumWorking), only when there are any: our open orders,
   * `ownOpen` of them on `own`, are not all on `own`. 0 when none are counted (also without
   * RiskContext.allOpenOrders).
   */
  private othersWorking(own: Instrument, ownOpen: number, ctx: RiskContext): number {
    if (ctx.allOpenOrders === undefined || this.env.openOrderCount() <= ownOpen) return 0;
    return this.sumWorking(own, ownOpen, ctx);
  }

  /**
   * Sums the open orders of every instrument but `own` into `workingList` (this run's entries
   * carry `run === workingRun`) and sets each one's worst growth: the lots beyond its position
   * that its buys (or its sells) could add, whichever side is worth more at the most its orders
   * can trade at (a buy limit's price; a sell limit's or the bid, the higher; a market sell at
   * the bid, a market buy at the deepest ask its remaining quantity reaches). Returns how many
   * entries `workingList` holds, or -1 when a working market order has no price to value it by.
   * `ownOpen`: our open orders on `own`.
   */
  private sumWorking(own: Instrument, ownOpen: number, ctx: RiskContext): number {
    const run = ++this.workingRun;
    // The instruments met in earlier runs usually hold every open order: when their own arrays
    // (shared by the context, never copied) count as many orders as there are, they are read
    // instead of allOpenOrders(), which a host may build anew on every call (the engine's did). The
    // counts are exact: an order anywhere else makes the total larger than their sum.
    const known = this.workingList.length;
    let covered = ownOpen;
    for (let w = 0; w < known; w++) {
      const x = this.workingList[w]!;
      x.orders = samePair(x.instrument, own) ? NO_ORDERS : ctx.openOrders(x.instrument.exchange, x.instrument.symbol);
      covered += x.orders.length;
    }
    if (covered === this.env.openOrderCount()) {
      for (let w = 0; w < known; w++) {
        const x = this.workingList[w]!;
        const orders = x.orders;
        x.orders = NO_ORDERS;
        for (let k = 0; k < orders.length; k++) if (!this.addWorking(x, orders[k]!, run, ctx)) return -1;
      }
    } else {
      for (let w = 0; w < known; w++) this.workingList[w]!.orders = NO_ORDERS;
      const all = ctx.allOpenOrders!();
      for (let k = 0; k < all.length; k++) {
        const o = all[k]!;
        if (o.exchange === own.exchange && o.symbol === own.symbol) continue;
        let x = this.working.get(o.exchange, o.symbol);
        if (x === undefined) {
          const instrument = ctx.instrument(o.exchange, o.symbol);
          if (instrument === undefined) continue; // nothing to value it in; not an order the engine can have sent
          x = { instrument, run: 0, buy: 0, sell: 0, buyPrice: 0, sellPrice: 0, extraLots: 0, extraPrice: 0, orders: NO_ORDERS };
          this.working.set(o.exchange, o.symbol, x);
          this.workingList.push(x);
        }
        if (!this.addWorking(x, o, run, ctx)) return -1;
      }
    }
    for (let w = 0; w < this.workingList.length; w++) {
      const x = this.workingList[w]!;
      if (x.run !== run) continue;
      const q = ctx.positions.qty(x.instrument.exchange, x.instrument.symbol);
      const up = Math.max(0, Math.abs(q + x.buy) - Math.abs(q));
      const down = Math.max(0, Math.abs(q - x.sell) - Math.abs(q));
      // the side worth more (a float comparison only picks the side; the chosen side is valued exactly below when it matters)
      if (up * x.buyPrice >= down * x.sellPrice) {
        x.extraLots = up;
        x.extraPrice = x.buyPrice;
      } else {
        x.extraLots = down;
        x.extraPrice = x.sellPrice;
      }
    }
    return this.workingList.length;
  }

  /**
   * Adds one working order to its instrument's sums for run `run`; false when it is a market
   * order with no price to value it by (no touch; a buy whose remaining quantity the asks do not cover).
   */
  private addWorking(x: Working, o: Readonly<Order>, run: number, ctx: RiskContext): boolean {
    if (x.run !== run) {
      x.run = run;
      x.buy = x.sell = x.buyPrice = x.sellPrice = 0;
    }
    const left = o.qty - o.filledQty;
    if (left <= 0) return true;
    let px: number | undefined;
    if (o.side === 'buy') {
      if (o.type === 'limit') px = o.price;
      else {
        // its remaining quantity may sweep past the best ask, as a new market buy's (IntentFacts.highestPrice)
        const b = ctx.book(o.exchange, o.symbol);
        px = b === undefined || b.bestAsk() === undefined ? undefined : sweepAskPrice(b, left);
      }
      x.buy += left;
      if (px !== undefined && px > x.buyPrice) x.buyPrice = px;
    } else {
      const bid = ctx.book(o.exchange, o.symbol)?.bestBid();
      px = o.type === 'limit' ? (bid !== undefined && bid > o.price! ? bid : o.price) : bid;
      x.sell += left;
      if (px !== undefined && px > x.sellPrice) x.sellPrice = px;
    }
    return px !== undefined;
  }

  private markOf(k: number, p: Position, ctx: RiskContext): Mark {
    let m = this.marks[k];
    if (m === undefined || m.position !== p) {
      m = { position: p, book: undefined, unit: scaleOf(p.instrument).unit };
      this.marks[k] = m;
    }
    if (m.book === undefined || ctx.liveBooks !== true) m.book = ctx.book(p.instrument.exchange, p.instrument.symbol);
    return m;
  }

  /** The total in quote units x 10^-18, exactly; other positions' half-tick marks rounded up. */
  private exactTotal(i: Instrument, price: number, worst: number, ctx: RiskContext, working: number): bigint {
    return toCommon(notionalAtoms(i, price, worst), notionalExponent(i)) + this.exactOthers(i, ctx, working);
  }

  /** exactTotal less `i`'s own term: other positions and this run's `working` entries of other instruments' orders. */
  private exactOthers(i: Instrument, ctx: RiskContext, working: number): bigint {
    let total = 0n;
    for (const p of this.env.positions()) {
      if (p.qty === 0 || samePair(p.instrument, i)) continue;
      const mark2 = this.markOfPosition(p, ctx.book(p.instrument.exchange, p.instrument.symbol));
      if (mark2 === undefined) continue;
      total += toCommon((notionalAtoms(p.instrument, mark2, Math.abs(p.qty)) + 1n) / 2n, notionalExponent(p.instrument));
    }
    for (let w = 0; w < working; w++) {
      const x = this.workingList[w]!;
      if (x.run === this.workingRun && x.extraLots > 0) total += toCommon(notionalAtoms(x.instrument, x.extraPrice, x.extraLots), notionalExponent(x.instrument));
    }
    return total;
  }
}

/** One PositionLimitCheck per env for otherExposureOf (its scratch is reused between calls; no limits). */
const exposureChecks = new WeakMap<RiskEnv, PositionLimitCheck>();

/**
 * What `max_total_position` (check 7, PositionLimitCheck) adds to an order on `instrument`
 * besides that instrument's own position and orders, in quote currency: every other position at
 * the risk layer's mark and every other instrument's working orders where they can grow its
 * position, valued at the most they can trade at. The check's own code computes it, from the
 * same inputs: `env` (the RiskManager) and `ctx` (the engine, which a strategy's context is; a
 * context without `allOpenOrders` counts no working orders, as the check then does). Rounded
 * up, so that a size clipped to the limit less this passes the check. Infinity while a working
 * market order elsewhere has no price to value it by: the check then refuses every order that
 * grows a position (NO_LIQUIDITY), and `kellySize` sizes no room. Pass it as `otherExposure`.
 * Not for the order path: it allocates.
 */
export function otherExposureOf(env: RiskEnv, ctx: RiskContext, instrument: Instrument): number {
  let c = exposureChecks.get(env);
  if (c === undefined) {
    c = new PositionLimitCheck(env, Infinity);
    exposureChecks.set(env, c);
  }
  const exact = c.othersExact(instrument, ctx);
  if (exact === undefined) return Infinity;
  // Up to the amount's last decimal as quoteToAtoms reads it, and to a double that reads back at
  // least that: under the exact sum, the sizer's clip left room for a lot the check refuses.
  const unit = 10n ** BigInt(COMMON_EXPONENT - QUOTE_DECIMALS);
  const up = (exact + unit - 1n) / unit;
  let n = Number(formatScaled(up, QUOTE_DECIMALS));
  while (Number.isFinite(n) && quoteToAtoms(n, QUOTE_DECIMALS) < up) n += Math.max(Number.MIN_VALUE, n * Number.EPSILON);
  return n;
}

/**
 * The order's own instrument, whose position is counted as `worst` already. By venue and symbol,
 * not by object: a position restored from the journal once held the journal's definition object,
 * and after every restart the order's own position was counted twice in max_total_position.
 */
const samePair = (a: Instrument, b: Instrument): boolean => a === b || (a.exchange === b.exchange && a.symbol === b.symbol);

/** One other instrument's working orders in a run of PositionLimitCheck (lots, ticks). */
interface Working {
  readonly instrument: Instrument;
  run: number;
  buy: number;
  sell: number;
  /** The most the buys (sells) can trade at. */
  buyPrice: number;
  sellPrice: number;
  /** What the total counts: lots beyond the position, and their price. */
  extraLots: number;
  extraPrice: number;
  /** Scratch of sumWorking: its open orders as the context handed them out in this run. */
  orders: readonly Readonly<Order>[];
}

interface Mark {
  readonly position: Position;
  book: BookView | undefined;
  readonly unit: number;
}

/**
 * The mid of a book in half-ticks while the book is synced and has both sides, else undefined.
 * A book that is not synced (crossed, resyncing, disconnected with its old levels) is known to be
 * wrong: one bad ask at 1 tick halved a position's value in the total-position limit.
 */
export function midHalfTicks(book: BookView | undefined): number | undefined {
  if (book === undefined || !book.synced) return undefined;
  const bid = book.bestBid();
  const ask = book.bestAsk();
  return bid !== undefined && ask !== undefined ? bid + ask : undefined;
}

/**
 * Mark of a position in half-ticks from what is at hand (docs/risk.md, "Mark"): the mid of its
 * book while the book is synced (midHalfTicks), else the position's last fill. The RiskManager's
 * mark (RiskEnv.markHalfTicks, which the engine provides) also keeps each book's last synced mid
 * and uses it before the last fill; this is the rule without it.
 */
export function markHalfTicks(p: Position, book: BookView | undefined): number | undefined {
  const mid2 = midHalfTicks(book);
  if (mid2 !== undefined) return mid2;
  return p.lastPrice === undefined ? undefined : 2 * p.lastPrice;
}

// ---- 7. open orders -----------------------------------------------------------------------

/** At most `max_open_orders` open orders across all venues: at the limit, the next is refused. */
export class MaxOpenOrdersCheck implements RiskCheck {
  readonly name = 'max_open_orders';
  constructor(private readonly env: RiskEnv, readonly maxOpenOrders: number) {}
  check(): RiskDecision {
    const n = this.env.openOrderCount();
    if (n < this.maxOpenOrders) return OK;
    return reject('RISK_MAX_OPEN_ORDERS', `${n} open orders, at risk.max_open_orders ${this.maxOpenOrders}`);
  }
}

// ---- 8. self-trade prevention -------------------------------------------------------------

/**
 * Refuses an order that would cross one of our own resting orders on the same venue and symbol
 * (a buy at or above our resting sell, a sell at or below our resting buy; a market order
 * crosses any). Policy "cancel newest": the resting order stays, the new one is refused.
 */
export class SelfTradeCheck implements RiskCheck {
  readonly name = 'self_trade';
  constructor(private readonly facts = new IntentFacts()) {}
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    const open = this.facts.of(intent, ctx).open;
    if (open.length === 0) return OK;
    const buy = intent.side === 'buy';
    const market = intent.type !== 'limit';
    const p = intent.price!;
    for (let k = 0; k < open.length; k++) {
      const o = open[k]!;
      if (o.side === intent.side || o.type !== 'limit') continue;
      if (market || (buy ? o.price! <= p : o.price! >= p)) {
        return reject(RISK_SELF_TRADE, `${intent.side} ${market ? 'at market' : `at ${p} ticks`} would trade against our own resting ${o.side} ${o.clientOrderId} at ${o.price} ticks`);
      }
    }
    return OK;
  }
}

// ---- 9. order rate ------------------------------------------------------------------------

interface Bucket {
  /** Tokens x 1000 (milli-tokens), so refills of `rate` per ms stay exact for integer rates. */
  level: number;
  at: number;
}

/**
 * A check that spends something on each order it passes (order_rate: a token), and takes it back
 * through this method when the order does not go out after all: a check after it refused the
 * order (a `[risk_checks]` plugin runs after core's whole chain), or it could not be sent. The
 * engine calls it, synchronously, right after the refusal, on every check that passed the order.
 * A symbol, not a name: an internal protocol of core's checks, not part of the RiskCheck
 * contract, which a plugin's own method could otherwise meet by chance.
 */
export const REFUND_ORDER: unique symbol = Symbol('cwts.risk.refundOrder');

export interface RefundingCheck {
  [REFUND_ORDER](intent: Readonly<OrderIntent>, ctx: RiskContext): void;
}

/** Whether a check takes part in REFUND_ORDER (core's order_rate, and a chain holding it). */
export function refundsOrders(c: RiskCheck): c is RiskCheck & RefundingCheck {
  return typeof (c as Partial<RefundingCheck>)[REFUND_ORDER] === 'function';
}

/**
 * Token bucket per venue: `orders_per_second` tokens a second, holding at most `burst` (default
 * one second's worth, at least 1). Refills are timed on `clock.monoNs()` when given one (the
 * engine's: ManualClock derives it from its ms, so replay stays deterministic), else on the
 * context's wall time, where a step back (NTP, a resumed VM) re-anchors the bucket: no time is
 * counted across it, since how much passed is unknown, and refills go on from there. Before, no
 * token came back until the wall clock had caught up, and for the length of the step every
 * order, exits included, was refused RISK_RATE_LIMIT.
 * Runs last in the chain: a token is spent only on an order every other check accepted; a check
 * after the chain (a plugin) that refuses it, or an order that is not sent, gets the token back
 * (REFUND_ORDER), so only orders that go out spend one.
 */
export class OrderRateCheck implements RiskCheck, RefundingCheck {
  readonly name = 'order_rate';
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  constructor(readonly ordersPerSecond: number, burst?: number, private readonly clock?: Pick<Clock, 'monoNs'>) {
    this.capacity = Math.max(1, burst ?? Math.ceil(ordersPerSecond)) * 1000;
  }
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    // whole ms, rounded: ManualClock's monoNs() gives back its exact ms, and the milli-token sums stay exact
    const now = this.clock !== undefined ? monoMs(this.clock) : ctx.now;
    let b = this.buckets.get(intent.exchange);
    if (!b) {
      b = { level: this.capacity, at: now };
      this.buckets.set(intent.exchange, b);
    } else if (now > b.at) {
      b.level = Math.min(this.capacity, b.level + (now - b.at) * this.ordersPerSecond);
      b.at = now;
    } else if (now < b.at) {
      b.at = now;
    }
    if (b.level < 1000) {
      return reject('RISK_RATE_LIMIT', `${intent.exchange}: order rate above risk.orders_per_second ${this.ordersPerSecond} (burst ${this.capacity / 1000})`);
    }
    b.level -= 1000;
    return OK;
  }
  /** The token check() spent on `intent` back (called at once: the bucket has not refilled since). */
  [REFUND_ORDER](intent: Readonly<OrderIntent>): void {
    const b = this.buckets.get(intent.exchange);
    if (b !== undefined) b.level = Math.min(this.capacity, b.level + 1000);
  }
}

// ---- the chain ----------------------------------------------------------------------------

export interface CheckChainOptions {
  /** A synced book with no update for this long is stale (default 10 000 ms, as the engine). */
  staleAfterMs?: number;
  /** Token bucket size per venue (default ceil(orders_per_second)). */
  burst?: number;
  /** The engine's clock: order_rate refills on its monoNs(), right across a wall-clock step back (OrderRateCheck). */
  clock?: Pick<Clock, 'monoNs'>;
}

/**
 * The pre-trade chain from `[risk]`, cheapest and most fundamental first; the rate limiter last
 * so that only orders every other check accepted spend a token. reduce_only has no setting and
 * is always in it. The checks share one
 * IntentFacts, loaded by instrument_rules: if you reorder, keep it before every other check that
 * reads them and first among the parent checks.
 */
export function buildCheckChain(risk: RiskConfig, env: RiskEnv, opts: CheckChainOptions = {}): RiskCheck[] {
  const facts = new IntentFacts(true);
  const chain: RiskCheck[] = [new RiskStateCheck(env, facts), new InstrumentRulesCheck(facts), new ReduceOnlyCheck(facts), new BookHealthCheck(env, opts.staleAfterMs ?? 10_000, facts), new PriceBandCheck(risk.price_band_bps, facts)];
  if (risk.max_order_notional !== undefined) chain.push(new MaxOrderNotionalCheck(risk.max_order_notional, facts));
  chain.push(new PositionLimitCheck(env, risk.max_position, risk.max_total_position, facts));
  chain.push(new MaxOpenOrdersCheck(env, risk.max_open_orders));
  chain.push(new SelfTradeCheck(facts));
  chain.push(new OrderRateCheck(risk.orders_per_second, opts.burst, opts.clock));
  return chain;
}

/**
 * Runs a chain the way the engine does: in order, first rejection wins. A refusal hands back
 * what the checks before it spent on the intent (REFUND_ORDER); none of core's spends before its
 * last check today, so this only matters for a chain built another way.
 */
export function runChain(chain: readonly RiskCheck[], intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
  for (let k = 0; k < chain.length; k++) {
    const d = chain[k]!.check(intent, ctx);
    if (!d.ok) {
      refundChecks(chain, k, intent, ctx);
      return d;
    }
  }
  return OK;
}

/** REFUND_ORDER on each of the first `passed` checks of `chain` that spends (they passed `intent`). */
export function refundChecks(chain: readonly RiskCheck[], passed: number, intent: Readonly<OrderIntent>, ctx: RiskContext): void {
  for (let k = 0; k < passed; k++) {
    const c = chain[k]!;
    if (refundsOrders(c)) c[REFUND_ORDER](intent, ctx);
  }
}
