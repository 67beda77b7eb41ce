import type { RiskCheck, RiskContext, RiskDecision } from '../contracts/trading.js';
import { formatScaled, notionalAtoms, notionalExponent, parseDecimal } from '../domain/instrument.js';
import type { OrderIntent } from '../domain/orders.js';

/** A quote-currency amount from config (a plain number) as atoms at `exponent`, exactly. */
export function quoteToAtoms(amount: number, exponent: number): bigint {
  // toFixed switches to exponent form at 1e21: a whole number that large converts exactly as a bigint
  if (Math.abs(amount) >= 1e21) return BigInt(amount) * 10n ** BigInt(exponent);
  const d = parseDecimal(amount.toFixed(12).replace(/\.?0+$/, ''));
  const shift = exponent - d.exponent;
  return shift >= 0 ? d.mantissa * 10n ** BigInt(shift) : d.mantissa / 10n ** BigInt(-shift);
}

const OK: RiskDecision = { ok: true };

/**
 * `[risk] max_position`: the absolute position notional per symbol after the order, valued at
 * the order's limit price (or the far touch for a market order), may not exceed the limit.
 * Orders that reduce the absolute position always pass: the check must never block an exit.
 */
export class MaxPositionCheck implements RiskCheck {
  readonly name = 'max_position';

  constructor(private readonly maxPositionQuote: number) {}

  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    const i = ctx.instrument(intent.exchange, intent.symbol);
    if (!i) return { ok: false, reason: 'INVALID_ORDER', message: `unknown instrument ${intent.exchange}:${intent.symbol}` };
    const pos = ctx.positions.qty(intent.exchange, intent.symbol);
    const after = pos + (intent.side === 'buy' ? intent.qty : -intent.qty);
    if (Math.abs(after) <= Math.abs(pos)) return OK;
    const book = ctx.book(intent.exchange, intent.symbol);
    const price = intent.type === 'limit' ? intent.price : intent.side === 'buy' ? book?.bestAsk() : book?.bestBid();
    if (price === undefined) return { ok: false, reason: 'NO_LIQUIDITY', message: `no price to value a market order on ${intent.symbol}` };
    const notional = notionalAtoms(i, price, Math.abs(after));
    const limit = quoteToAtoms(this.maxPositionQuote, notionalExponent(i));
    if (notional > limit) {
      return {
        ok: false,
        reason: 'RISK_MAX_POSITION',
        message: `position ${intent.symbol} would be ${formatScaled(notional, notionalExponent(i))} ${i.quote}, above risk.max_position ${this.maxPositionQuote}`,
      };
    }
    return OK;
  }
}
