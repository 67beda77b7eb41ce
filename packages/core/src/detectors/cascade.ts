/**
 * Liquidation cascade detection: per symbol a state machine calm -> building -> cascade ->
 * exhaustion -> calm driven by forced orders (where the venue publishes them), price velocity,
 * volume surge versus baseline with one-sided aggressor flow, and book thinning on the side
 * being hit. Features are aggregated into fixed buckets of venue time (see clockTime); the state
 * machine runs once per closed bucket. O(1) amortized per event, no allocation per event in
 * steady state.
 */
import type { BookView, Detector, DetectorContext } from '../contracts/trading.js';
import type { MarketEvent } from '../domain/events.js';
import { BASELINE_WINSOR, clockTime, round, SymbolTable, winsorized } from './common.js';
import { z } from 'zod';
import type { ConfigIssue } from '../config/errors.js';
import { parseDetectorSettings, settingFields } from './settings.js';

export type CascadeState = 'calm' | 'building' | 'cascade' | 'exhaustion';
export type CascadeInput = 'price' | 'volume' | 'book' | 'liquidations';

export interface CascadeSettings {
  /** Bucket length, ms of venue time; the state machine runs once per bucket. */
  bucketMs: number;
  /** Buckets in the short window (price move, volume, liquidations are measured over it). */
  windowBuckets: number;
  /** Time constant of the baselines (volatility, volume, depth, liquidations), ms. */
  baselineMs: number;
  /** Venue time of data before any transition, ms. */
  warmupMs: number;
  /** Move in the short window, in baseline sigmas, that scores 1 on the velocity component. */
  velocityZ: number;
  /** Short-window volume / baseline volume that scores 1 on the volume component. */
  volumeRatio: number;
  /** Forced-order notional in the short window (quote units) that scores 1 (floor of the reference). */
  liqNotional: number;
  /** ...or this multiple of the usual forced-order notional per window, when larger. */
  liqRatio: number;
  /** Depth (top `depthLevels` levels) / baseline depth on the hit side that scores 1 on thinning. */
  thinRatio: number;
  depthLevels: number;
  /** 'auto': use forced orders once the venue has sent one; 'on' / 'off' force it. */
  liquidations: 'auto' | 'on' | 'off';
  /** Use the book (thinning, mid price) when it is synced. */
  useBook: boolean;
  buildingScore: number;
  cascadeScore: number;
  exhaustionScore: number;
  calmScore: number;
  /** Consecutive buckets at or above cascadeScore to enter (or re-enter) cascade. */
  confirmBuckets: number;
  /** Building with the score below calmScore this long returns to calm, ms. */
  buildingTimeoutMs: number;
  /** Exhaustion with the score below calmScore this long returns to calm, ms. */
  cooldownMs: number;
  /** An episode longer than this is closed (back to calm) whatever the score, ms. */
  maxEpisodeMs: number;
}

export const DEFAULT_CASCADE_SETTINGS: Readonly<CascadeSettings> = Object.freeze({
  bucketMs: 250,
  windowBuckets: 4,
  baselineMs: 300_000,
  warmupMs: 60_000,
  velocityZ: 4,
  volumeRatio: 4,
  liqNotional: 100_000,
  liqRatio: 5,
  thinRatio: 0.5,
  depthLevels: 5,
  liquidations: 'auto' as const,
  useBook: true,
  buildingScore: 0.6,
  cascadeScore: 1,
  exhaustionScore: 0.6,
  calmScore: 0.3,
  confirmBuckets: 2,
  buildingTimeoutMs: 2000,
  cooldownMs: 3000,
  maxEpisodeMs: 120_000,
});

const f = settingFields;
const d = DEFAULT_CASCADE_SETTINGS;

