/**
 * Whale flow: (a) single trades far above the symbol's usual size, (b) bursts of same-side
 * trades inside a short window, (c) large resting levels near the touch ("walls") appearing,
 * and pulled before being hit (spoof-like). O(1) amortized per event, no allocation per event
 * once a symbol's state exists (signals allocate, they are rare by construction).
 */
import type { BookView, Detector, DetectorContext } from '../contracts/trading.js';
import type { BookDeltaEvent, BookLevel, BookSnapshotEvent, MarketEvent, TradeEvent } from '../domain/events.js';
import type { Instrument } from '../domain/instrument.js';
import { RobustStats, round, SymbolTable } from './common.js';
import { z } from 'zod';
import { parseDetectorSettings, PerSymbol, perSymbolTable, settingFields } from './settings.js';

/** Thresholds that may differ per symbol (`[detectors.whale.symbols."<symbol>"]`). */
export interface WhaleThresholds {
  /** (a) robust z-score of log notional at or above which a single trade fires. */
  zThreshold: number;
  /** (a) a single trade below this notional (quote units) never fires. */
  minNotional: number;
  /** (b) same-side notional inside the window at or above which a burst may fire. */
  burstMinNotional: number;
  /** (b) ...and at least this multiple of the usual same-side notional per window. */
  burstRatio: number;
  /** (b) ...made of at least this many trades. */
  burstMinTrades: number;
  /** (c) a level near the touch is a wall from this notional... */
  wallMinNotional: number;
  /** (c) ...and this multiple of the usual level size near the touch. */
  wallRatio: number;
}

export interface WhaleSettings extends WhaleThresholds {
  trades: boolean;
  bursts: boolean;
  walls: boolean;
  /** (a) trades used only to learn the size distribution before (a) can fire. */
  warmupTrades: number;
  /** (a, c) step of the streaming median / deviation updates. */
  learningRate: number;
  /** (b) sliding window length, ms of venue time. */
  burstWindowMs: number;
  /** (b) time constant of the usual-flow baseline, in windows. */
  burstBaselineWindows: number;
  /** (b) windows of history before (b) can fire. */
  burstWarmupWindows: number;
  /** (b) the largest trade may be at most this share of the window's notional. */
  burstMaxShare: number;
  /** (b) most trades kept per side in the window (older ones leave early when full). */
  burstMaxTrades: number;
  /** (c) only levels within this distance of their side's best price are watched, bps. */
  wallDepthBps: number;
  /** (c) a wall that loses this fraction of its peak size to cancels (not trades) was pulled. */
  wallPullFraction: number;
  /** (c) walls tracked at once per side. */
  wallsPerSide: number;
  /** (c) level updates near the touch used to learn the usual level size before (c) can fire. */
  wallWarmupLevels: number;
  symbols: PerSymbol<WhaleThresholds>;
}

export const DEFAULT_WHALE_THRESHOLDS: Readonly<WhaleThresholds> = Object.freeze({
  zThreshold: 4,
  minNotional: 10_000,
  burstMinNotional: 100_000,
  burstRatio: 8,
  burstMinTrades: 3,
  wallMinNotional: 1_000_000,
  wallRatio: 20,
});

const f = settingFields;

/** The keys of WhaleThresholds as they are written in the config. */
const thresholdFields = {
  z_threshold: f.positive(),
  min_notional: f.positive({ allowZero: true }),
  burst_min_notional: f.positive({ allowZero: true }),
  burst_ratio: f.positive(),
  burst_min_trades: f.integer(1, 1_000_000),
  wall_min_notional: f.positive({ allowZero: true }),
  wall_ratio: f.positive(),
};
type ThresholdKeys = { [K in keyof typeof thresholdFields]?: number };

// Thresholds left out take DEFAULT_WHALE_THRESHOLDS (readThresholds), like a symbol's override.
const whaleSettingsSchema = z.strictObject(thresholdFields).partial().extend({
  trades: f.bool().default(true),
  bursts: f.bool().default(true),
  walls: f.bool().default(true),
  warmup_trades: f.integer(1, 1_000_000).default(200),
  learning_rate: f.fraction().default(0.01),
  burst_window_ms: f.positive().default(1000),
  burst_baseline_windows: f.atLeast(1).default(300),
  burst_warmup_windows: f.integer(0, 1_000_000).default(60),
  burst_max_share: f.fraction().default(0.5),
  burst_max_trades: f.integer(4, 1 << 20).default(1024),
  wall_depth_bps: f.positive().default(5),
  wall_pull_fraction: f.fraction().default(0.5),
  walls_per_side: f.integer(1, 256).default(8),
  wall_warmup_levels: f.integer(1, 1_000_000).default(200),
  symbols: perSymbolTable(thresholdFields).optional(),
});

