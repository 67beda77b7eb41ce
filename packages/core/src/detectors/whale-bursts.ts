/**
 * Whale rule (b): bursts of same-side trades inside a short sliding window, well above the
 * usual same-side notional per window and not made of one big trade (`whale_burst` signals).
 */
import type { DetectorContext } from '../contracts/trading.js';
import type { TradeEvent } from '../domain/events.js';
import { clockTime, round, winsorized } from './common.js';
import { BUY, EVIDENCE_TRADE_IDS, SELL, type WhaleRuleContext, type WhaleSymbol } from './whale-symbol.js';

/** A book event of the symbol: its feed is alive, whether or not anything trades. */
export function noteBookTime(st: WhaleSymbol, ev: { readonly ts: number; readonly recvTs: number }): void {
  const t = clockTime(ev);
  if (t > st.lastEventTs) st.lastEventTs = t;
}

/** Closes the baseline bucket `st.bucket`; the next trade is in `bucket`. */
function closeWindow(d: WhaleRuleContext, st: WhaleSymbol, bucket: number): void {
  const s = d.settings;
  const a = d.alpha;
  // Windows with no event of the symbol at all, trade or book.
  const silent = bucket - Math.max(st.bucket, Math.floor(st.lastEventTs / s.burstWindowMs)) - 1;
  if (silent > s.burstBaselineWindows * Math.LN2) {
    // Silent for longer than U's half-life (as the cascade detector's rule). Detectors never see
    // the feed's status, and such a silence, book included, is an outage far more often than a
    // quiet market: decayed across 30 min (by e^-6), U put the threshold at burst_min_notional
    // and the first window of ordinary flow fired whale_burst on both sides. U is learnt again
    // from the data after it, as at start (nothing fires for burst_warmup_windows).
    for (let side = 0; side < 2; side++) {
      const b = st.burst[side];
      b.usual = b.share = b.bucketSum = 0;
      b.active = false;
    }
    st.windowsSeen = 0;
    return;
  }
  // Warm-up counts windows that held trades (the one closing now), not window numbers: a first
  // trade stamped long before the next (a venue's last print sent on subscribe, a backfill; in
  // the past, so clockTime trusts it) spans hundreds of empty windows that must not stand in
  // for burst_warmup_windows (the cascade detector counts buckets seen the same way). A quiet
  // gap (trades stopped, the book did not) decays U below but teaches nothing.
  const n = ++st.windowsSeen;
  // Plain mean over the first windows, then exponential weights (as the cascade's baselines):
  // an exponential mean from 0 stood at 18% of the flow when warm-up ended, and ordinary flow
  // 1.5x its usual fired, after the start and after every outage.
  const w = n < 1 / a ? 1 / n : a;
  const gap = bucket - st.bucket;
  const keep = gap > 1 ? Math.pow(1 - a, gap - 1) : 1;
  for (let side = 0; side < 2; side++) {
    const b = st.burst[side];
    // Winsorized (common.ts): one mis-scaled print must not lift U for tens of minutes. A trade
    // rule (a) flagged still counts: whales are flow, rule (a) may be off, and the cap bounds it.
    const x = winsorized(b.bucketSum, b.usual, b.share);
    b.usual = (b.usual + w * (x - b.usual)) * keep;
    b.share = (b.share + w * ((b.bucketSum > 0 ? 1 : 0) - b.share)) * keep;
    b.bucketSum = 0;
  }
}

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
    if (st.bucket >= 0) closeWindow(d, st, bucket);
    st.bucket = bucket;
  }
  if (ts > st.lastEventTs) st.lastEventTs = ts;
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