const cascadeSettingsSchema = z.strictObject({
  bucket_ms: f.integer(1, 3_600_000).default(d.bucketMs),
  window_buckets: f.integer(1, 1024).default(d.windowBuckets),
  baseline_ms: f.positive().default(d.baselineMs),
  warmup_ms: f.positive({ allowZero: true }).default(d.warmupMs),
  velocity_z: f.positive().default(d.velocityZ),
  volume_ratio: f.atLeast(1, { exclusive: true }).default(d.volumeRatio),
  liq_notional: f.positive().default(d.liqNotional),
  liq_ratio: f.positive().default(d.liqRatio),
  thin_ratio: f.atLeast(0).refine((v) => v < 1, { error: (iss) => `expected a number in [0, 1), got ${String(iss.input)}` }).default(d.thinRatio),
  depth_levels: f.integer(1, 100).default(d.depthLevels),
  liquidations: f.oneOf(['auto', 'on', 'off'] as const).default(d.liquidations),
  use_book: f.bool().default(d.useBook),
  building_score: f.positive().default(d.buildingScore),
  cascade_score: f.positive().default(d.cascadeScore),
  exhaustion_score: f.positive().default(d.exhaustionScore),
  calm_score: f.positive().default(d.calmScore),
  confirm_buckets: f.integer(1, 1000).default(d.confirmBuckets),
  building_timeout_ms: f.positive().default(d.buildingTimeoutMs),
  cooldown_ms: f.positive().default(d.cooldownMs),
  max_episode_ms: f.positive().default(d.maxEpisodeMs),
});

/** The state machine needs calm < building <= cascade and calm < exhaustion <= cascade. */
function scoreOrder(s: z.output<typeof cascadeSettingsSchema>, path: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  if (!(s.calm_score < s.building_score && s.building_score <= s.cascade_score)) {
    out.push({ path, message: `scores must satisfy calm_score < building_score <= cascade_score (got ${s.calm_score}, ${s.building_score}, ${s.cascade_score})` });
  }
  if (!(s.calm_score < s.exhaustion_score && s.exhaustion_score <= s.cascade_score)) {
    out.push({ path, message: `scores must satisfy calm_score < exhaustion_score <= cascade_score (got ${s.calm_score}, ${s.exhaustion_score}, ${s.cascade_score})` });
  }
  return out;
}

export function parseCascadeSettings(raw: Readonly<Record<string, unknown>>, name = 'cascade'): CascadeSettings {
  const o = parseDetectorSettings(cascadeSettingsSchema, raw, name, scoreOrder);
  return {
    bucketMs: o.bucket_ms,
    windowBuckets: o.window_buckets,
    baselineMs: o.baseline_ms,
    warmupMs: o.warmup_ms,
    velocityZ: o.velocity_z,
    volumeRatio: o.volume_ratio,
    liqNotional: o.liq_notional,
    liqRatio: o.liq_ratio,
    thinRatio: o.thin_ratio,
    depthLevels: o.depth_levels,
    liquidations: o.liquidations,
    useBook: o.use_book,
    buildingScore: o.building_score,
    cascadeScore: o.cascade_score,
    exhaustionScore: o.exhaustion_score,
    calmScore: o.calm_score,
    confirmBuckets: o.confirm_buckets,
    buildingTimeoutMs: o.building_timeout_ms,
    cooldownMs: o.cooldown_ms,
    maxEpisodeMs: o.max_episode_ms,
  };
}

const S_CALM = 0;
const S_BUILDING = 1;
const S_CASCADE = 2;
const S_EXHAUSTION = 3;
const STATE_NAMES: readonly CascadeState[] = ['calm', 'building', 'cascade', 'exhaustion'];
/** Velocity and flow must each reach this component score before an episode starts. */
const MIN_COMPONENT = 0.25;
const KINDS = ['cascade_calm', 'cascade_building', 'cascade', 'cascade_exhaustion'];

/** Components of the score for one direction, filled in place. */
class Score {
  vel = 0;
  vol = 0;
  liq = 0;
  thin = 0;
  total = 0;
  moveBps = 0;
  velZ = 0;
  surge = 0;
  share = 0;
  liqNotional = 0;
  depthRatio = 1;
}

/** Closed buckets between two re-sums of the float rolling sums (drift control). */
const RESUM_EVERY = 1024;

