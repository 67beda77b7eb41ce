/**
 * k-NN pattern forecasts: time bars of trade prices per symbol, a ring of the last D + H log
 * returns per symbol (O(1) per bar), every completed window (D returns followed by H more)
 * stored with its forward outcome, and the current window of each symbol queried against the
 * store through the compute backend's `patternScores`, batched across symbols.
 *
 * The hot path stays synchronous: bar building, window maintenance and queueing happen in
 * `onMarketEvent`; the kernel runs asynchronously (query_mode "async", the default) and the
 * forecast Signal is emitted through the DetectorContext when the result comes back. Signal
 * content depends only on event timestamps and prices, never on the wall clock. Under
 * query_mode "sync" (backends with synchronous kernels) the query runs inline and the signal is
 * emitted before onMarketEvent returns: exactly reproducible ordering in replay, at the cost of
 * the kernel time on the hot path.
 */
import type { ComputeBackend } from '../contracts/compute.js';
import type { Detector, DetectorContext } from '../contracts/trading.js';
import type { MarketEvent } from '../domain/events.js';
import { clockTime, round, SymbolTable } from './common.js';
import { MAX_STORE_FLOATS, PatternStore, zNormalizeRingInto } from './pattern-store.js';
import { z } from 'zod';
import type { ConfigIssue } from '../config/errors.js';
import { parseDetectorSettings, settingFields } from './settings.js';
import { LogThrottle } from '../observability/log-throttle.js';
import type { MetricsRegistry } from '../observability/metrics.js';

export interface PatternSettings {
  /** Window length D (returns per window). */
  dim: number;
  /** Outcome horizon H: the log return over the H bars after a window. */
  horizon: number;
  /** Bar length, ms of venue time. */
  barMs: number;
  /** Neighbours per query. */
  topK: number;
  /** Most patterns kept (oldest evicted first). */
  capacity: number;
  /** No query before the store holds this many patterns (and at least top_k). */
  minPatterns: number;
  /** Add every completed window of every symbol to the store. */
  learn: boolean;
  /** Patterns to load at start (a file written by PatternStore.save); resolved from the working directory. */
  file: string | undefined;
  queryMode: 'async' | 'sync';
  /** A batch is sent at the first event at least this long (venue time) after its first query was queued, or when full. */
  batchWaitMs: number;
  maxBatch: number;
  /** Windows queued while a query is in flight (more are dropped and counted). */
  maxPendingAdds: number;
  /** Emit only when at least this share of neighbours moved the forecast's way... */
  minAgreement: number;
  /** ...their mean correlation is at least this... */
  minCorrelation: number;
  /** ...and the expected move is at least this many basis points. */
  minMoveBps: number;
  /** Neighbour weights for the expected move: their correlation (floored at 0) or uniform. */
  weighting: 'correlation' | 'uniform';
}

export const DEFAULT_PATTERN_SETTINGS: Readonly<PatternSettings> = Object.freeze({
  dim: 64,
  horizon: 8,
  barMs: 1000,
  topK: 16,
  capacity: 100_000,
  minPatterns: 1000,
  learn: true,
  file: undefined,
  queryMode: 'async' as const,
  batchWaitMs: 50,
  maxBatch: 256,
  maxPendingAdds: 65_536,
  minAgreement: 0.6,
  minCorrelation: 0.3,
  minMoveBps: 1,
  weighting: 'correlation' as const,
});

const f = settingFields;
const d = DEFAULT_PATTERN_SETTINGS;

const patternSettingsSchema = z.strictObject({
  dim: f.integer(2, 4096).default(d.dim),
  horizon: f.integer(1, 1_000_000).default(d.horizon),
  bar_ms: f.integer(1, 86_400_000).default(d.barMs),
  top_k: f.integer(1, 1024).default(d.topK),
  // Its upper bound depends on dim: see storeFits.
  capacity: f.integer(1, Number.MAX_SAFE_INTEGER).default(d.capacity),
  min_patterns: f.integer(1, Number.MAX_SAFE_INTEGER).default(d.minPatterns),
  learn: f.bool().default(d.learn),
  file: f.nonEmptyString().optional(),
  query_mode: f.oneOf(['async', 'sync'] as const).default(d.queryMode),
  batch_wait_ms: f.positive({ allowZero: true }).default(d.batchWaitMs),
  max_batch: f.integer(1, 65_536).default(d.maxBatch),
  max_pending_adds: f.integer(0, 16_777_216).default(d.maxPendingAdds),
  min_agreement: f.fraction({ allowZero: true }).default(d.minAgreement),
  min_correlation: f.atLeast(-1, { max: 1 }).default(d.minCorrelation),
  min_move_bps: f.positive({ allowZero: true }).default(d.minMoveBps),
  weighting: f.oneOf(['correlation', 'uniform'] as const).default(d.weighting),
});

