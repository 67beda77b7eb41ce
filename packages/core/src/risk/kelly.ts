import { DEFAULT_KELLY_FRACTION } from '../config/constants.js';
import type { RiskConfig } from '../config/types.js';
import { notionalExponent, type Instrument } from '../domain/instrument.js';
import { highestTradePrice, QUOTE_DECIMALS, quoteToAtoms } from './checks.js';

/**
 * Fractional Kelly sizing (docs/risk.md).
 *
 * Binary bet (win probability p, payoff ratio b = amount won per unit staked, a loss costs the
 * stake): the growth-optimal fraction of equity to stake is
 *     f* = p - (1 - p) / b = (b p - (1 - p)) / b,
 * and 0 when that is negative (no edge: no bet).
 *
 * Continuous returns (mean mu and variance sigma^2 of the per-period return of the position,
 * optionally in excess of a risk-free rate r): the growth-optimal exposure as a multiple of
 * equity is
 *     f* = (mu - r) / sigma^2,
 * signed: negative means short. It can exceed 1 (leverage); the limits clip it.
 *
 * Either optimum is multiplied by `[risk] kelly_fraction` (0 < k <= 1, default 0.25): half Kelly
 * keeps about three quarters of the growth rate at half the volatility, and is robust to an
 * over-estimated edge. `kellySizer(config.risk)` is the sizer strategies call: it applies the
 * configured fraction unless the call names its own. The resulting exposure is then clipped by max_position, max_total_position and
 * max_order_notional, and rounded down to whole lots.
 */
export class KellyInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KellyInputError';
  }
}

/** Full Kelly fraction for a binary bet; 0 when there is no edge. */
export function kellyBinary(winProbability: number, payoffRatio: number): number {
  if (!(winProbability >= 0 && winProbability <= 1)) throw new KellyInputError(`win probability must be in [0, 1], got ${winProbability}`);
  if (!(payoffRatio > 0) || !Number.isFinite(payoffRatio)) throw new KellyInputError(`payoff ratio must be a positive number, got ${payoffRatio}`);
  const f = winProbability - (1 - winProbability) / payoffRatio;
  return f > 0 ? f : 0;
}

/** Full Kelly exposure multiple for continuous returns: (mean - riskFree) / variance, signed. */
export function kellyContinuous(mean: number, variance: number, riskFree = 0): number {
  if (!Number.isFinite(mean) || !Number.isFinite(riskFree)) throw new KellyInputError(`mean and risk-free rate must be finite, got ${mean}, ${riskFree}`);
  if (!(variance > 0) || !Number.isFinite(variance)) throw new KellyInputError(`variance must be a positive number, got ${variance}`);
  return (mean - riskFree) / variance;
}

/** `kelly_fraction` x the optimum (default DEFAULT_KELLY_FRACTION, the config's default). */
export function fractionalKelly(fullKelly: number, kellyFraction: number = DEFAULT_KELLY_FRACTION): number {
  if (!(kellyFraction > 0 && kellyFraction <= 1)) throw new KellyInputError(`kelly_fraction must be in (0, 1], got ${kellyFraction}`);
  return kellyFraction * fullKelly;
}

export interface KellySizingInput {
  instrument: Instrument;
  /** Price in ticks used to value one lot (the intended limit price, or the far touch). */
  priceTicks: number;
  /**
   * The limit the order will be sent at, in ticks, when it is not `priceTicks` (an IOC sent
   * through the touch). The limits are applied to lots valued as the risk checks value the
   * order (docs/risk.md, "Sizing: fractional Kelly"): a buy at this limit, a sell at it or
   * `bestBid`, the higher. Default: `priceTicks`.
   */
  limitTicks?: number;
  /** The book's best bid in ticks: a sell limit under it trades at it, and the checks value it there. */
  bestBid?: number;
  /** Equity in quote currency. */
  equity: number;
  /** Signed target exposure as a multiple of equity, i.e. fractionalKelly(...) (binary: >= 0). */
  fraction: number;
  /** Current signed position in lots. */
  positionLots: number;
  /** Our resting orders on the target's side, in lots (counted against the limits). */
  restingLots?: number;
  /** `[risk]` limits in quote currency. */
  maxPosition: number;
  maxOrderNotional?: number;
  maxTotalPosition?: number;
  /**
   * What `max_total_position` counts besides this instrument's position and our orders on it, in
   * quote currency: `otherExposureOf(risk, ctx, instrument)` from `@cwts/core/risk`, which
   * computes it with the check's own code. That is every other position at the risk layer's
   * mark and also every other instrument's working orders where they can grow its position,
   * valued at the most they can trade at: with the positions alone, a size clipped to the limit
   * was refused by it while an order worked elsewhere. Infinity (the helper's answer while the
   * check cannot value a working order): no room. Default 0.
   */
  otherExposure?: number;
}