class CascadeSymbol {
  readonly tickValue: number;
  readonly lotValue: number;
  book: BookView | undefined;
  // current bucket
  bucket = -1;
  buy = 0;
  sell = 0;
  liqSell = 0;
  liqBuy = 0;
  /** Price of the newest print (by venue time) in the current bucket, 0 when none. */
  lastTrade = 0;
  /** Venue time of the newest print seen, kept across buckets. */
  lastTradeTs = 0;
  // short-window rings (L buckets; prices L + 1)
  readonly prices: Float64Array;
  readonly rBuy: Float64Array;
  readonly rSell: Float64Array;
  readonly rLiqSell: Float64Array;
  readonly rLiqBuy: Float64Array;
  pos = 0;
  sumBuy = 0;
  sumSell = 0;
  sumLiqSell = 0;
  sumLiqBuy = 0;
  lastPrice = 0;
  buckets = 0;
  /**
   * Buckets closed with a price and evaluated: what warm-up and the plain-mean start of the
   * baselines count. Unlike `buckets`, an idle gap's fast-forwarded buckets are not in it.
   */
  seen = 0;
  /** Closed buckets until the next re-sum of the rolling sums. */
  resumIn = RESUM_EVERY;
  firstTs = -1;
  // baselines (exponentially weighted per bucket)
  varBps = 0;
  volBase = 0;
  liqBase = 0;
  /** Same-weighted share of buckets with any volume / forced orders: what `winsorized` needs. */
  volShare = 0;
  liqShare = 0;
  depthBase0 = 0;
  depthBase1 = 0;
  depth0 = 0;
  depth1 = 0;
  depthOk = false;
  // state machine
  state = S_CALM;
  dir: 1 | -1 = 1;
  episodeStart = 0;
  confirm = 0;
  lowSince = -1;
  peak = 0;
  signals = 0;
  readonly up = new Score();
  readonly down = new Score();

  constructor(
    readonly exchange: string,
    readonly symbol: string,
    tickValue: number,
    lotValue: number,
    L: number,
  ) {
    this.tickValue = tickValue;
    this.lotValue = lotValue;
    this.prices = new Float64Array(L + 1);
    this.rBuy = new Float64Array(L);
    this.rSell = new Float64Array(L);
    this.rLiqSell = new Float64Array(L);
    this.rLiqBuy = new Float64Array(L);
  }
}

/**
 * Signals: `kind` is the state entered (`cascade_building`, `cascade`, `cascade_exhaustion`,
 * `cascade_calm`); direction -1 for a downward cascade (longs liquidated, forced sells), +1
 * upward; strength is the score (1 = every input at its reference level); the evidence lists
 * the inputs used and each component.
 */
export class CascadeDetector implements Detector {
  readonly settings: CascadeSettings;
  private readonly table = new SymbolTable<CascadeSymbol>();
  private readonly venuesWithLiquidations = new Set<string>();
  private readonly alpha: number;
  private readonly scratch: { price: number; qty: number }[];

  constructor(
    readonly name: string,
    settings: CascadeSettings | Readonly<Record<string, unknown>> = {},
  ) {
    this.settings = isParsed(settings) ? settings : parseCascadeSettings(settings, name);
    this.alpha = Math.min(1, this.settings.bucketMs / this.settings.baselineMs);
    this.scratch = Array.from({ length: this.settings.depthLevels }, () => ({ price: 0, qty: 0 }));
  }

  /** Current state of a symbol ('calm' when unknown). */
  stateOf(exchange: string, symbol: string): CascadeState {
    const st = this.table.get(exchange, symbol);
    return st ? STATE_NAMES[st.state] : 'calm';
  }

