/**
 * Per-symbol state of the whale detector, shared by its three rules (whale-trades.ts,
 * whale-bursts.ts, whale-walls.ts): preallocated rings and tables, no allocation per event.
 */
import type { BookView } from '../contracts/trading.js';
import type { Instrument } from '../domain/instrument.js';
import { RobustStats } from './common.js';
import type { WhaleSettings, WhaleThresholds } from './whale-settings.js';

export const BUY = 0;
export const SELL = 1;
export const BID = 0;
export const ASK = 1;
export const EVIDENCE_TRADE_IDS = 16;

/** Same-side trades inside the sliding window, as a ring. */
export class BurstSide {
  readonly ts: Float64Array;
  readonly notional: Float64Array;
  readonly ids: string[];
  readonly qty: Float64Array;
  head = 0;
  len = 0;
  /**
   * Monotonic deque of ring positions with decreasing notional: front = window max. A position
   * names one trade while it is in the window (len <= cap), so the front is the oldest trade
   * exactly when it equals `head`. Positions wrap by a compare, not `%` (a division per step).
   */
  readonly dq: Int32Array;
  dqHead = 0;
  dqLen = 0;
  sum = 0;
  qtySum = 0;
  active = false;
  /** Sum of the current baseline bucket and the exponentially weighted mean per window. */
  bucketSum = 0;
  usual = 0;
  /** Same-weighted share of windows with a trade on this side (what `winsorized` needs). */
  share = 0;

  constructor(readonly cap: number) {
    this.ts = new Float64Array(cap);
    this.notional = new Float64Array(cap);
    this.qty = new Float64Array(cap);
    this.ids = new Array<string>(cap).fill('');
    this.dq = new Int32Array(cap);
  }

  /** Largest notional in the window. */
  get max(): number {
    return this.dqLen > 0 ? this.notional[this.dq[this.dqHead]] : 0;
  }

  push(ts: number, notional: number, qty: number, id: string): void {
    const cap = this.cap;
    if (this.len === cap) this.dropOldest();
    let i = this.head + this.len;
    if (i >= cap) i -= cap;
    const dq = this.dq;
    let back = this.dqHead + this.dqLen - 1;
    if (back >= cap) back -= cap;
    while (this.dqLen > 0 && this.notional[dq[back]] <= notional) {
      this.dqLen--;
      back = back === 0 ? cap - 1 : back - 1;
    }
    back = back === cap - 1 ? 0 : back + 1;
    dq[back] = i;
    this.dqLen++;
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
    if (this.dqLen > 0 && this.dq[this.dqHead] === h) {
      this.dqHead = this.dqHead === this.cap - 1 ? 0 : this.dqHead + 1;
      this.dqLen--;
    }
    this.head = h === this.cap - 1 ? 0 : h + 1;
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
export class WallSide {
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

export class WhaleSymbol {
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
  /** Burst baseline bucket (rule b); it only moves forward. */
  bucket = -1;
  /** Newest trade time seen by rule (b): its clock (a late trade counts at this time). */
  burstTs = -Infinity;
  windowsSeen = 0;
  /**
   * Newest clock time of any event of the symbol (trade or book; book events only while rule
   * (b) is on): rule (b) tells a quiet market (the book still moving) from an outage by it.
   */
  lastEventTs = -Infinity;
  /** Exponentially weighted share of recent warm trades that fired rule (a) (whale-trades.ts). */
  whaleShare = 0;
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
  /** Times a symbol's trade-size baseline was learnt again because most recent trades fired (rule a). */
  sizeRelearns: number;
}

/** What a rule needs of the detector it runs in. */
export interface WhaleRuleContext {
  readonly name: string;
  readonly settings: WhaleSettings;
  readonly stats: WhaleDetectorStats;
  /** 1 / burst_baseline_windows. */
  readonly alpha: number;
  /** The next signal id of a symbol: one sequence across the three rules. */
  nextId(st: WhaleSymbol): string;
}