export type KellyClip = 'none' | 'max_position' | 'max_total_position' | 'max_order_notional';

export interface KellySize {
  /** Target signed position in lots after clipping. */
  targetLots: number;
  /** Signed order in lots that moves the position toward the target (0: nothing to do). */
  orderLots: number;
  /** Unclipped target in lots (signed). */
  rawTargetLots: number;
  clippedBy: KellyClip;
}

const PPB = 1_000_000_000n;

/**
 * A quote amount (finite, >= 0) as integer atoms of 10^-exponent, exactly as written in decimal.
 * From 1e21 up `toFixed` switches to exponent form, which the decimal parser refuses; a double
 * that large is a whole number, which BigInt converts exactly.
 */
function amountAtoms(amount: number, exponent: number): bigint {
  if (amount >= 1e21) {
    const whole = BigInt(amount);
    return exponent >= 0 ? whole * 10n ** BigInt(exponent) : whole / 10n ** BigInt(-exponent);
  }
  return quoteToAtoms(amount, exponent);
}

/**
 * amountAtoms rounded up: an amount already spent (the other exposure), where a limit's cut
 * rounds down. Truncated to the instrument's decimals, an exposure of another instrument's finer
 * atoms (or a half-tick mark) left room for a lot that the check, summing exactly, refuses.
 */
function amountAtomsUp(amount: number, exponent: number): bigint {
  const read = amountAtoms(amount, QUOTE_DECIMALS);
  if (exponent >= QUOTE_DECIMALS) return read * 10n ** BigInt(exponent - QUOTE_DECIMALS);
  const unit = 10n ** BigInt(QUOTE_DECIMALS - exponent);
  return (read + unit - 1n) / unit;
}

function checkAmount(name: string, value: number | undefined, positive = false): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || !(positive ? value > 0 : value >= 0)) {
    throw new KellyInputError(`${name} must be a finite number ${positive ? '> 0' : '>= 0'}, got ${value}`);
  }
}

/**
 * Turns a fractional-Kelly exposure into whole lots, exactly: target = floor(|f| x equity /
 * lot value), clipped by max_position, by max_total_position less the other exposure
 * (`otherExposure`, as `otherExposureOf` computes it), and the
 * order by max_order_notional. Lots are whole numbers; money is integer atoms. The target is
 * sized at `priceTicks`; the caps value a lot at the most the order can trade at, as the checks
 * do (`limitTicks`, `bestBid`), so what they clip the checks pass.
 */