  onMarketEvent(ev: MarketEvent, ctx: DetectorContext): void {
    let st = this.table.get(ev.exchange, ev.symbol);
    if (st === undefined) {
      const inst = ctx.instrument(ev.exchange, ev.symbol);
      if (!inst) return;
      st = new CascadeSymbol(
        ev.exchange,
        ev.symbol,
        Number(inst.priceScale.mantissa) * 10 ** -inst.priceScale.exponent,
        Number(inst.qtyScale.mantissa) * 10 ** -inst.qtyScale.exponent,
        this.settings.windowBuckets,
      );
      this.table.set(ev.exchange, ev.symbol, st);
    }
    const t = clockTime(ev);
    // An event with no usable time cannot start the clock; once it runs, one counts in the
    // current bucket (as a late one does).
    if (st.bucket < 0 && t <= 0) return;
    const bucket = t > 0 ? Math.floor(t / this.settings.bucketMs) : st.bucket;
    if (st.bucket < 0) {
      st.bucket = bucket;
      st.firstTs = t;
    } else if (bucket > st.bucket) {
      this.advance(st, bucket, ctx);
    }
    switch (ev.type) {
      case 'trade': {
        // A print stamped before the short window (a backfill of the trades missed during a
        // disconnect, sent with their venue times) is history: counted in the current bucket,
        // 30 s of flow became one bucket's surge. It is left out (of the baselines too: they
        // learn from closed buckets only), so the same prints give the verdict they gave live.
        // A late print inside the window counts in the window's volume (its own bucket is still
        // in it). The price is the newest print's by venue time, so a late one never replaces
        // a newer one's.
        if (bucket <= st.bucket - this.settings.windowBuckets) break;
        if (t <= 0 || t >= st.lastTradeTs) {
          st.lastTrade = ev.price;
          if (t > 0) st.lastTradeTs = t;
        }
        const n = ev.price * st.tickValue * ev.qty * st.lotValue;
        if (ev.side === 'buy') st.buy += n;
        else st.sell += n;
        break;
      }
      case 'liquidation': {
        if (this.settings.liquidations === 'auto' && !this.venuesWithLiquidations.has(ev.exchange)) this.venuesWithLiquidations.add(ev.exchange);
        // Counted in the current bucket even when late: venues push forced orders in batches
        // (Binance at most one per symbol per second, Bybit every 500 ms), often after their
        // bucket closed. Its price is not the market's (Bybit's is the bankruptcy price): the
        // bucket's price stays the book mid or the last trade.
        const n = ev.price * st.tickValue * ev.qty * st.lotValue;
        if (ev.side === 'sell') st.liqSell += n;
        else st.liqBuy += n;
        break;
      }
      default:
        break;
    }
  }

  /** Closes buckets up to (not including) `bucket`. */
  private advance(st: CascadeSymbol, bucket: number, ctx: DetectorContext): void {
    const s = this.settings;
    const L = s.windowBuckets;
    const gap = bucket - st.bucket;
    this.closeBucket(st, ctx);
    // Empty buckets in between: evaluate enough of them to flush the short window, then
    // fast-forward the rest.
    const evaluate = Math.min(gap - 1, L + 1);
    for (let i = 0; i < evaluate; i++) {
      st.bucket++;
      this.closeBucket(st, ctx);
    }
    const rest = gap - 1 - evaluate;
    if ((gap - 1) * s.bucketMs > s.baselineMs * Math.LN2) {
      // No event for longer than the baselines' half-life. Detectors never see the feed's
      // status, and on a feed that carries the book a silence this long is an outage far more
      // often than a quiet market: decayed across it (by e^-6 for 30 min), the volume baseline
      // made ordinary flow afterwards a surge for minutes, and froze there once that started an
      // episode. The baselines are learnt again from the data after it, as at start.
      this.restartWarmup(st, bucket * s.bucketMs, ctx);
    } else if (rest > 0 && st.state === S_CALM) {
      // A shorter gap may be a quiet market: the baselines decay as over empty buckets, to no
      // less than about half.
      const keep = Math.pow(1 - this.alpha, rest);
      st.volBase *= keep;
      st.liqBase *= keep;
      st.volShare *= keep;
      st.liqShare *= keep;
      st.buckets += rest;
    }
    st.bucket = bucket;
  }

  /**
   * Forgets what the baselines learnt and counts warm-up again (nothing fires before `warmup_ms`
   * of buckets seen after `now`). An episode in progress is closed to calm with a signal, as
   * max_episode_ms would have closed it: a strategy waiting for its end is not left waiting.
   */
  private restartWarmup(st: CascadeSymbol, now: number, ctx: DetectorContext): void {
    if (st.state !== S_CALM) {
      const sc = st.dir < 0 ? st.down : st.up;
      this.transition(st, S_CALM, sc, 'no data for longer than the baseline half-life: warm-up restarted', now, ctx);
    }
    st.seen = 0;
    st.varBps = st.volBase = st.liqBase = st.volShare = st.liqShare = 0;
    st.depthBase0 = st.depthBase1 = st.depth0 = st.depth1 = 0;
    st.depthOk = false;
    // The first return learnt is then the first bucket's after the gap, not the move across it.
    st.lastPrice = 0;
    st.confirm = 0;
    st.lowSince = -1;
    st.peak = 0;
  }

