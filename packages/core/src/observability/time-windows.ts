/**
 * Time-sliced windows for the seed's gauges (`cwts_orders_per_second`, `cwts_latency_p99`),
 * computed at scrape time. Unlike a ring of the last N samples (SlidingWindow), they cover their
 * whole window at any rate with fixed memory: each keeps a ring of time slices and counts into the
 * slice of the moment. Recording is O(1) and allocation-free (the engine records once per order);
 * reading walks every slice, which only a render does (at most every 250 ms).
 */

/** A slice number's position in a ring (also for a negative one, which a mocked clock may give). */
function ringIndex(slice: number, length: number): number {
  const r = slice % length;
  return r < 0 ? r + length : r;
}

/**
 * Events per second over the last `windowMs`, counted per `sliceMs` slice (default 100 ms). The
 * oldest slice, partly outside the window, counts in proportion to the part still inside (events
 * taken as spread evenly over it), so the window is `windowMs` long, not a slice shorter.
 */
export class RateWindow {
  private readonly counts: Float64Array;
  /** The slice number (floor(t / sliceMs)) each ring position counts for; NaN: none yet. */
  private readonly slices: Float64Array;
  /** Whole slices in the window. */
  private readonly span: number;

  constructor(
    private readonly windowMs: number,
    private readonly sliceMs = 100,
  ) {
    if (!(sliceMs > 0) || !Number.isInteger(windowMs / sliceMs)) throw new RangeError(`window ${windowMs} ms must be a whole number of ${sliceMs} ms slices`);
    this.span = windowMs / sliceMs;
    // one more than the window's slices: the current slice is partial, the oldest partly expired
    this.counts = new Float64Array(this.span + 1);
    this.slices = new Float64Array(this.span + 1).fill(Number.NaN);
  }

  /** The ring position counting now, and the times its slice starts and ends (NaN: none yet). */
  private cur = 0;
  private curStart = Number.NaN;
  private curEnd = Number.NaN;

  record(nowMs: number): void {
    // one comparison per event while the slice lasts; the slice arithmetic once per slice
    if (!(nowMs >= this.curStart && nowMs < this.curEnd)) this.roll(nowMs);
    this.counts[this.cur]!++;
  }

  private roll(nowMs: number): void {
    const s = Math.floor(nowMs / this.sliceMs);
    const i = ringIndex(s, this.counts.length);
    if (this.slices[i] !== s) {
      this.slices[i] = s;
      this.counts[i] = 0;
    }
    this.cur = i;
    this.curStart = s * this.sliceMs;
    this.curEnd = (s + 1) * this.sliceMs;
  }

  /** Events per second over the window ending now. */
  rate(nowMs: number): number {
    const s = Math.floor(nowMs / this.sliceMs);
    const elapsed = nowMs / this.sliceMs - s; // part of the current slice gone by, 0..1
    let total = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const age = s - this.slices[i]!;
      if (age >= 0 && age < this.span) total += this.counts[i]!;
      else if (age === this.span) total += this.counts[i]! * (1 - elapsed);
    }
    return total / (this.windowMs / 1000);
  }
}

/** Linear buckets per doubling: each is 1/32 of its octave's start wide. */
const PER_OCTAVE = 32;
/** Lowest and highest bound, as powers of two of the recorded unit (ms: 2^-10 ms is 0.98 us, 2^16 ms 65.5 s). */
const MIN_EXP = -10;
const MAX_EXP = 16;
const MIN_VALUE = 2 ** MIN_EXP;
/** The buckets inside the range, then one below it (first) and one above it (last). */
const IN_RANGE = (MAX_EXP - MIN_EXP) * PER_OCTAVE;
const BUCKETS = IN_RANGE + 2;
/** A float64's bits, to read its exponent and top mantissa bits (Math.log2 costs ~45 ns a call). */
const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
/** The word holding sign, exponent and the top of the mantissa: the second on little-endian. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

function bucketOf(value: number): number {
  if (!(value >= MIN_VALUE)) return 0; // below the range, zero, negative, NaN
  // exponent and the top 5 mantissa bits: the octave and its 32nd
  bits[0] = value;
  const hi = words[HI]!;
  const b = 1 + (((hi >>> 20) & 2047) - 1023 - MIN_EXP) * PER_OCTAVE + ((hi >>> 15) & (PER_OCTAVE - 1));
  return b < BUCKETS ? b : BUCKETS - 1; // above the range, Infinity
}

/**
 * Percentiles over the last `windowMs` from one histogram per `sliceMs` slice (default 1 s),
 * merged when read. Buckets split each doubling from 2^-10 to 2^16 of the recorded unit (0.98 us
 * to 65.5 s for milliseconds) into 32 equal parts, found from the value's float64 bits; a
 * percentile is its bucket's midpoint, within 1.6 % (1/64) of the exact nearest-rank sample, and
 * never outside the smallest and largest sample in the window (so a window of one value reads
 * that value exactly). Values below or above the range count in the first or last bucket, which
 * read the window's smallest or largest sample. The window is the slices that overlap the last
 * `windowMs`: between `windowMs` and `windowMs + sliceMs` of samples, never less, at any rate.
 * Memory is fixed: (windowMs / sliceMs + 1) x 834 counters (204 KB for 60 s in 1 s slices).
 */