function readThresholds(t: ThresholdKeys, base: WhaleThresholds): WhaleThresholds {
  return {
    zThreshold: t.z_threshold ?? base.zThreshold,
    minNotional: t.min_notional ?? base.minNotional,
    burstMinNotional: t.burst_min_notional ?? base.burstMinNotional,
    burstRatio: t.burst_ratio ?? base.burstRatio,
    burstMinTrades: t.burst_min_trades ?? base.burstMinTrades,
    wallMinNotional: t.wall_min_notional ?? base.wallMinNotional,
    wallRatio: t.wall_ratio ?? base.wallRatio,
  };
}

/** Parses and validates `[detectors.<name>]` of the whale detector; throws a ConfigError. */
export function parseWhaleSettings(raw: Readonly<Record<string, unknown>>, name = 'whale'): WhaleSettings {
  const o = parseDetectorSettings(whaleSettingsSchema, raw, name);
  const base = readThresholds(o, DEFAULT_WHALE_THRESHOLDS);
  return {
    ...base,
    trades: o.trades,
    bursts: o.bursts,
    walls: o.walls,
    warmupTrades: o.warmup_trades,
    learningRate: o.learning_rate,
    burstWindowMs: o.burst_window_ms,
    burstBaselineWindows: o.burst_baseline_windows,
    burstWarmupWindows: o.burst_warmup_windows,
    burstMaxShare: o.burst_max_share,
    burstMaxTrades: o.burst_max_trades,
    wallDepthBps: o.wall_depth_bps,
    wallPullFraction: o.wall_pull_fraction,
    wallsPerSide: o.walls_per_side,
    wallWarmupLevels: o.wall_warmup_levels,
    symbols: PerSymbol.from(base, o.symbols, readThresholds),
  };
}

const BUY = 0;
const SELL = 1;
const BID = 0;
const ASK = 1;
const EVIDENCE_TRADE_IDS = 16;

/** Same-side trades inside the sliding window, as a ring. */
class BurstSide {
  readonly ts: Float64Array;
  readonly notional: Float64Array;
  readonly ids: string[];
  readonly qty: Float64Array;
  head = 0;
  len = 0;
  /** Absolute number of the oldest trade in the window (pushes so far minus len). */
  first = 0;
  /** Monotonic deque of absolute trade numbers with decreasing notional: front = window max. */
  readonly dq: Float64Array;
  dqHead = 0;
  dqLen = 0;
  sum = 0;
  qtySum = 0;
  active = false;
  /** Sum of the current baseline bucket and the exponentially weighted mean per window. */
  bucketSum = 0;
  usual = 0;

  constructor(readonly cap: number) {
    this.ts = new Float64Array(cap);
    this.notional = new Float64Array(cap);
    this.qty = new Float64Array(cap);
    this.ids = new Array<string>(cap).fill('');
    this.dq = new Float64Array(cap);
  }

  /** Largest notional in the window. */
  get max(): number {
    return this.dqLen > 0 ? this.notional[this.dq[this.dqHead] % this.cap] : 0;
  }

  push(ts: number, notional: number, qty: number, id: string): void {
    if (this.len === this.cap) this.dropOldest();
    const abs = this.first + this.len;
    while (this.dqLen > 0 && this.notional[this.dq[(this.dqHead + this.dqLen - 1) % this.cap] % this.cap] <= notional) this.dqLen--;
    this.dq[(this.dqHead + this.dqLen) % this.cap] = abs;
    this.dqLen++;
    const i = (this.head + this.len) % this.cap;
    this.ts[i] = ts;
    this.notional[i] = notional;
    this.qty[i] = qty;
    this.ids[i] = id;
    this.len++;
    this.sum += notional;
    this.qtySum += qty;
  }

  dropOldest(): void {
    const h = this.head;
    this.sum -= this.notional[h];
    this.qtySum -= this.qty[h];
    if (this.dqLen > 0 && this.dq[this.dqHead] === this.first) {
      this.dqHead = (this.dqHead + 1) % this.cap;
      this.dqLen--;
    }
    this.first++;
    this.head = (h + 1) % this.cap;
    this.len--;
    if (this.len === 0) {
      this.sum = 0;
      this.qtySum = 0;
    }
  }

