/**
 * Book update frames as each venue writes them: the generators live in core
 * (packages/core/src/cli/benchmark/venue-frames.ts, so `cwts-ultra benchmark` has them in an
 * installed package); Kraken's checksum tools are bound here.
 */
import { binanceFrames, bybitFrames, coinbaseFrames, krakenFrames as krakenFramesWith } from '../../packages/core/dist/cli/benchmark/venue-frames.js';
import { krakenChecksum, numberUnits, type KrakenPrecision } from '../../packages/exchange-kraken/dist/index.js';

export { binanceFrames, bybitFrames, coinbaseFrames };

export function krakenFrames(n: number, seed: number, precision: KrakenPrecision, scales: { price: unknown; qty: unknown }): string[] {
  return krakenFramesWith(n, seed, precision, scales, { krakenChecksum: krakenChecksum as never, numberUnits: numberUnits as never });
}
