/**
 * Whale rule (c): large resting levels near the touch ("walls") appearing (`wall_appeared`),
 * and pulled by cancels before being traded (`wall_pulled`, spoof-like). Trades at a wall's
 * price are told apart from cancels by onWallTrade.
 */
import type { BookView, DetectorContext } from '../contracts/trading.js';
import type { BookDeltaEvent, BookLevel, BookSnapshotEvent, TradeEvent } from '../domain/events.js';
import { clockTime, round } from './common.js';
import { ASK, BID, type WhaleRuleContext, type WhaleSymbol } from './whale-symbol.js';

/** Trades at a tracked wall's price eat it (buy aggressors hit asks). */
export function onWallTrade(st: WhaleSymbol, ev: TradeEvent): void {
  const w = st.walls[ev.side === 'buy' ? ASK : BID];
  const i = w.find(ev.price);
  if (i >= 0) w.pendingTraded[i] += ev.qty;
}

export function onWallBook(d: WhaleRuleContext, st: WhaleSymbol, ev: BookDeltaEvent | BookSnapshotEvent, ctx: DetectorContext): void {
  // Kept only where the context's books are live (MarketContext.liveBooks, the engine's):
  // elsewhere a pair's book may be replaced (a resync), and a kept one goes stale.
  if (ctx.liveBooks !== true || st.book === undefined) st.book = ctx.book(ev.exchange, ev.symbol);
  const book = st.book;
  if (book === undefined) return;
  // A snapshot the book could not take (crossed, invalid) leaves it unsynced: the walls tracked
  // stay as they were until a snapshot that syncs it is checked against them below.
  if (!book.synced) return;
  const bb = book.bestBid();
  const ba = book.bestAsk();
  if (ev.type === 'book_snapshot') {
    // A (re)snapshot replaces the book: keep the walls it still shows, drop the rest.
    resyncWalls(d, st, BID, bb, book);
    resyncWalls(d, st, ASK, ba, book);
  }
  // Signal and wall times on the detectors' one clock rule (docs/detectors.md, Time).
  const now = clockTime(ev);
  if (bb !== undefined) levels(d, st, BID, ev.bids, bb, book, now, ctx);
  if (ba !== undefined) levels(d, st, ASK, ev.asks, ba, book, now, ctx);
  if (bb !== undefined) dropFar(d, st, BID, bb);
  if (ba !== undefined) dropFar(d, st, ASK, ba);
}

/**
 * After a snapshot (the book now holds only what it shows): a tracked wall the book still shows
 * at or above the wall threshold is the same wall, kept with its history and not announced
 * again (clearing every wall on a snapshot once re-announced each one as `wall_appeared` at every
 * resync); one the book shows smaller, or not at all, is dropped without a signal, since what
 * happened to it during the gap (traded or cancelled) cannot be told. Walls the snapshot shows
 * that were not tracked are then examined by levels() as on any book event, so a wall that
 * appeared during the gap is announced.
 */
function resyncWalls(d: WhaleRuleContext, st: WhaleSymbol, side: number, touch: number | undefined, book: BookView): void {
  const w = st.walls[side];
  if (w.count === 0) return;
  const logThreshold = Math.max(st.logWallMin, st.logWallRatio + st.levelSize.median);
  for (let i = w.count - 1; i >= 0; i--) {
    const price = w.price[i];
    const qty = touch === undefined ? 0 : book.qtyAt(side === BID ? 'bid' : 'ask', price);
    if (qty > 0 && Math.log(price * st.tickValue * qty * st.lotValue) >= logThreshold) {
      w.qty[i] = qty;
      if (qty > w.peak[i]) w.peak[i] = qty;
      // trades credited before the gap cannot be matched to a decrease the snapshot hides
      w.pendingTraded[i] = 0;
      continue;
    }
    d.stats.wallsDropped++;
    w.remove(i);
  }
}

/**
 * The event names the levels that changed; their quantities are read from the book, which is
 * what the book holds after it: a delta the book dropped (an old sequence redelivered after a
 * reconnect, a duplicate frame) once read as a wall appearing again at a price the book showed
 * empty.
 */