export class PercentileWindow {
  /** BUCKETS counts per ring position, flat. */
  private readonly counts: Uint32Array;
  private readonly slices: Float64Array;
  private readonly totals: Float64Array;
  private readonly mins: Float64Array;
  private readonly maxs: Float64Array;
  private readonly span: number;
  /** Merged counts, reused by every read. */
  private readonly merged = new Float64Array(BUCKETS);
  /** The ring position recording now, and the times its slice starts and ends (NaN: none yet). */
  private cur = 0;
  private curStart = Number.NaN;
  private curEnd = Number.NaN;

  constructor(
    windowMs: number,
    private readonly sliceMs = 1000,
  ) {
    if (!(sliceMs > 0) || !Number.isInteger(windowMs / sliceMs)) throw new RangeError(`window ${windowMs} ms must be a whole number of ${sliceMs} ms slices`);
    this.span = windowMs / sliceMs;
    const n = this.span + 1;
    this.counts = new Uint32Array(n * BUCKETS);
    this.slices = new Float64Array(n).fill(Number.NaN);
    this.totals = new Float64Array(n);
    this.mins = new Float64Array(n);
    this.maxs = new Float64Array(n);
  }

  record(value: number, nowMs: number): void {
    if (!(nowMs >= this.curStart && nowMs < this.curEnd)) this.roll(nowMs);
    const r = this.cur;
    // bucketOf(value), inlined: this runs once per order
    let b = 0;
    if (value >= MIN_VALUE) {
      bits[0] = value;
      const hi = words[HI]!;
      b = 1 + (((hi >>> 20) & 2047) - 1023 - MIN_EXP) * PER_OCTAVE + ((hi >>> 15) & (PER_OCTAVE - 1));
      if (b >= BUCKETS) b = BUCKETS - 1;
    }
    this.counts[r * BUCKETS + b]!++;
    this.totals[r]!++;
    if (value < this.mins[r]!) this.mins[r] = value;
    if (value > this.maxs[r]!) this.maxs[r] = value;
  }

  /** Moves to the slice of `nowMs`; a new slice reuses the oldest position (its reset: once per slice, not per sample). */
  private roll(nowMs: number): void {
    const s = Math.floor(nowMs / this.sliceMs);
    const r = ringIndex(s, this.slices.length);
    if (this.slices[r] !== s) {
      this.slices[r] = s;
      this.counts.fill(0, r * BUCKETS, (r + 1) * BUCKETS);
      this.totals[r] = 0;
      this.mins[r] = Infinity;
      this.maxs[r] = -Infinity;
    }
    this.cur = r;
    this.curStart = s * this.sliceMs;
    this.curEnd = (s + 1) * this.sliceMs;
  }

  /** Nearest-rank percentile of the samples in the window (see the class for its precision); 0 when there are none. */
  percentile(p: number, nowMs: number): number {
    const s = Math.floor(nowMs / this.sliceMs);
    const merged = this.merged;
    merged.fill(0);
    let total = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let r = 0; r < this.slices.length; r++) {
      const age = s - this.slices[r]!;
      if (!(age >= 0 && age <= this.span) || this.totals[r] === 0) continue;
      total += this.totals[r]!;
      if (this.mins[r]! < min) min = this.mins[r]!;
      if (this.maxs[r]! > max) max = this.maxs[r]!;
      // only the buckets between the slice's smallest and largest sample can hold counts
      const base = r * BUCKETS;
      for (let b = bucketOf(this.mins[r]!), top = bucketOf(this.maxs[r]!); b <= top; b++) merged[b]! += this.counts[base + b]!;
    }
    if (total === 0) return 0;
    const rank = Math.min(total, Math.max(1, Math.ceil((p / 100) * total)));
    let seen = 0;
    let b = bucketOf(min);
    for (const top = bucketOf(max); b < top; b++) {
      seen += merged[b]!;
      if (seen >= rank) break;
    }
    // the end buckets are open (everything below or above the range): they read the extreme sample
    if (b === 0) return min;
    if (b === BUCKETS - 1) return max;
    const octave = 2 ** (MIN_EXP + Math.floor((b - 1) / PER_OCTAVE));
    const mid = octave * (1 + (((b - 1) % PER_OCTAVE) + 0.5) / PER_OCTAVE);
    return Math.min(max, Math.max(min, mid));
  }
}