/**
 * Every slab the detector allocates at construction holds (rows x dim) floats, at most
 * MAX_STORE_FLOATS each: the store (capacity), the windows queued during a query
 * (max_pending_adds) and the batch of query windows (max_batch). Each key is in range alone;
 * the product is checked here so a too-large combination is a ConfigError naming the key, not a
 * RangeError from the typed-array constructor at startup.
 */
function storeFits(s: z.output<typeof patternSettingsSchema>, path: string): ConfigIssue[] {
  const max = Math.floor(MAX_STORE_FLOATS / s.dim);
  const issues: ConfigIssue[] = [];
  const fits = (key: string, value: number, min: number): void => {
    if (value > max) issues.push({ path: `${path}.${key}`, message: `expected an integer between ${min} and ${max} at dim ${s.dim} (${key} x dim must stay within ${MAX_STORE_FLOATS} floats), got ${value}` });
  };
  fits('capacity', s.capacity, 1);
  fits('max_pending_adds', s.max_pending_adds, 0);
  fits('max_batch', s.max_batch, 1);
  return issues;
}

export function parsePatternSettings(raw: Readonly<Record<string, unknown>>, name = 'pattern'): PatternSettings {
  const o = parseDetectorSettings(patternSettingsSchema, raw, name, storeFits);
  return {
    dim: o.dim,
    horizon: o.horizon,
    barMs: o.bar_ms,
    topK: o.top_k,
    capacity: o.capacity,
    minPatterns: o.min_patterns,
    learn: o.learn,
    file: o.file,
    queryMode: o.query_mode,
    batchWaitMs: o.batch_wait_ms,
    maxBatch: o.max_batch,
    maxPendingAdds: o.max_pending_adds,
    minAgreement: o.min_agreement,
    minCorrelation: o.min_correlation,
    minMoveBps: o.min_move_bps,
    weighting: o.weighting,
  };
}

class PatternSymbol {
  /** Last D + H log returns, oldest at `pos` once full. */
  readonly ring: Float64Array;
  pos = 0;
  n = 0;
  /** Sum of the last H returns (the outcome of the window that ended H bars ago). */
  sumH = 0;
  bar = -1;
  barPrice = 0;
  /** Clock time of the print that set barPrice (0 before any). */
  lastTradeTs = 0;
  prevClose = 0;
  pending = false;
  /** End (venue ms) of the last closed bar. */
  lastBarEnd = 0;
  signals = 0;

  constructor(
    readonly exchange: string,
    readonly symbol: string,
    size: number,
  ) {
    this.ring = new Float64Array(size);
  }
}

export interface PatternDetectorStats {
  symbols: number;
  bars: number;
  patterns: number;
  queries: number;
  batches: number;
  signals: number;
  pendingAdds: number;
  droppedAdds: number;
  errors: number;
  /** Queries skipped because their expected move or mean correlation was not finite. */
  nonFinite: number;
  /** Largest batch sent. */
  maxBatchSeen: number;
}

export interface PatternDetectorDeps {
  backend: ComputeBackend;
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Each failed query counts in `cwts_errors_total{component="detector:<name>"}`, the engine's label for a detector's errors. */
  metrics?: Pick<MetricsRegistry, 'errors'>;
  /** Real time for the rate limit of the failed-query warning (default Date.now). */
  now?: () => number;
}

/** A failed query is logged at most once per this many ms (every one is counted). */
export const PATTERN_QUERY_ERROR_LOG_EVERY_MS = 10_000;

/**
 * Signal `knn_forecast`: direction = sign of the expected move, strength = |expected move| in
 * basis points; evidence: expected move, agreement, k, mean and best correlation, horizon, the
 * neighbours' outcomes and correlations.
 */