  evictBefore(ts: number): void {
    while (this.len > 0 && this.ts[this.head] < ts) this.dropOldest();
  }

  /** The newest `n` trade ids, oldest first (allocates; only when firing). */
  recentIds(n: number): string[] {
    const k = Math.min(n, this.len);
    const out: string[] = [];
    for (let j = this.len - k; j < this.len; j++) out.push(this.ids[(this.head + j) % this.cap]);
    return out;
  }
}

/** Walls tracked on one side of one book. */
class WallSide {
  readonly price: Float64Array;
  readonly qty: Float64Array;
  readonly peak: Float64Array;
  readonly appearTs: Float64Array;
  /** Traded at the wall's price since its last book update, not yet matched to a decrease. */
  readonly pendingTraded: Float64Array;
  readonly traded: Float64Array;
  readonly cancelled: Float64Array;
  readonly id: Float64Array;
  count = 0;

  constructor(readonly cap: number) {
    this.price = new Float64Array(cap);
    this.qty = new Float64Array(cap);
    this.peak = new Float64Array(cap);
    this.appearTs = new Float64Array(cap);
    this.pendingTraded = new Float64Array(cap);
    this.traded = new Float64Array(cap);
    this.cancelled = new Float64Array(cap);
    this.id = new Float64Array(cap);
  }

  find(price: number): number {
    for (let i = 0; i < this.count; i++) if (this.price[i] === price) return i;
    return -1;
  }

  remove(i: number): void {
    const last = --this.count;
    if (i !== last) {
      this.price[i] = this.price[last];
      this.qty[i] = this.qty[last];
      this.peak[i] = this.peak[last];
      this.appearTs[i] = this.appearTs[last];
      this.pendingTraded[i] = this.pendingTraded[last];
      this.traded[i] = this.traded[last];
      this.cancelled[i] = this.cancelled[last];
      this.id[i] = this.id[last];
    }
  }
}

class WhaleSymbol {
  readonly size: RobustStats;
  readonly levelSize: RobustStats;
  readonly burst: [BurstSide, BurstSide];
  readonly walls: [WallSide, WallSide];
  /** Quote value of one tick and of one lot, for float notional. */
  readonly tickValue: number;
  readonly lotValue: number;
  readonly logWallMin: number;
  readonly logWallRatio: number;
  book: BookView | undefined;
  bucket = -1;
  windowsSeen = 0;
  signals = 0;
  wallSeq = 0;

  constructor(
    readonly exchange: string,
    readonly symbol: string,
    readonly instrument: Instrument,
    readonly t: WhaleThresholds,
    s: WhaleSettings,
  ) {
    this.size = new RobustStats(s.warmupTrades, s.learningRate, 0.05);
    this.levelSize = new RobustStats(s.wallWarmupLevels, s.learningRate, 0.05);
    this.burst = [new BurstSide(s.burstMaxTrades), new BurstSide(s.burstMaxTrades)];
    this.walls = [new WallSide(s.wallsPerSide), new WallSide(s.wallsPerSide)];
    this.tickValue = Number(instrument.priceScale.mantissa) * 10 ** -instrument.priceScale.exponent;
    this.lotValue = Number(instrument.qtyScale.mantissa) * 10 ** -instrument.qtyScale.exponent;
    this.logWallMin = t.wallMinNotional > 0 ? Math.log(t.wallMinNotional) : -Infinity;
    this.logWallRatio = Math.log(t.wallRatio);
  }
}

export interface WhaleDetectorStats {
  symbols: number;
  tradesSeen: number;
  levelsSeen: number;
  wallsConsumed: number;
  wallsDropped: number;
}

/**
 * Signals (`kind`): `whale_trade` (a), `whale_burst` (b), `wall_appeared` and `wall_pulled` (c).
 * Direction: the aggressor side for (a) and (b); +1 for a bid wall appearing and -1 for an ask
 * wall; a pulled bid wall (support that was not real) is -1, a pulled ask wall +1.
 */
export class WhaleDetector implements Detector {
  readonly settings: WhaleSettings;
  private readonly table = new SymbolTable<WhaleSymbol>();
  private readonly stats: WhaleDetectorStats = { symbols: 0, tradesSeen: 0, levelsSeen: 0, wallsConsumed: 0, wallsDropped: 0 };
  private readonly alpha: number;

  constructor(
    readonly name: string,
    settings: WhaleSettings | Readonly<Record<string, unknown>> = {},
  ) {
    this.settings = isParsed(settings) ? settings : parseWhaleSettings(settings, name);
    this.alpha = 1 / this.settings.burstBaselineWindows;
  }

