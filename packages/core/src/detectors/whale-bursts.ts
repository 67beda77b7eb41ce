/**
 * Whale rule (b): bursts of same-side trades inside a short sliding window, well above the
 * usual same-side notional per window and not made of one big trade (`whale_burst` signals).
 */
import type { DetectorContext } from '../contracts/trading.js';
import type { TradeEvent } from '../domain/events.js';
import { clockTime, round } from './common.js';
import { BUY, EVIDENCE_TRADE_IDS, SELL, type WhaleRuleContext, type WhaleSymbol } from './whale-symbol.js';

export function onBurstTrade(d: WhaleRuleContext, st: WhaleSymbol, ev: TradeEvent, notional: number, ctx: DetectorContext): void {
  const s = d.settings;
  const t = st.t;
  const win = s.burstWindowMs;
  // The burst clock never goes back: a trade stamped before the newest one seen (a late print,
  // venue trades out of order) counts at the newest time, in the current bucket and window.
  // Moving the bucket back made the next trade see the same empty windows again and decay the
  // baseline once more each time (false bursts on unchanged flow). Since it never goes back, it
  // must never be pushed into the future either: clockTime does not trust a venue time far
  // ahead of the receive time (one such print held the window open and the rule active for good).
  const now = clockTime(ev);
  if (now <= 0 && st.bucket < 0) return;
  const ts = now > st.burstTs ? now : st.burstTs;
  st.burstTs = ts;
  // Baseline: the usual same-side notional per window, from fixed buckets of the window length.
  const bucket = Math.floor(ts / win);
  if (bucket > st.bucket) {
    if (st.bucket >= 0) {
      const gap = bucket - st.bucket;
      const a = d.alpha;
      const keep = gap > 1 ? Math.pow(1 - a, gap - 1) : 1;
      for (let side = 0; side < 2; side++) {
        const b = st.burst[side];
        b.usual = (b.usual + a * (b.bucketSum - b.usual)) * keep;
        b.bucketSum = 0;
      }
      // Warm-up counts windows that held trades (the one closing now), not window numbers: a
      // first trade stamped long before the next (a venue's last print sent on subscribe, a
      // backfill; in the past, so clockTime trusts it) spans hundreds of empty windows that
      // must not stand in for burst_warmup_windows (the cascade detector counts buckets seen
      // the same way). An idle gap decays U above but teaches nothing.
      st.windowsSeen++;
    }
    st.bucket = bucket;
  }
  const side = ev.side === 'buy' ? BUY : SELL;
  const b = st.burst[side];
  b.bucketSum += notional;
  b.evictBefore(ts - win + 1);
  b.push(ts, notional, ev.qty, ev.tradeId);
  const threshold = Math.max(t.burstMinNotional, t.burstRatio * b.usual);
  if (b.active) {
    if (b.sum < 0.5 * threshold) b.active = false;
    return;
  }
  if (st.windowsSeen < s.burstWarmupWindows || b.len < t.burstMinTrades || b.sum < threshold) return;
  // One big trade plus small change is a whale trade (a), not a burst.
  const max = b.max;
  if (max > s.burstMaxShare * b.sum) return;
  b.active = true;
  const ratio = b.usual > 0 ? b.sum / b.usual : 0;
  ctx.emit({
    id: d.nextId(st),
    detector: d.name,
    kind: 'whale_burst',
    exchange: ev.exchange,
    symbol: ev.symbol,
    ts,
    direction: side === BUY ? 1 : -1,
    strength: round(ratio > 0 ? ratio : b.sum / Math.max(1, t.burstMinNotional), 3),
    evidence: {
      trades: b.len,
      notional: round(b.sum, 2),
      qty: b.qtySum,
      windowMs: win,
      firstTs: b.ts[b.head],
      lastTs: ts,
      usualNotional: round(b.usual, 2),
      largestNotional: round(max, 2),
      threshold: round(threshold, 2),
      price: ev.price,
      tradeIds: b.recentIds(EVIDENCE_TRADE_IDS),
    },
  });
}
