import { notionalExponent, pow10n, type Instrument, type OrderIntent } from '@cwts/core';
import { type Engine } from '@cwts/core/engine';
import { COMMON_EXPONENT } from '@cwts/core/risk';


/**
 * This shard's worst-case gross position notional, in common units (quote x 10^-18): per
 * instrument, the larger of |position + resting buys| and |position - resting sells| (plus the
 * order being checked), valued at the engine's mark (markHalfTicks, as the local
 * max_total_position check values other positions; without a position, the mid of a synced
 * book) or the order's price where that is higher. Quote currencies count as one account
 * currency, as in the local max_total_position check.
 */
export function worstGrossExposure(engine: Engine, intent?: Readonly<OrderIntent>): bigint | undefined {
  let total = 0n;
  // Every instrument: one without a position may still have orders in flight.
  for (const i of engine.allInstruments()) {
    const p = engine.portfolio.find(i.exchange, i.symbol);
    const v = instrumentExposure(engine, i, p?.qty ?? 0, p === undefined ? syncedMidTicks(engine, i) : halfUp(engine.markHalfTicks(p)), intent);
    if (v === undefined) return undefined;
    total += v;
  }
  if (intent && !engine.instrument(intent.exchange, intent.symbol)) return undefined;
  return total;
}

function instrumentExposure(engine: Engine, i: Instrument, pos: number, mark: number | undefined, intent?: Readonly<OrderIntent>): bigint | undefined {
  let buys = 0;
  let sells = 0;
  let price = mark;
  for (const o of engine.openOrders(i.exchange, i.symbol)) {
    const left = o.qty - o.filledQty;
    if (o.side === 'buy') buys += left;
    else sells += left;
    if (o.price !== undefined && (price === undefined || o.price > price)) price = o.price;
  }
  if (intent && intent.exchange === i.exchange && intent.symbol === i.symbol) {
    if (intent.side === 'buy') buys += intent.qty;
    else sells += intent.qty;
    const b = engine.book(i.exchange, i.symbol);
    // A book out of sync keeps its levels: its touch is a frozen price, not where a market order fills.
    const live = b?.synced ? b : undefined;
    const p = intent.type === 'limit' ? intent.price : intent.side === 'buy' ? live?.bestAsk() : live?.bestBid();
    if (p !== undefined && (price === undefined || p > price)) price = p;
  }
  const worst = Math.max(Math.abs(pos + buys), Math.abs(pos - sells));
  if (worst === 0) return 0n;
  if (price === undefined) return undefined; // exposure we cannot value: the gate refuses
  return toCommon(BigInt(price) * i.priceScale.mantissa * BigInt(worst) * i.qtyScale.mantissa, notionalExponent(i));
}

/**
 * Quote atoms at `exponent` -> common units (quote x 10^-COMMON_EXPONENT), as core's `toCommon`
 * (risk/portfolio.ts, not exported from a public subpath) does it: exact up to exponent 18; an
 * instrument whose tick x lot is finer (a 1e-12 tick and a 1e-8 lot on a low-priced token: 1e-20)
 * is rounded toward zero, which loses less than 1e-18 quote units. `10n ** negative` threw here
 * once: from the state publisher's timer and the lease round (a process fault) and from the budget
 * gate (every order refused), and such a position was left out of the portfolio VaR.
 */
export function toCommon(atoms: bigint, exponent: number): bigint {
  return exponent <= COMMON_EXPONENT ? atoms * pow10n(COMMON_EXPONENT - exponent) : atoms / pow10n(exponent - COMMON_EXPONENT);
}

/** Half-ticks -> ticks, rounded up (valuing exposure high). */
function halfUp(half: number | undefined): number | undefined {
  return half === undefined ? undefined : Math.ceil(half / 2);
}

/**
 * The mid in ticks, rounded up, of a synced book with both sides. A book that left SYNCED
 * (stale, disconnected, resyncing) keeps its levels: their mid is the price when the feed
 * stopped, not a mark (the engine's markHalfTicks ignores it too).
 */
function syncedMidTicks(engine: Engine, i: Instrument): number | undefined {
  const b = engine.book(i.exchange, i.symbol);
  if (!b?.synced) return undefined;
  const bid = b.bestBid();
  const ask = b.bestAsk();
  return bid !== undefined && ask !== undefined ? Math.ceil((bid + ask) / 2) : undefined;
}
