import { lotsToQty, ticksToPrice, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import type { Signal } from '../domain/signal.js';
import { formatScaled } from '../domain/instrument.js';
import type { Logger } from '../observability/logger.js';

/** One readable line per signal: what, where, which way, how strong. */
export function describeSignal(s: Signal, instrument: Instrument | undefined): string {
  const dir = s.direction > 0 ? 'buy' : s.direction < 0 ? 'sell' : 'flat';
  const price = typeof s.evidence.price === 'number' && instrument ? ` @ ${evidencePrice(instrument, s.evidence.price)}` : '';
  return `signal ${s.detector}/${s.kind} ${s.exchange}:${s.symbol} ${dir} strength ${s.strength.toFixed(2)}${price}`;
}

/** A detector's price in ticks: a whole tick, or a mid between two ticks (a half tick), else as it came. */
function evidencePrice(i: Instrument, ticks: number): string {
  if (Number.isSafeInteger(ticks)) return ticksToPrice(i, ticks);
  // half a tick: twice as many, of an increment ten times finer and five times smaller
  if (Number.isSafeInteger(ticks * 2)) return formatScaled(BigInt(ticks * 2) * i.priceScale.mantissa * 5n, i.priceScale.exponent + 1);
  return `${ticks} ticks`;
}

/** One readable line per fill, with the position after it. */
export function describeFill(r: ExecutionReport, i: Instrument, positionLots: number): string {
  const fee = formatScaled(r.feeAtoms, i.priceScale.exponent + i.qtyScale.exponent);
  return `fill ${r.clientOrderId} ${r.exchange}:${r.symbol} ${r.side} ${lotsToQty(i, r.lastQty)} @ ${ticksToPrice(i, r.lastPrice)} ${r.liquidity ?? ''} fee ${fee} ${i.quote}; position ${lotsToQty(i, positionLots)} ${i.base}`.replace(/\s+/g, ' ');
}

/** The signal's info line, written by the engine's DeferredLog after the current batch of events. */
export function logSignal(logger: Logger, s: Signal, instrument: Instrument | undefined): void {
  logger.info({ signal: s.id }, describeSignal(s, instrument));
}

/** The fill's info line with the position after it (captured as a number when the fill was booked). */
export function logFill(logger: Logger, r: ExecutionReport, i: Instrument, positionLots: number): void {
  logger.info({ clientOrderId: r.clientOrderId }, describeFill(r, i, positionLots));
}
