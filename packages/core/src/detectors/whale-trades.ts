/**
 * Whale rule (a): a single trade far above the symbol's usual size (robust z-score of log
 * notional), `whale_trade` signals.
 */
import type { DetectorContext } from '../contracts/trading.js';
import type { TradeEvent } from '../domain/events.js';
import { clockTime, round } from './common.js';
import type { WhaleRuleContext, WhaleSymbol } from './whale-symbol.js';

/**
 * Regime change. A whale is kept out of the baseline it stood out from, so a pair whose usual
 * size moved up for good (a market maker or a TWAP changing its clip: at the 0.05 floor of sigma,
 * +22% is z = 4) was never learnt again: every later trade fired, for ever, and a follower bought
 * on each one. Whales are rare; when an exponentially weighted share of the last
 * ~REGIME_WINDOW_TRADES trades that fired passes REGIME_SHARE, the flagged trades are the pair's
 * flow, not whales: the baseline is learnt again from the next `warmup_trades` trades (nothing
 * fires meanwhile). 26 consecutive "whales" trigger it; an isolated whale moves the share by 0.002.
 */
const REGIME_WINDOW_TRADES = 500;
const REGIME_SHARE = 0.05;
const REGIME_ALPHA = 1 / REGIME_WINDOW_TRADES;

export function onWhaleTrade(d: WhaleRuleContext, st: WhaleSymbol, ev: TradeEvent, notional: number, ctx: DetectorContext): void {
  const t = st.t;
  const x = Math.log(notional);
  const size = st.size;
  const z = size.z(x);
  if (size.warm && z >= t.zThreshold && notional >= t.minNotional) {
    ctx.emit({
      id: d.nextId(st),
      detector: d.name,
      kind: 'whale_trade',
      exchange: ev.exchange,
      symbol: ev.symbol,
      ts: clockTime(ev), // the detectors' one time rule (docs/detectors.md, Time): not a venue time far ahead of receipt
      direction: ev.side === 'buy' ? 1 : -1,
      strength: round(z, 3),
      evidence: {
        tradeId: ev.tradeId,
        price: ev.price,
        qty: ev.qty,
        notional: round(notional, 2),
        baselineNotional: round(Math.exp(st.size.median), 2),
        z: round(z, 3),
        zThreshold: t.zThreshold,
        minNotional: t.minNotional,
      },
    });
    // A whale is not part of the baseline it stood out from, unless whales are the flow now.
    st.whaleShare += REGIME_ALPHA * (1 - st.whaleShare);
    if (st.whaleShare > REGIME_SHARE) {
      // RobustStats refills its warm-up buffer from `seen = 0` and re-derives median and MAD.
      size.seen = 0;
      st.whaleShare = 0;
      d.stats.sizeRelearns++;
    }
  } else {
    if (size.warm) st.whaleShare -= REGIME_ALPHA * st.whaleShare;
    size.update(x);
  }
}
