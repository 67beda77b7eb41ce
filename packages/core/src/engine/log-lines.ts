import { lotsToQty, ticksToPrice, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import type { Signal } from '../domain/signal.js';
import { formatScaled } from '../domain/instrument.js';

/** One readable line per signal: what, where, which way, how strong. */
export function describeSignal(s: Signal, instrument: Instrument | undefined): string {
  const dir = s.direction > 0 ? 'buy' : s.direction < 0 ? 'sell' : 'flat';
  const price = typeof s.evidence.price === 'number' && instrument ? ` @ ${ticksToPrice(instrument, s.evidence.price)}` : '';
  return `signal ${s.detector}/${s.kind} ${s.exchange}:${s.symbol} ${dir} strength ${s.strength.toFixed(2)}${price}`;
}

/** One readable line per fill, with the position after it. */
export function describeFill(r: ExecutionReport, i: Instrument, positionLots: number): string {
  const fee = formatScaled(r.feeAtoms, i.priceScale.exponent + i.qtyScale.exponent);
  return `fill ${r.clientOrderId} ${r.exchange}:${r.symbol} ${r.side} ${lotsToQty(i, r.lastQty)} @ ${ticksToPrice(i, r.lastPrice)} ${r.liquidity ?? ''} fee ${fee} ${i.quote}; position ${lotsToQty(i, positionLots)} ${i.base}`.replace(/\s+/g, ' ');
}