function levels(d: WhaleRuleContext, st: WhaleSymbol, side: number, levels: BookLevel[], touch: number, book: BookView, now: number, ctx: DetectorContext): void {
  const s = d.settings;
  const t = st.t;
  const w = st.walls[side];
  const band = (touch * s.wallDepthBps) / 1e4;
  const ls = st.levelSize;
  // compared in log notional: no exp per level
  const logThreshold = Math.max(st.logWallMin, st.logWallRatio + ls.median);
  const bookSide = side === BID ? 'bid' : 'ask';
  for (let k = 0; k < levels.length; k++) {
    const price = levels[k].price;
    const i = w.find(price);
    if (i >= 0) {
      updateWall(d, st, side, i, book.qtyAt(bookSide, price), touch, now, ctx);
      continue;
    }
    // The band test first: most levels a delta names lie outside it, and the book lookup (a
    // binary search) is the larger part of this loop's cost.
    const dist = side === BID ? touch - price : price - touch;
    if (dist < 0 || dist > band) continue;
    const qty = book.qtyAt(bookSide, price);
    if (qty <= 0) continue;
    const notional = price * st.tickValue * qty * st.lotValue;
    const x = Math.log(notional);
    d.stats.levelsSeen++;
    if (ls.warm && x >= logThreshold) {
      if (w.count === w.cap) {
        d.stats.wallsDropped++;
        continue;
      }
      const j = w.count++;
      w.price[j] = price;
      w.qty[j] = qty;
      w.peak[j] = qty;
      w.appearTs[j] = now;
      w.pendingTraded[j] = 0;
      w.traded[j] = 0;
      w.cancelled[j] = 0;
      w.id[j] = ++st.wallSeq;
      const usual = Math.exp(ls.median);
      ctx.emit({
        id: d.nextId(st),
        detector: d.name,
        kind: 'wall_appeared',
        exchange: st.exchange,
        symbol: st.symbol,
        ts: now,
        direction: side === BID ? 1 : -1,
        strength: round(notional / usual, 3),
        evidence: {
          wall: w.id[j],
          side: side === BID ? 'bid' : 'ask',
          price,
          qty,
          notional: round(notional, 2),
          usualLevelNotional: round(usual, 2),
          threshold: round(Math.exp(logThreshold), 2),
          touch,
          distanceBps: round((dist / touch) * 1e4, 3),
        },
      });
    } else {
      ls.update(x);
    }
  }
}


function updateWall(d: WhaleRuleContext, st: WhaleSymbol, side: number, i: number, qty: number, touch: number, now: number, ctx: DetectorContext): void {
  const w = st.walls[side];
  const prev = w.qty[i];
  if (qty >= prev) {
    w.qty[i] = qty;
    if (qty > w.peak[i]) w.peak[i] = qty;
    w.pendingTraded[i] = 0;
    return;
  }
  const drop = prev - qty;
  const byTrades = Math.min(drop, w.pendingTraded[i]);
  w.traded[i] += byTrades;
  w.cancelled[i] += drop - byTrades;
  w.pendingTraded[i] = Math.max(0, w.pendingTraded[i] - drop);
  w.qty[i] = qty;
  const peak = w.peak[i];
  const pulled = w.cancelled[i] >= d.settings.wallPullFraction * peak;
  const gone = qty === 0 || qty < 0.5 * peak * (1 - d.settings.wallPullFraction);
  if (!pulled && !gone) return;
  if (pulled) {
    const price = w.price[i];
    const dist = side === BID ? touch - price : price - touch;
    const notional = price * st.tickValue * peak * st.lotValue;
    ctx.emit({
      id: d.nextId(st),
      detector: d.name,
      kind: 'wall_pulled',
      exchange: st.exchange,
      symbol: st.symbol,
      ts: now,
      direction: side === BID ? -1 : 1,
      strength: round(w.cancelled[i] / peak, 3),
      evidence: {
        wall: w.id[i],
        side: side === BID ? 'bid' : 'ask',
        price,
        peakQty: peak,
        qtyLeft: qty,
        cancelledQty: w.cancelled[i],
        tradedQty: w.traded[i],
        notional: round(notional, 2),
        appearedTs: w.appearTs[i],
        lifetimeMs: now - w.appearTs[i],
        touch,
        distanceBps: round((dist / touch) * 1e4, 3),
      },
    });
  } else {
    d.stats.wallsConsumed++;
  }
  w.remove(i);
}

/** Stops tracking walls the touch moved far away from (or through). */
function dropFar(d: WhaleRuleContext, st: WhaleSymbol, side: number, touch: number): void {
  const w = st.walls[side];
  const limit = (2 * touch * d.settings.wallDepthBps) / 1e4;
  for (let i = w.count - 1; i >= 0; i--) {
    const dist = side === BID ? touch - w.price[i] : w.price[i] - touch;
    if (dist < 0 || dist > limit) {
      // dist < 0: the touch moved through the wall's price, so it was hit (or pulled and
      // the level refilled at another price): either way no longer a resting wall to watch.
      if (dist < 0) d.stats.wallsConsumed++;
      else d.stats.wallsDropped++;
      w.remove(i);
    }
  }
}