export function kellySize(x: KellySizingInput): KellySize {
  const i = x.instrument;
  if (!Number.isSafeInteger(x.priceTicks) || x.priceTicks <= 0) throw new KellyInputError(`price must be a positive whole number of ticks, got ${x.priceTicks}`);
  if (!Number.isFinite(x.fraction)) throw new KellyInputError(`fraction must be finite, got ${x.fraction}`);
  for (const [name, v] of [['limitTicks', x.limitTicks], ['bestBid', x.bestBid]] as const) {
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new KellyInputError(`${name} must be a positive whole number of ticks, got ${v}`);
  }
  checkAmount('equity', x.equity);
  checkAmount('maxPosition', x.maxPosition, true);
  checkAmount('maxTotalPosition', x.maxTotalPosition, true);
  checkAmount('maxOrderNotional', x.maxOrderNotional, true);
  if (x.otherExposure !== Infinity) checkAmount('otherExposure', x.otherExposure);
  // A count of lots: NaN (a sum over a missing field) or a negative count made max_position's
  // cap NaN or larger than the limit, and the target went out unclipped.
  if (x.restingLots !== undefined && !(Number.isSafeInteger(x.restingLots) && x.restingLots >= 0)) {
    throw new KellyInputError(`restingLots must be a whole number of lots >= 0, got ${x.restingLots}`);
  }
  // Past ~1.8e299 the fraction in parts per billion is Infinity, which BigInt refuses with a RangeError.
  const ppb = Math.round(Math.abs(x.fraction) * 1e9);
  if (!Number.isFinite(ppb)) throw new KellyInputError(`fraction ${x.fraction} is too large to size`);
  const e = notionalExponent(i);
  const tickLot = i.priceScale.mantissa * i.qtyScale.mantissa;
  const lotAtoms = BigInt(x.priceTicks) * tickLot;
  // What one lot of an order on `side` is worth to the limits: what the checks value it at.
  // Valued at priceTicks, a sell through the bid or a buy sent above its sizing price passed
  // the sizer's clip and was refused by the very limit it had been clipped to.
  const limit = x.limitTicks ?? x.priceTicks;
  const limitLotAtoms = (side: 'buy' | 'sell'): bigint => BigInt(highestTradePrice(side, limit, x.bestBid, undefined)!) * tickLot;
  const atoms = (q: number) => amountAtoms(q, e);
  const lotsWithin = (budgetAtoms: bigint, lot: bigint): number => (budgetAtoms <= 0n ? 0 : Number(budgetAtoms / lot));
  const dir = x.fraction < 0 ? -1 : 1;
  // A position limit can clip only an order that grows the position, on the target's side.
  const capLot = limitLotAtoms(dir > 0 ? 'buy' : 'sell');
  const fPpb = BigInt(ppb);
  const raw = Number((atoms(x.equity) * fPpb) / (PPB * lotAtoms));
  let target = raw;
  let clippedBy: KellyClip = 'none';
  const resting = x.restingLots ?? 0;
  const posCap = Math.max(0, lotsWithin(atoms(x.maxPosition), capLot) - resting);
  if (target > posCap) {
    target = posCap;
    clippedBy = 'max_position';
  }
  if (x.maxTotalPosition !== undefined) {
    const other = x.otherExposure ?? 0;
    const room = other === Infinity ? 0n : atoms(x.maxTotalPosition) - amountAtomsUp(other, e);
    const cap = Math.max(0, lotsWithin(room, capLot) - resting);
    if (target > cap) {
      target = cap;
      clippedBy = 'max_total_position';
    }
  }
  const targetLots = dir * target || 0;
  let orderLots = targetLots - x.positionLots;
  if (x.maxOrderNotional !== undefined && orderLots !== 0) {
    const cap = lotsWithin(atoms(x.maxOrderNotional), limitLotAtoms(orderLots > 0 ? 'buy' : 'sell'));
    if (Math.abs(orderLots) > cap) {
      orderLots = Math.sign(orderLots) * cap;
      clippedBy = 'max_order_notional';
    }
  }
  // Past 2^53 lots a Number is no longer a whole count: refuse rather than size from a rounded one.
  if (!Number.isSafeInteger(targetLots) || !Number.isSafeInteger(orderLots)) {
    throw new KellyInputError(`the sized position (${targetLots} lots) or order (${orderLots} lots) is beyond 2^53-1 lots; check equity, the position and the risk limits`);
  }
  return { targetLots, orderLots, rawTargetLots: dir * raw || 0, clippedBy };
}

/** What a strategy passes the configured sizer: the full-Kelly optimum instead of a fraction. */
export type KellySizerInput = Omit<KellySizingInput, 'fraction' | 'maxPosition' | 'maxOrderNotional' | 'maxTotalPosition'> & {
  /** Full Kelly: kellyBinary(...) or kellyContinuous(...). */
  fullKelly: number;
  /** Overrides `[risk] kelly_fraction` for this call. */
  kellyFraction?: number;
};

/**
 * The Kelly sizer with `[risk]`'s settings: `kelly_fraction` scales the optimum, and
 * max_position, max_total_position and max_order_notional clip it (see kellySize).
 */
export function kellySizer(risk: Pick<RiskConfig, 'kelly_fraction' | 'max_position' | 'max_total_position' | 'max_order_notional'>): (x: KellySizerInput) => KellySize {
  fractionalKelly(0, risk.kelly_fraction); // a bad fraction fails here, not at the first signal
  return ({ fullKelly, kellyFraction, ...x }) => {
    const input: KellySizingInput = { ...x, fraction: fractionalKelly(fullKelly, kellyFraction ?? risk.kelly_fraction), maxPosition: risk.max_position };
    if (risk.max_total_position !== undefined) input.maxTotalPosition = risk.max_total_position;
    if (risk.max_order_notional !== undefined) input.maxOrderNotional = risk.max_order_notional;
    return kellySize(input);
  };
}