  diagnostics(): Readonly<WhaleDetectorStats> {
    return { ...this.stats, symbols: this.table.size };
  }

  onMarketEvent(ev: MarketEvent, ctx: DetectorContext): void {
    switch (ev.type) {
      case 'trade': {
        const st = this.state(ev.exchange, ev.symbol, ctx);
        if (st) this.onTrade(st, ev, ctx);
        return;
      }
      case 'book_delta':
      case 'book_snapshot': {
        if (!this.settings.walls) return;
        const st = this.state(ev.exchange, ev.symbol, ctx);
        if (st) this.onBook(st, ev, ctx);
        return;
      }
      default:
        return;
    }
  }

  private state(exchange: string, symbol: string, ctx: DetectorContext): WhaleSymbol | undefined {
    const st = this.table.get(exchange, symbol);
    if (st !== undefined) return st;
    const instrument = ctx.instrument(exchange, symbol);
    if (!instrument) return undefined;
    const created = new WhaleSymbol(exchange, symbol, instrument, this.settings.symbols.resolve(exchange, symbol), this.settings);
    this.table.set(exchange, symbol, created);
    return created;
  }

  private nextId(st: WhaleSymbol): string {
    return `${this.name}:${st.exchange}:${st.symbol}:${++st.signals}`;
  }

  // ------------------------------------------------------------------------------- trades

