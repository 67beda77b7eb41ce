import { formatScaled, notionalExponent } from '@cwts/core';
import { type Engine } from '@cwts/core/engine';
import { toCommon } from './exposure.js';

export interface PublishedPosition {
  exchange: string;
  symbol: string;
  /** Signed lots. */
  qty: number;
  /**
   * Signed notional at the engine's mark, common units (quote x 10^-18, rounded toward zero for
   * an instrument whose tick x lot is finer than that); null without a mark.
   */
  value: string | null;
}

/**
 * What a shard publishes for the portfolio VaR: its positions valued at its own mark (the
 * engine's markHalfTicks), and the mark of every instrument it sees (every shard receives market
 * data for all configured symbols), as exact decimal strings.
 *
 * `marks` feed the aggregator's return series, so only a current price counts: the mid of a
 * synced book. A book that left SYNCED (stale, disconnected, resyncing) keeps its levels, and a
 * last fill is as old as the fill: published as marks, such a frozen price gave the aggregator
 * zero returns for as long as it lasted, understating the portfolio VaR (it could clear a
 * cluster-wide REDUCING, or never set it). Left out, the instrument is missing from the sample,
 * which the aggregator bridges for a short gap and otherwise reports as a lower bound.
 */
export function positionsAndMarks(engine: Engine): { positions: PublishedPosition[]; marks: Record<string, string> } {
  const positions: PublishedPosition[] = [];
  for (const p of engine.portfolio.all()) {
    if (p.qty === 0) continue;
    const i = p.instrument;
    const half = engine.markHalfTicks(p);
    // Half-ticks: halved after the conversion (both round toward zero, as one division would).
    const value = half === undefined ? null : (toCommon(BigInt(p.qty) * BigInt(half) * i.priceScale.mantissa * i.qtyScale.mantissa, notionalExponent(i)) / 2n).toString();
    positions.push({ exchange: i.exchange, symbol: i.symbol, qty: p.qty, value });
  }
  const marks: Record<string, string> = {};
  for (const i of engine.allInstruments()) {
    const b = engine.book(i.exchange, i.symbol);
    if (!b?.synced) continue;
    const bid = b.bestBid();
    const ask = b.bestAsk();
    if (bid === undefined || ask === undefined) continue;
    const half = bid + ask;
    if (half <= 0) continue;
    // half ticks x mantissa / 2 = half x mantissa x 5 at one more decimal: exact.
    marks[`${i.exchange}:${i.symbol}`] = formatScaled(BigInt(half) * i.priceScale.mantissa * 5n, i.priceScale.exponent + 1);
  }
  return { positions, marks };
}