  private closeBucket(st: CascadeSymbol, ctx: DetectorContext): void {
    const s = this.settings;
    const L = s.windowBuckets;
    const a = this.alpha;
    // price: book mid when synced, else the last trade
    let price = st.lastTrade > 0 ? st.lastTrade : st.lastPrice;
    st.depthOk = false;
    if (s.useBook) {
      // Kept only where the context's books are live (MarketContext.liveBooks, the engine's):
      // elsewhere a pair's book may be replaced (a resync), and a kept one goes stale.
      if (ctx.liveBooks !== true || st.book === undefined) st.book = ctx.book(st.exchange, st.symbol);
      const b = st.book;
      if (b !== undefined && b.synced) {
        const bb = b.bestBid();
        const ba = b.bestAsk();
        if (bb !== undefined && ba !== undefined) price = 0.5 * (bb + ba);
        // Depth smoothed over about the short window (exponential, weight 1 / windowBuckets).
        const d0 = this.depth(st, b, 'bid');
        const d1 = this.depth(st, b, 'ask');
        const k = 1 / L;
        st.depth0 = st.depth0 > 0 ? st.depth0 + k * (d0 - st.depth0) : d0;
        st.depth1 = st.depth1 > 0 ? st.depth1 + k * (d1 - st.depth1) : d1;
        st.depthOk = d0 > 0 && d1 > 0;
      }
    }
    const prevPrice = st.lastPrice > 0 ? st.lastPrice : price;
    st.lastPrice = price;
    // rings
    const p = st.pos;
    st.sumBuy += st.buy - st.rBuy[p];
    st.sumSell += st.sell - st.rSell[p];
    st.sumLiqSell += st.liqSell - st.rLiqSell[p];
    st.sumLiqBuy += st.liqBuy - st.rLiqBuy[p];
    st.rBuy[p] = st.buy;
    st.rSell[p] = st.sell;
    st.rLiqSell[p] = st.liqSell;
    st.rLiqBuy[p] = st.liqBuy;
    st.pos = p + 1 === L ? 0 : p + 1;
    // Re-sum the float rolling sums from the ring every 1024 closed buckets (any position does:
    // the sums cover the whole ring). Counted apart from `buckets`, which an idle gap
    // fast-forwards without moving the ring: tied to both, the re-sum never came round again
    // after a gap when window_buckets divides 1024 (the default 4 included).
    if (--st.resumIn === 0) {
      st.resumIn = RESUM_EVERY;
      this.resum(st);
    }
    const pricePos = st.buckets % (L + 1);
    st.prices[pricePos] = price;
    const oldPrice = st.buckets >= L ? st.prices[(st.buckets + 1) % (L + 1)] : st.prices[0];
    st.buckets++;
    const volume = st.buy + st.sell;
    const liq = st.liqSell + st.liqBuy;
    st.buy = st.sell = st.liqSell = st.liqBuy = 0;
    st.lastTrade = 0;
    if (price <= 0) return;
    st.seen++;

    // Counted in buckets seen, not in bucket numbers: a first event stamped long before the
    // next (a stale snapshot time) fast-forwards a gap that must not stand in for warm-up.
    const warm = st.seen * s.bucketMs >= s.warmupMs && st.seen > L && st.varBps > 0;
    // score both directions
    this.score(st, -1, price, oldPrice, st.down);
    this.score(st, 1, price, oldPrice, st.up);

    if (st.state === S_CALM) {
      // baselines learn only while calm
      const r = prevPrice > 0 ? ((price - prevPrice) / prevPrice) * 1e4 : 0;
      let r2 = r * r;
      if (st.varBps > 0 && r2 > BASELINE_WINSOR * st.varBps) r2 = BASELINE_WINSOR * st.varBps;
      // Faster start: plain mean over the first buckets, then exponential weights.
      const w = st.seen < 1 / a ? 1 / st.seen : a;
      st.varBps += w * (r2 - st.varBps);
      // Winsorized like the variance: one mis-scaled print must not blind the volume input.
      st.volBase += w * (winsorized(volume, st.volBase, st.volShare) - st.volBase);
      st.liqBase += w * (winsorized(liq, st.liqBase, st.liqShare) - st.liqBase);
      st.volShare += w * ((volume > 0 ? 1 : 0) - st.volShare);
      st.liqShare += w * ((liq > 0 ? 1 : 0) - st.liqShare);
      if (st.depthOk) {
        st.depthBase0 = st.depthBase0 > 0 ? st.depthBase0 + w * (st.depth0 - st.depthBase0) : st.depth0;
        st.depthBase1 = st.depthBase1 > 0 ? st.depthBase1 + w * (st.depth1 - st.depthBase1) : st.depth1;
      }
    }
    if (!warm) return;
    this.step(st, ctx);
  }