  private onTrade(st: WhaleSymbol, ev: TradeEvent, ctx: DetectorContext): void {
    this.stats.tradesSeen++;
    const notional = ev.price * st.tickValue * ev.qty * st.lotValue;
    if (!(notional > 0)) return;
    const s = this.settings;
    const t = st.t;
    if (s.trades) {
      const x = Math.log(notional);
      const z = st.size.z(x);
      if (st.size.warm && z >= t.zThreshold && notional >= t.minNotional) {
        ctx.emit({
          id: this.nextId(st),
          detector: this.name,
          kind: 'whale_trade',
          exchange: ev.exchange,
          symbol: ev.symbol,
          ts: ev.ts,
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
    if (s.bursts) this.burst(st, ev, notional, ctx);
    if (s.walls) {
      // Trades at a tracked wall's price eat it (buy aggressors hit asks).
      const w = st.walls[ev.side === 'buy' ? ASK : BID];
      const i = w.find(ev.price);
      if (i >= 0) w.pendingTraded[i] += ev.qty;
    }
  }

  private burst(st: WhaleSymbol, ev: TradeEvent, notional: number, ctx: DetectorContext): void {
    const s = this.settings;
    const t = st.t;
    const win = s.burstWindowMs;
    // Baseline: the usual same-side notional per window, from fixed buckets of the window length.
    const bucket = Math.floor(ev.ts / win);
    if (bucket !== st.bucket) {
      if (st.bucket >= 0 && bucket > st.bucket) {
        const gap = bucket - st.bucket;
        const a = this.alpha;
        const keep = gap > 1 ? Math.pow(1 - a, gap - 1) : 1;
        for (let side = 0; side < 2; side++) {
          const b = st.burst[side];
          b.usual = (b.usual + a * (b.bucketSum - b.usual)) * keep;
          b.bucketSum = 0;
        }
        st.windowsSeen += gap;
      }
      st.bucket = bucket;
    }
    const side = ev.side === 'buy' ? BUY : SELL;
    const b = st.burst[side];
    b.bucketSum += notional;
    b.evictBefore(ev.ts - win + 1);
    b.push(ev.ts, notional, ev.qty, ev.tradeId);
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
      id: this.nextId(st),
      detector: this.name,
      kind: 'whale_burst',
      exchange: ev.exchange,
      symbol: ev.symbol,
      ts: ev.ts,
      direction: side === BUY ? 1 : -1,
      strength: round(ratio > 0 ? ratio : b.sum / Math.max(1, t.burstMinNotional), 3),
      evidence: {
        trades: b.len,
        notional: round(b.sum, 2),
        qty: b.qtySum,
        windowMs: win,
        firstTs: b.ts[b.head],
        lastTs: ev.ts,
        usualNotional: round(b.usual, 2),
        largestNotional: round(max, 2),
        threshold: round(threshold, 2),
        price: ev.price,
        tradeIds: b.recentIds(EVIDENCE_TRADE_IDS),
      },
    });
  }

  // ------------------------------------------------------------------------------- walls

  private onBook(st: WhaleSymbol, ev: BookDeltaEvent | BookSnapshotEvent, ctx: DetectorContext): void {
    if (st.book === undefined) st.book = ctx.book(ev.exchange, ev.symbol);
    const book = st.book;
    if (book === undefined) return;
    if (ev.type === 'book_snapshot') {
      // A (re)snapshot: what we tracked may be stale; start over from what the book shows.
      st.walls[BID].count = 0;
      st.walls[ASK].count = 0;
    }
    if (!book.synced) return;
    const bb = book.bestBid();
    const ba = book.bestAsk();
    if (bb !== undefined) this.levels(st, BID, ev.bids, bb, ev, ctx);
    if (ba !== undefined) this.levels(st, ASK, ev.asks, ba, ev, ctx);
    if (bb !== undefined) this.dropFar(st, BID, bb);
    if (ba !== undefined) this.dropFar(st, ASK, ba);
  }

  private levels(st: WhaleSymbol, side: number, levels: BookLevel[], touch: number, ev: MarketEvent, ctx: DetectorContext): void {
    const s = this.settings;
    const t = st.t;
    const w = st.walls[side];
    const band = (touch * s.wallDepthBps) / 1e4;
    const ls = st.levelSize;
    // compared in log notional: no exp per level
    const logThreshold = Math.max(st.logWallMin, st.logWallRatio + ls.median);
    for (let k = 0; k < levels.length; k++) {
      const price = levels[k].price;
      const qty = levels[k].qty;
      const i = w.find(price);
      if (i >= 0) {
        this.updateWall(st, side, i, qty, touch, ev, ctx);
        continue;
      }
      if (qty <= 0) continue;
      const dist = side === BID ? touch - price : price - touch;
      if (dist < 0 || dist > band) continue;
      const notional = price * st.tickValue * qty * st.lotValue;
      const x = Math.log(notional);
      this.stats.levelsSeen++;
      if (ls.warm && x >= logThreshold) {
        if (w.count === w.cap) {
          this.stats.wallsDropped++;
          continue;
        }
        const j = w.count++;
        w.price[j] = price;
        w.qty[j] = qty;
        w.peak[j] = qty;
        w.appearTs[j] = ev.ts;
        w.pendingTraded[j] = 0;
        w.traded[j] = 0;
        w.cancelled[j] = 0;
        w.id[j] = ++st.wallSeq;
        const usual = Math.exp(ls.median);
        ctx.emit({
          id: this.nextId(st),
          detector: this.name,
          kind: 'wall_appeared',
          exchange: st.exchange,
          symbol: st.symbol,
          ts: ev.ts,
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

  private updateWall(st: WhaleSymbol, side: number, i: number, qty: number, touch: number, ev: MarketEvent, ctx: DetectorContext): void {
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
    const pulled = w.cancelled[i] >= this.settings.wallPullFraction * peak;
    const gone = qty === 0 || qty < 0.5 * peak * (1 - this.settings.wallPullFraction);
    if (!pulled && !gone) return;
    if (pulled) {
      const price = w.price[i];
      const dist = side === BID ? touch - price : price - touch;
      const notional = price * st.tickValue * peak * st.lotValue;
      ctx.emit({
        id: this.nextId(st),
        detector: this.name,
        kind: 'wall_pulled',
        exchange: st.exchange,
        symbol: st.symbol,
        ts: ev.ts,
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
          lifetimeMs: ev.ts - w.appearTs[i],
          touch,
          distanceBps: round((dist / touch) * 1e4, 3),
        },
      });
    } else {
      this.stats.wallsConsumed++;
    }
    w.remove(i);
  }

  /** Stops tracking walls the touch moved far away from (or through). */
  private dropFar(st: WhaleSymbol, side: number, touch: number): void {
    const w = st.walls[side];
    const limit = (2 * touch * this.settings.wallDepthBps) / 1e4;
    for (let i = w.count - 1; i >= 0; i--) {
      const dist = side === BID ? touch - w.price[i] : w.price[i] - touch;
      if (dist < 0 || dist > limit) {
        // dist < 0: the touch moved through the wall's price, so it was hit (or pulled and
        // the level refilled at another price): either way no longer a resting wall to watch.
        if (dist < 0) this.stats.wallsConsumed++;
        else this.stats.wallsDropped++;
        w.remove(i);
      }
    }
  }
}

function isParsed(s: WhaleSettings | Readonly<Record<string, unknown>>): s is WhaleSettings {
  return typeof (s as WhaleSettings).symbols === 'object' && (s as WhaleSettings).symbols !== null && typeof (s as WhaleSettings).symbols.resolve === 'function';
}