export class PatternDetector implements Detector {
  readonly settings: PatternSettings;
  readonly store: PatternStore;
  private readonly backend: ComputeBackend;
  private readonly logger: PatternDetectorDeps['logger'];
  /** cwts_errors_total of this detector; undefined without metrics. */
  private readonly errorCounter: { inc(): void } | undefined;
  private readonly errorLog: LogThrottle;
  private readonly table = new SymbolTable<PatternSymbol>();
  private readonly R: number;
  private ctx: DetectorContext | undefined;
  // batch
  private readonly queries: Float32Array;
  private readonly outIndices: Int32Array;
  private readonly outScores: Float32Array;
  private readonly pendingSyms: PatternSymbol[] = [];
  private readonly batchSyms: PatternSymbol[] = [];
  private readonly batchTs: Float64Array;
  private pendingSince = 0;
  private inFlightPromise: Promise<void> | undefined;
  // adds queued while a query runs
  private readonly addWindows: Float32Array;
  private readonly addOutcomes: Float32Array;
  private readonly addTimes: Float64Array;
  private addCount = 0;
  private readonly stats: PatternDetectorStats = { symbols: 0, bars: 0, patterns: 0, queries: 0, batches: 0, signals: 0, pendingAdds: 0, droppedAdds: 0, errors: 0, nonFinite: 0, maxBatchSeen: 0 };

  constructor(
    readonly name: string,
    settings: PatternSettings | Readonly<Record<string, unknown>>,
    deps: PatternDetectorDeps,
  ) {
    this.settings = isParsed(settings) ? settings : parsePatternSettings(settings, name);
    const s = this.settings;
    this.backend = deps.backend;
    this.logger = deps.logger;
    this.errorCounter = deps.metrics?.errors.labels(`detector:${name}`);
    this.errorLog = new LogThrottle(deps.now ?? Date.now, PATTERN_QUERY_ERROR_LOG_EVERY_MS);
    this.R = s.dim + s.horizon;
    this.store = new PatternStore({ dim: s.dim, capacity: s.capacity, horizon: s.horizon });
    this.queries = new Float32Array(s.maxBatch * s.dim);
    this.outIndices = new Int32Array(s.maxBatch * s.topK);
    this.outScores = new Float32Array(s.maxBatch * s.topK);
    this.batchTs = new Float64Array(s.maxBatch);
    this.addWindows = new Float32Array(s.maxPendingAdds * s.dim);
    this.addOutcomes = new Float32Array(s.maxPendingAdds);
    this.addTimes = new Float64Array(s.maxPendingAdds);
    if (s.queryMode === 'sync' && !this.backend.sync) {
      throw new Error(`detectors.${name}.query_mode: "sync" needs a backend with synchronous kernels; ${this.backend.name} has none (use "async")`);
    }
    if (s.file !== undefined) {
      const r = this.store.load(s.file);
      this.logger?.info({ detector: name, file: s.file, patterns: r.count, skipped: r.skipped }, `pattern store loaded ${r.count} patterns from ${s.file}`);
    }
  }

  diagnostics(): Readonly<PatternDetectorStats> {
    return { ...this.stats, symbols: this.table.size, patterns: this.store.count };
  }

  /** Resolves when no query is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlightPromise) await this.inFlightPromise;
  }

  /** Waits for the query in flight, saves the store when `savePath` is given, frees device memory. */
  /** Shutdown hook of the Detector contract: waits for the query in flight and frees device memory. */
  dispose(): Promise<void> {
    return this.close();
  }

  async close(savePath?: string): Promise<void> {
    await this.idle();
    this.applyQueuedAdds();
    if (savePath) this.store.save(savePath);
    this.store.releaseDevice();
  }