  private depth(st: CascadeSymbol, b: BookView, side: 'bid' | 'ask'): number {
    const out = this.scratch;
    const n = b.topLevels(side, out.length, out);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += out[i].price * st.tickValue * out[i].qty * st.lotValue;
    return sum;
  }

  private resum(st: CascadeSymbol): void {
    let b = 0;
    let s = 0;
    let ls = 0;
    let lb = 0;
    for (let i = 0; i < st.rBuy.length; i++) {
      b += st.rBuy[i];
      s += st.rSell[i];
      ls += st.rLiqSell[i];
      lb += st.rLiqBuy[i];
    }
    st.sumBuy = b;
    st.sumSell = s;
    st.sumLiqSell = ls;
    st.sumLiqBuy = lb;
  }

  private liquidationsUsed(exchange: string): boolean {
    const m = this.settings.liquidations;
    return m === 'on' || (m === 'auto' && this.venuesWithLiquidations.has(exchange));
  }

  private score(st: CascadeSymbol, d: 1 | -1, price: number, oldPrice: number, out: Score): void {
    const s = this.settings;
    const L = s.windowBuckets;
    const move = oldPrice > 0 ? ((d * (price - oldPrice)) / oldPrice) * 1e4 : 0;
    const sigmaL = Math.sqrt(st.varBps * L);
    const velZ = sigmaL > 0 ? move / sigmaL : 0;
    out.moveBps = move;
    out.velZ = velZ;
    out.vel = clamp(velZ / s.velocityZ, 0, 2);
    const total = st.sumBuy + st.sumSell;
    const surge = st.volBase > 0 ? total / L / st.volBase : 0;
    const share = total > 0 ? (d < 0 ? st.sumSell : st.sumBuy) / total : 0.5;
    out.surge = surge;
    out.share = share;
    out.vol = clamp((surge - 1) / (s.volumeRatio - 1), 0, 2) * clamp((share - 0.5) / 0.25, 0, 1);
    let sum = out.vel + out.vol;
    let n = 2;
    if (this.liquidationsUsed(st.exchange)) {
      const liq = d < 0 ? st.sumLiqSell : st.sumLiqBuy;
      const ref = Math.max(s.liqNotional, s.liqRatio * st.liqBase * L);
      out.liqNotional = liq;
      out.liq = clamp(liq / ref, 0, 2);
      sum += out.liq;
      n++;
    } else {
      out.liqNotional = 0;
      out.liq = 0;
    }
    if (st.depthOk && st.depthBase0 > 0 && st.depthBase1 > 0) {
      const ratio = d < 0 ? st.depth0 / st.depthBase0 : st.depth1 / st.depthBase1;
      out.depthRatio = ratio;
      out.thin = clamp((1 - ratio) / (1 - s.thinRatio), 0, 2);
      sum += out.thin;
      n++;
    } else {
      out.depthRatio = 1;
      out.thin = 0;
    }
    out.total = sum / n;
  }

