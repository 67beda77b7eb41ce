import type { Detector, DetectorContext, MarketEvent, Signal } from '@cwts/core';
import { notionalApprox } from '@cwts/core';
import { clockTime } from '@cwts/core/detectors';

export interface WhaleSettings {
  /** Robust z-score of log notional above which a trade is a whale. */
  zThreshold: number;
  /** Trades per symbol used only to learn the baseline before anything can fire. */
  warmupTrades: number;
  /** Absolute floor in quote currency: smaller trades never fire, however unusual. */
  minNotional: number;
  /** Step size of the streaming median / MAD updates (smaller: slower, steadier baseline). */
  learningRate: number;
}

export const DEFAULT_WHALE_SETTINGS: WhaleSettings = { zThreshold: 4, warmupTrades: 200, minNotional: 10_000, learningRate: 0.02 };

/**
 * Floor of the spread (sigma of log notional), as in core's whale detector: a pair whose prints
 * are all one clip size (a market maker's or a TWAP's) has a spread that decays to nothing, and
 * a clip 3% larger then scored z ~ 20,000. At 0.05, z = 4 needs a trade ~22% above the usual.
 */
const MIN_SIGMA = 0.05;

/**
 * Regime change, the rule of core's whale detector. A whale is kept out of the baseline it stood
 * out from, so a pair whose usual size moved up for good (that clip size changing by +22% or
 * more) was never learnt again: every later trade fired, for ever, and the follower bought on
 * each one until max_position. Whales are rare; when an exponentially weighted share of the last
 * ~REGIME_WINDOW_TRADES trades that fired passes REGIME_SHARE (26 in a row do), they are the
 * pair's flow: the baseline starts again as on the symbol's first trade, and nothing fires for
 * `warmup_trades` trades. An isolated whale moves the share by 0.002.
 */
const REGIME_WINDOW_TRADES = 500;
const REGIME_SHARE = 0.05;
const REGIME_ALPHA = 1 / REGIME_WINDOW_TRADES;
const INITIAL_MAD = 0.5;

interface SymbolStats {
  median: number;
  mad: number;
  seen: number;
  /** Signal ids count from here; never reset, so ids stay unique across a relearn. */
  fired: number;
  /** Exponentially weighted share of recent warm trades that fired. */
  whaleShare: number;
}

/**
 * Flags single trades whose notional is far above the symbol's usual size. Trade sizes are
 * heavy-tailed, so mean and standard deviation are dragged around by the very trades we want to
 * find; instead it tracks a streaming median and median absolute deviation of log notional
 * (O(1) per trade, no buffers) and scores z = (x - median) / max(1.4826 * MAD, 0.05).
 */
export class RobustWhaleDetector implements Detector {
  private readonly stats = new Map<string, SymbolStats>();

  constructor(
    readonly name: string,
    private readonly settings: WhaleSettings,
  ) {}

  onMarketEvent(ev: MarketEvent, ctx: DetectorContext): void {
    if (ev.type !== 'trade') return;
    const instrument = ctx.instrument(ev.exchange, ev.symbol);
    if (!instrument) return;
    const notional = notionalApprox(instrument, ev.price, ev.qty);
    if (!(notional > 0)) return;
    const x = Math.log(notional);
    const key = `${ev.exchange}:${ev.symbol}`;
    let s = this.stats.get(key);
    if (!s) {
      s = { median: x, mad: INITIAL_MAD, seen: 0, fired: 0, whaleShare: 0 };
      this.stats.set(key, s);
    }
    const sigma = 1.4826 * s.mad;
    const z = (x - s.median) / (sigma > MIN_SIGMA ? sigma : MIN_SIGMA);
    const warmedUp = s.seen >= this.settings.warmupTrades;
    if (warmedUp && z >= this.settings.zThreshold && notional >= this.settings.minNotional) {
      s.fired++;
      const signal: Signal = {
        id: `${this.name}:${key}:${s.fired}`,
        detector: this.name,
        kind: 'whale_trade',
        exchange: ev.exchange,
        symbol: ev.symbol,
        // core's clock rule (docs/detectors.md, Time): a venue time far ahead of receipt is a glitch, not the time
        ts: clockTime(ev),
        direction: ev.side === 'buy' ? 1 : -1,
        strength: z,
        evidence: { tradeId: ev.tradeId, price: ev.price, qty: ev.qty, notional: Math.round(notional), baselineNotional: Math.round(Math.exp(s.median)), z: Number(z.toFixed(3)) },
      };
      ctx.emit(signal);
      // A whale is not part of the baseline it stood out from, unless whales are the flow now.
      s.whaleShare += REGIME_ALPHA * (1 - s.whaleShare);
      if (s.whaleShare > REGIME_SHARE) {
        s.median = x;
        s.mad = INITIAL_MAD;
        s.seen = 0;
        s.whaleShare = 0;
        return;
      }
      s.seen++;
      return;
    }
    if (warmedUp) s.whaleShare -= REGIME_ALPHA * s.whaleShare;
    // Sign-driven median step scaled by the current spread, and an EW mean absolute deviation.
    const eta = this.settings.learningRate;
    s.median += eta * Math.max(s.mad, 0.05) * Math.sign(x - s.median);
    s.mad += eta * (Math.abs(x - s.median) - s.mad);
    s.seen++;
  }
}

export function parseWhaleSettings(raw: Readonly<Record<string, unknown>>): WhaleSettings {
  const out = { ...DEFAULT_WHALE_SETTINGS };
  const keys: Record<string, keyof WhaleSettings> = { z_threshold: 'zThreshold', warmup_trades: 'warmupTrades', min_notional: 'minNotional', learning_rate: 'learningRate' };
  for (const [k, v] of Object.entries(raw)) {
    const field = keys[k];
    if (!field) throw new Error(`detectors.whale.${k}: unknown key (known: ${Object.keys(keys).join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`detectors.whale.${k}: expected a positive number`);
    // a step above 1 overshoots: the median and the spread would swing further with every trade
    if (field === 'learningRate' && v > 1) throw new Error(`detectors.whale.${k}: expected a number in (0, 1], got ${v}`);
    out[field] = v;
  }
  return out;
}