  onMarketEvent(ev: MarketEvent, ctx: DetectorContext): void {
    this.ctx = ctx;
    let st = this.table.get(ev.exchange, ev.symbol);
    if (st === undefined) {
      if (!ctx.instrument(ev.exchange, ev.symbol)) return;
      st = new PatternSymbol(ev.exchange, ev.symbol, this.R);
      this.table.set(ev.exchange, ev.symbol, st);
    }
    const t = clockTime(ev);
    // An event with no usable time cannot start the bars; once they run, one counts in the
    // current bar.
    if (st.bar < 0 && t <= 0) return;
    const bar = Math.floor(t / this.settings.barMs);
    if (st.bar < 0) st.bar = bar;
    else if (bar > st.bar) this.closeBars(st, bar, t);
    // The close is the newest print by venue time. A print stamped in a bar already closed (a
    // venue publishing out of order; Coinbase's and ccxt's backfill after a reconnect) is
    // history: as the current bar's close it put a move that never happened into the shared
    // store and the query window. One stamped earlier in the current bar than a print already
    // seen does not replace it either. A trade with no usable time counts as the newest, as
    // every event with none counts in the current bar.
    if (ev.type === 'trade' && (t <= 0 || (bar === st.bar && t >= st.lastTradeTs))) {
      st.barPrice = ev.price;
      if (t > 0) st.lastTradeTs = t;
    }
    if (this.pendingSyms.length > 0 && this.inFlightPromise === undefined && (this.pendingSyms.length >= this.settings.maxBatch || t >= this.pendingSince + this.settings.batchWaitMs)) {
      this.flush();
    }
  }

  /** Sends the queued queries now (normally done from onMarketEvent). */
  flush(): void {
    const B = Math.min(this.pendingSyms.length, this.settings.maxBatch);
    if (B === 0 || this.inFlightPromise !== undefined) return;
    const s = this.settings;
    const D = s.dim;
    for (let b = 0; b < B; b++) {
      const st = this.pendingSyms[b];
      st.pending = false;
      this.batchSyms[b] = st;
      this.batchTs[b] = st.lastBarEnd;
      zNormalizeRingInto(st.ring, (st.pos + s.horizon) % this.R, D, this.queries, b * D);
    }
    // drop the sent ones (keep any beyond maxBatch, in order)
    this.pendingSyms.splice(0, B);
    this.batchSyms.length = B;
    const k = Math.min(s.topK, this.store.count);
    this.stats.batches++;
    this.stats.queries += B;
    if (B > this.stats.maxBatchSeen) this.stats.maxBatchSeen = B;
    const out = { indices: this.outIndices, scores: this.outScores };
    if (s.queryMode === 'sync') {
      try {
        this.store.querySync(this.backend, this.queries, B, k, out);
        this.deliver(B, k);
      } catch (err) {
        this.failed(err);
      }
      return;
    }
    const p = this.store.query(this.backend, this.queries, B, k, out).then(
      () => this.deliver(B, k),
      (err: unknown) => this.failed(err),
    );
    this.inFlightPromise = p.finally(() => {
      this.inFlightPromise = undefined;
      this.applyQueuedAdds();
    });
  }

  /**
   * A failed kernel call (a lost device fails every batch, up to one per batch_wait_ms): counted
   * where alerts see it (a warn line alone once left a dead detector unseen), logged rate-limited.
   */
  private failed(err: unknown): void {
    this.stats.errors++;
    this.errorCounter?.inc();
    const more = this.errorLog.take('query');
    if (more !== undefined) this.logger?.warn({ detector: this.name, err: String(err), errors: this.stats.errors }, `pattern query failed: ${String(err)}${more}`);
  }

  private closeBars(st: PatternSymbol, bar: number, now: number): void {
    const s = this.settings;
    const gap = bar - st.bar;
    const close = st.barPrice > 0 ? st.barPrice : st.prevClose;
    st.lastBarEnd = (st.bar + 1) * s.barMs;
    this.stats.bars++;
    if (close > 0 && st.prevClose > 0) {
      this.push(st, Math.log(close / st.prevClose), st.lastBarEnd);
      // empty bars in between: no trade, no move (at most one ring's worth matters)
      const empty = Math.min(gap - 1, this.R);
      for (let i = 1; i <= empty; i++) this.push(st, 0, st.lastBarEnd + i * s.barMs);
      st.lastBarEnd = bar * s.barMs;
      if (st.n >= s.dim && this.store.count >= Math.max(s.minPatterns, s.topK) && !st.pending) {
        st.pending = true;
        if (this.pendingSyms.length === 0) this.pendingSince = now;
        this.pendingSyms.push(st);
      }
    }
    if (close > 0) st.prevClose = close;
    st.barPrice = 0;
    st.bar = bar;
  }