  private step(st: CascadeSymbol, ctx: DetectorContext): void {
    const s = this.settings;
    const now = st.bucket * s.bucketMs + s.bucketMs;
    if (st.state === S_CALM) {
      const sc = st.down.total >= st.up.total ? st.down : st.up;
      if (sc.total >= s.buildingScore && this.corroborated(sc)) {
        st.dir = sc === st.down ? -1 : 1;
        st.episodeStart = now;
        st.peak = sc.total;
        st.confirm = sc.total >= s.cascadeScore ? 1 : 0;
        st.lowSince = -1;
        this.transition(st, S_BUILDING, sc, 'score reached building_score', now, ctx);
      }
      return;
    }
    const sc = st.dir < 0 ? st.down : st.up;
    if (sc.total > st.peak) st.peak = sc.total;
    if (sc.total < s.calmScore) {
      if (st.lowSince < 0) st.lowSince = now;
    } else st.lowSince = -1;
    if (now - st.episodeStart > s.maxEpisodeMs) {
      this.transition(st, S_CALM, sc, 'max_episode_ms reached', now, ctx);
      return;
    }
    switch (st.state) {
      case S_BUILDING:
        st.confirm = sc.total >= s.cascadeScore ? st.confirm + 1 : 0;
        if (st.confirm >= s.confirmBuckets) this.transition(st, S_CASCADE, sc, 'score held cascade_score', now, ctx);
        else if (st.lowSince >= 0 && now - st.lowSince >= s.buildingTimeoutMs) this.transition(st, S_CALM, sc, 'faded before cascading', now, ctx);
        return;
      case S_CASCADE:
        if (sc.total < s.exhaustionScore) {
          st.confirm = 0;
          this.transition(st, S_EXHAUSTION, sc, 'score fell below exhaustion_score', now, ctx);
        }
        return;
      case S_EXHAUSTION: {
        // A new episode the other way (a reversal) starts from building without waiting for calm.
        const op = st.dir < 0 ? st.up : st.down;
        if (op.total >= s.buildingScore && op.total > sc.total && this.corroborated(op)) {
          st.dir = st.dir < 0 ? 1 : -1;
          st.episodeStart = now;
          st.peak = op.total;
          st.confirm = op.total >= s.cascadeScore ? 1 : 0;
          st.lowSince = -1;
          this.transition(st, S_BUILDING, op, 'reversal: the other side reached building_score', now, ctx);
          return;
        }
        st.confirm = sc.total >= s.cascadeScore ? st.confirm + 1 : 0;
        if (st.confirm >= s.confirmBuckets) this.transition(st, S_CASCADE, sc, 're-accelerated', now, ctx);
        else if (st.lowSince >= 0 && now - st.lowSince >= s.cooldownMs) this.transition(st, S_CALM, sc, 'quiet for cooldown_ms', now, ctx);
        return;
      }
      default:
        return;
    }
  }

  /** An episode starts only with price moving that way and aggressive flow (trades or forced orders) behind it. */
  private corroborated(sc: Score): boolean {
    return sc.vel >= MIN_COMPONENT && (sc.vol >= MIN_COMPONENT || sc.liq >= MIN_COMPONENT);
  }

  private transition(st: CascadeSymbol, to: number, sc: Score, reason: string, now: number, ctx: DetectorContext): void {
    const from = st.state;
    st.state = to;
    const inputs: CascadeInput[] = ['price', 'volume'];
    if (st.depthOk && st.depthBase0 > 0) inputs.push('book');
    if (this.liquidationsUsed(st.exchange)) inputs.push('liquidations');
    ctx.emit({
      id: `${this.name}:${st.exchange}:${st.symbol}:${++st.signals}`,
      detector: this.name,
      kind: KINDS[to],
      exchange: st.exchange,
      symbol: st.symbol,
      ts: now,
      direction: st.dir,
      strength: round(sc.total, 4),
      evidence: {
        from: STATE_NAMES[from],
        to: STATE_NAMES[to],
        reason,
        inputs,
        score: round(sc.total, 4),
        peakScore: round(st.peak, 4),
        components: { velocity: round(sc.vel, 4), volume: round(sc.vol, 4), liquidations: round(sc.liq, 4), thinning: round(sc.thin, 4) },
        moveBps: round(sc.moveBps, 3),
        velocityZ: round(sc.velZ, 3),
        volumeSurge: round(sc.surge, 3),
        aggressorShare: round(sc.share, 3),
        liquidationNotional: round(sc.liqNotional, 2),
        depthRatio: round(sc.depthRatio, 3),
        price: round(st.lastPrice, 1),
        episodeStartTs: st.episodeStart,
        episodeMs: now - st.episodeStart,
        windowMs: this.settings.windowBuckets * this.settings.bucketMs,
      },
    });
  }
}

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

function isParsed(s: CascadeSettings | Readonly<Record<string, unknown>>): s is CascadeSettings {
  return typeof (s as CascadeSettings).bucketMs === 'number' && typeof (s as CascadeSettings).buildingScore === 'number';
}
