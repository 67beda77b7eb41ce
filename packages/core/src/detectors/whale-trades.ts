/**
 * Whale rule (a): a single trade far above the symbol's usual size (robust z-score of log
 * notional), `whale_trade` signals.
 */
import type { DetectorContext } from '../contracts/trading.js';
import type { TradeEvent } from '../domain/events.js';
import { clockTime, round } from './common.js';
import type { WhaleRuleContext, WhaleSymbol } from './whale-symbol.js';

export function onWhaleTrade(d: WhaleRuleContext, st: WhaleSymbol, ev: TradeEvent, notional: number, ctx: DetectorContext): void {
  const t = st.t;
  const x = Math.log(notional);
  const z = st.size.z(x);
  if (st.size.warm && z >= t.zThreshold && notional >= t.minNotional) {
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
    // A whale is not part of the baseline it stood out from.
  } else {
    st.size.update(x);
  }
}