  /** Appends one bar's return; stores the window that now has its full outcome. O(1) + one add. */
  private push(st: PatternSymbol, r: number, barEnd: number): void {
    const s = this.settings;
    const R = this.R;
    const H = s.horizon;
    const leaving = st.n >= H ? st.ring[(st.pos - H + R) % R] : 0;
    st.sumH += r - leaving;
    st.ring[st.pos] = r;
    st.pos = st.pos + 1 === R ? 0 : st.pos + 1;
    st.n++;
    if ((st.n & 4095) === 0) {
      let sum = 0;
      for (let i = 1; i <= H; i++) sum += st.ring[(st.pos - i + R) % R];
      st.sumH = sum;
    }
    if (!s.learn || st.n < R) return;
    // the ring is full: its oldest D returns are the window, the newest H its outcome
    const windowEnd = barEnd - H * s.barMs;
    if (this.inFlightPromise === undefined) {
      this.store.addFromRing(st.ring, st.pos, st.sumH, windowEnd);
      return;
    }
    if (this.addCount >= s.maxPendingAdds) {
      this.stats.droppedAdds++;
      return;
    }
    const i = this.addCount++;
    zNormalizeRingInto(st.ring, st.pos, s.dim, this.addWindows, i * s.dim);
    this.addOutcomes[i] = st.sumH;
    this.addTimes[i] = windowEnd;
    this.stats.pendingAdds++;
  }

  private applyQueuedAdds(): void {
    const D = this.settings.dim;
    for (let i = 0; i < this.addCount; i++) this.store.add(this.addWindows, i * D, this.addOutcomes[i], this.addTimes[i]);
    this.addCount = 0;
  }

  private deliver(B: number, k: number): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const s = this.settings;
    const outcomes = this.store.outcomes;
    for (let b = 0; b < B; b++) {
      const st = this.batchSyms[b];
      const base = b * k;
      let wsum = 0;
      let msum = 0;
      let csum = 0;
      for (let j = 0; j < k; j++) {
        const score = this.outScores[base + j];
        const o = outcomes[this.outIndices[base + j]];
        const w = s.weighting === 'uniform' ? 1 : score > 0 ? score : 0;
        wsum += w;
        msum += w * o;
        csum += score;
      }
      const meanCorr = csum / k;
      let expected = 0;
      if (wsum > 0) expected = msum / wsum;
      // A non-finite outcome or score (the store refuses them; a backend could still return
      // NaN) must not become a signal: Infinity would be reported as strength 0 by round().
      if (!Number.isFinite(expected) || !Number.isFinite(meanCorr)) {
        this.stats.nonFinite++;
        continue;
      }
      const dir = expected > 0 ? 1 : expected < 0 ? -1 : 0;
      let agree = 0;
      for (let j = 0; j < k; j++) {
        const o = outcomes[this.outIndices[base + j]];
        if (dir !== 0 && Math.sign(o) === dir) agree++;
      }
      const agreement = agree / k;
      const expectedBps = expected * 1e4;
      if (dir === 0 || agreement < s.minAgreement || meanCorr < s.minCorrelation || Math.abs(expectedBps) < s.minMoveBps) continue;
      const neighbours: { correlation: number; outcomeBps: number }[] = [];
      for (let j = 0; j < Math.min(k, 8); j++) {
        neighbours.push({ correlation: round(this.outScores[base + j], 4), outcomeBps: round(outcomes[this.outIndices[base + j]] * 1e4, 3) });
      }
      this.stats.signals++;
      ctx.emit({
        id: `${this.name}:${st.exchange}:${st.symbol}:${++st.signals}`,
        detector: this.name,
        kind: 'knn_forecast',
        exchange: st.exchange,
        symbol: st.symbol,
        ts: this.batchTs[b],
        direction: dir,
        strength: round(Math.abs(expectedBps), 3),
        evidence: {
          expectedMoveBps: round(expectedBps, 3),
          agreement: round(agreement, 4),
          k,
          meanCorrelation: round(meanCorr, 4),
          topCorrelation: round(this.outScores[base], 4),
          horizonBars: s.horizon,
          barMs: s.barMs,
          dim: s.dim,
          storeSize: this.store.count,
          neighbours,
        },
      });
    }
  }
}

function isParsed(s: PatternSettings | Readonly<Record<string, unknown>>): s is PatternSettings {
  return typeof (s as PatternSettings).dim === 'number' && typeof (s as PatternSettings).queryMode === 'string';
}
