// Kernel bodies, written once against VF/VD (simd.h). Included by each kernels_<isa>.cc inside an
// anonymous namespace after <cmath>/<cstring>/<cstdlib>/intrinsics; must not include headers
// itself nor use std:: templates (their instantiations would be shared across ISA TUs).
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define CWTS_ISFINITE(x) __builtin_isfinite(x)
#else
#define CWTS_ISFINITE(x) std::isfinite(x)
#endif

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// ---------------------------------------------------------------- top-k heap
// Min-heap whose root is the worst entry: lower score is worse, equal scores: higher index worse.
inline bool worse(float sa, int32_t ia, float sb, int32_t ib) { return sa < sb || (sa == sb && ia > ib); }

inline void heap_push(float* hs, int32_t* hi, int64_t& count, int64_t cap, float s, int32_t i) {
  if (count < cap) {
    int64_t c = count++;
    while (c > 0) {
      int64_t p = (c - 1) >> 1;
      if (!worse(s, i, hs[p], hi[p])) break;
      hs[c] = hs[p]; hi[c] = hi[p]; c = p;
    }
    hs[c] = s; hi[c] = i;
    return;
  }
  // Full: replace the root only when the candidate is better than it.
  if (!worse(hs[0], hi[0], s, i)) return;
  int64_t c = 0;
  for (;;) {
    int64_t l = 2 * c + 1;
    if (l >= count) break;
    int64_t r = l + 1;
    int64_t m = (r < count && worse(hs[r], hi[r], hs[l], hi[l])) ? r : l;
    if (!worse(hs[m], hi[m], s, i)) break;
    hs[c] = hs[m]; hi[c] = hi[m]; c = m;
  }
  hs[c] = s; hi[c] = i;
}

// ---------------------------------------------------------------- patternScores
// Float32 sums of squares overflow for finite values above ~1.8e19 (and squares of values below
// ~1e-19 underflow), so a window whose float sums come out non-finite or tiny is recomputed here,
// in double, straight from its stored values: the SIMD paths stay float where that is exact
// enough, and such windows score as the float64 reference scores them. NaN/Inf in the window or
// equal values: zero-variance, score 0.
struct PatternWindow64 {
  double mean;
  double inv;  // 1 / sqrt(sum of squared deviations); 0 = zero-variance window (scores 0)
};

inline PatternWindow64 pattern_window64(const float* s, int64_t D) {
  double sum = 0.0;
  bool finite = true, same = true;
  for (int64_t d = 0; d < D; d++) {
    if (!CWTS_ISFINITE(s[d])) finite = false;
    if (s[d] != s[0]) same = false;
    sum += (double)s[d];
  }
  if (!finite || same) return PatternWindow64{0.0, 0.0};
  const double m = sum / (double)D;
  double ss = 0.0;
  for (int64_t d = 0; d < D; d++) {
    const double v = (double)s[d] - m;
    ss += v * v;
  }
  return PatternWindow64{m, ss > 0.0 ? 1.0 / std::sqrt(ss) : 0.0};
}

inline float pattern_score64(const cwts::PatternJob& job, int64_t b, const float* s, PatternWindow64 w) {
  if (w.inv == 0.0 || !job.qvalid[b]) return 0.0f;
  const float* q = job.qn + b * job.D;
  double dot = 0.0;
  for (int64_t d = 0; d < job.D; d++) dot += (double)q[d] * ((double)s[d] - w.mean);
  double r = dot * w.inv;
  r = r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);
  return (float)r + 0.0f;
}

// Float sums of squares below this are recomputed in double (their squares may be subnormal).
constexpr float kPatternTinySS = 1e-30f;

// Stored windows are processed VF::W at a time, transposed into scratch (D x W) so that each
// lane holds one window: statistics and dot products are then plain lane-wise vector ops with no
// horizontal reductions, and each query element is a broadcast.
int64_t pattern_scratch(int64_t D) { return D * VF::W + 8 * VF::W; }

bool pattern_range_cols(const cwts::PatternJob& job, int64_t k0, int64_t k1, cwts::TopKState st, float* scratch,
                   int64_t* badIndex) {
  const int64_t D = job.D, B = job.B, K = job.K, cap = job.topK;
  constexpr int W = VF::W;
  float* T = scratch;
  float* lanes = scratch + D * W;  // 8 x W scalars
  float* sumL = lanes, *mnL = lanes + W, *mxL = lanes + 2 * W, *ssL = lanes + 3 * W, *sdL = lanes + 4 * W,
        *invL = lanes + 5 * W, *outL = lanes + 6 * W;
  const float invD = 1.0f / (float)D;
  for (int64_t kb = k0; kb < k1; kb += W) {
    const int nl = (int)imin(W, k1 - kb);
    for (int l = 0; l < nl; l++) {
      const float* s = job.stored + (kb + l) * D;
      for (int64_t d = 0; d < D; d++) T[d * W + l] = s[d];
    }
    for (int l = nl; l < W; l++)
      for (int64_t d = 0; d < D; d++) T[d * W + l] = 0.0f;
    typename VF::T sum = VF::zero(), mn = VF::load(T), mx = mn;
    for (int64_t d = 0; d < D; d++) {
      typename VF::T v = VF::load(T + d * W);
      sum = VF::add(sum, v);
      mn = VF::min(mn, v);
      mx = VF::max(mx, v);
    }
    VF::store(sumL, sum);
    VF::store(mnL, mn);
    VF::store(mxL, mx);
    bool anyBad = false;
    // Lanes whose float sums cannot be trusted (overflow, underflow): scored in double.
    unsigned char fb[W];
    PatternWindow64 fbw[W];
    bool anyFb = false;
    for (int l = 0; l < W; l++) fb[l] = 0;
    for (int l = 0; l < nl; l++) {
      if (!CWTS_ISFINITE(sumL[l])) {
        // A non-finite lane sum means NaN/Inf in the window, or finite values whose float sum
        // overflows: the double path tells them apart (NaN/Inf scores 0, as the reference does).
        // Zero the lane so that it cannot turn the vector arithmetic into NaN.
        for (int64_t d = 0; d < D; d++) T[d * W + l] = 0.0f;
        mnL[l] = mxL[l] = 0.0f;
        anyBad = true;
        fb[l] = 1;
      }
    }
    if (anyBad) {
      if (*badIndex < 0) *badIndex = kb;
      sum = VF::zero();
      for (int64_t d = 0; d < D; d++) sum = VF::add(sum, VF::load(T + d * W));
    }
    typename VF::T mean = VF::mul(sum, VF::set1(invD));
    typename VF::T ss = VF::zero(), sd = VF::zero();
    for (int64_t d = 0; d < D; d++) {
      typename VF::T v = VF::sub(VF::load(T + d * W), mean);
      VF::store(T + d * W, v);
      ss = VF::fma(v, v, ss);
      sd = VF::add(sd, v);
    }
    VF::store(ssL, ss);
    VF::store(sdL, sd);
    for (int l = 0; l < nl; l++) {
      if (!fb[l] && mnL[l] != mxL[l] && !(CWTS_ISFINITE(ssL[l]) && CWTS_ISFINITE(sdL[l]) && ssL[l] >= kPatternTinySS)) fb[l] = 1;
      if (fb[l]) {
        fbw[l] = pattern_window64(job.stored + (kb + l) * D, D);
        anyFb = true;
      }
    }
    for (int l = 0; l < W; l++) {
      // Two-pass corrected sum of squares; a constant window (min == max) has zero variance.
      double ssc = (double)ssL[l] - (double)sdL[l] * (double)sdL[l] / (double)D;
      invL[l] = (l < nl && !fb[l] && mnL[l] != mxL[l] && ssc > 0.0) ? (float)(1.0 / std::sqrt(ssc)) : 0.0f;
    }
    const typename VF::T vinv = VF::load(invL), one = VF::set1(1.0f), mone = VF::set1(-1.0f), z = VF::zero();
    int64_t b = 0;
    for (; b < B; b++) {
      // Groups of 4 queries share each load of the transposed block.
      if (b + 4 <= B) {
        const float* q0 = job.qn + b * D, *q1 = q0 + D, *q2 = q1 + D, *q3 = q2 + D;
        typename VF::T a0 = VF::zero(), a1 = VF::zero(), a2 = VF::zero(), a3 = VF::zero();
        for (int64_t d = 0; d < D; d++) {
          typename VF::T t = VF::load(T + d * W);
          a0 = VF::fma(VF::set1(q0[d]), t, a0);
          a1 = VF::fma(VF::set1(q1[d]), t, a1);
          a2 = VF::fma(VF::set1(q2[d]), t, a2);
          a3 = VF::fma(VF::set1(q3[d]), t, a3);
        }
        typename VF::T acc[4] = {a0, a1, a2, a3};
        for (int g = 0; g < 4; g++, b++) {
          typename VF::T s = VF::add(VF::max(mone, VF::min(one, VF::mul(acc[g], vinv))), z);
          VF::store(outL, s);
          float* hs = st.scores + b * cap;
          int32_t* hi = st.idx + b * cap;
          int64_t& cnt = st.count[b];
          if (anyFb)
            for (int l = 0; l < nl; l++)
              if (fb[l]) outL[l] = pattern_score64(job, b, job.stored + (kb + l) * D, fbw[l]);
          for (int l = 0; l < nl; l++) {
            if (job.allScores) job.allScores[b * K + kb + l] = outL[l];
            heap_push(hs, hi, cnt, cap, outL[l], (int32_t)(kb + l));
          }
        }
        b--;
        continue;
      }
      const float* q0 = job.qn + b * D;
      typename VF::T a0 = VF::zero(), a1 = VF::zero();
      int64_t d = 0;
      for (; d + 2 <= D; d += 2) {
        a0 = VF::fma(VF::set1(q0[d]), VF::load(T + d * W), a0);
        a1 = VF::fma(VF::set1(q0[d + 1]), VF::load(T + (d + 1) * W), a1);
      }
      if (d < D) a0 = VF::fma(VF::set1(q0[d]), VF::load(T + d * W), a0);
      typename VF::T s = VF::add(VF::max(mone, VF::min(one, VF::mul(VF::add(a0, a1), vinv))), z);
      VF::store(outL, s);
      if (anyFb)
        for (int l = 0; l < nl; l++)
          if (fb[l]) outL[l] = pattern_score64(job, b, job.stored + (kb + l) * D, fbw[l]);
      float* hs = st.scores + b * cap;
      int32_t* hi = st.idx + b * cap;
      int64_t& cnt = st.count[b];
      for (int l = 0; l < nl; l++) {
        if (job.allScores) job.allScores[b * K + kb + l] = outL[l];
        heap_push(hs, hi, cnt, cap, outL[l], (int32_t)(kb + l));
      }
    }
  }
  return *badIndex < 0;
}

// Row kernel for D >= 2 lanes: each stored window is read once, straight from memory, as
// y = s - s[0] (a per-window shift that removes the price level, so float sums stay accurate);
// one pass accumulates sum(y), sum(y^2) and, per query, dot(qn, y); four horizontal sums per
// window and query group. corr = (dot - mean_y * sum(qn)) / sqrt(sum(y^2) - sum(y)^2 / D).
// A constant window has y == 0 exactly (sum(y^2) == 0); a window holding NaN/Inf has non-finite
// sums; both score 0.
inline void pattern_emit(const cwts::PatternJob& job, cwts::TopKState st, int64_t b, int64_t k, float score) {
  if (job.allScores) job.allScores[b * job.K + k] = score;
  heap_push(st.scores + b * job.topK, st.idx + b * job.topK, st.count[b], job.topK, score, (int32_t)k);
}

bool pattern_range_rows(const cwts::PatternJob& job, int64_t k0, int64_t k1, cwts::TopKState st) {
  const int64_t D = job.D, B = job.B;
  constexpr int W = VF::W;
  const int64_t DV = D - D % W;  // vector part
  const double invD = 1.0 / (double)D;
  for (int64_t k = k0; k < k1; k++) {
    const float* s = job.stored + k * D;
    const typename VF::T s0 = VF::set1(s[0]);
    typename VF::T vs = VF::zero(), vq = VF::zero(), vs2 = VF::zero(), vq2 = VF::zero();
    int64_t d = 0;
    for (; d + 2 * W <= DV; d += 2 * W) {
      typename VF::T y0 = VF::sub(VF::load(s + d), s0), y1 = VF::sub(VF::load(s + d + W), s0);
      vs = VF::add(vs, y0);
      vq = VF::fma(y0, y0, vq);
      vs2 = VF::add(vs2, y1);
      vq2 = VF::fma(y1, y1, vq2);
    }
    for (; d < DV; d += W) {
      typename VF::T y0 = VF::sub(VF::load(s + d), s0);
      vs = VF::add(vs, y0);
      vq = VF::fma(y0, y0, vq);
    }
    double sy = (double)VF::hsum(VF::add(vs, vs2)), sq = (double)VF::hsum(VF::add(vq, vq2));
    for (; d < D; d++) {
      double y = (double)(s[d] - s[0]);
      sy += y;
      sq += y * y;
    }
    const double ss = sq - sy * sy * invD;
    if (!(CWTS_ISFINITE(sy) && CWTS_ISFINITE(sq) && sq >= (double)kPatternTinySS)) {
      // NaN/Inf in the window, float sums that overflowed (values beyond ~1.8e19) or squares too
      // small for float: the whole window in double (constant and non-finite windows score 0).
      const PatternWindow64 w = pattern_window64(s, D);
      for (int64_t b = 0; b < B; b++) pattern_emit(job, st, b, k, pattern_score64(job, b, s, w));
      continue;
    }
    if (!(ss > 0.0)) {
      for (int64_t b = 0; b < B; b++) pattern_emit(job, st, b, k, 0.0f);
      continue;
    }
    const double inv = 1.0 / std::sqrt(ss), my = sy * invD;
    int64_t b = 0;
    for (; b + 4 <= B; b += 4) {
      const float* q0 = job.qn + b * D, *q1 = q0 + D, *q2 = q1 + D, *q3 = q2 + D;
      typename VF::T a0 = VF::zero(), a1 = VF::zero(), a2 = VF::zero(), a3 = VF::zero();
      for (d = 0; d < DV; d += W) {
        typename VF::T y = VF::sub(VF::load(s + d), s0);
        a0 = VF::fma(VF::load(q0 + d), y, a0);
        a1 = VF::fma(VF::load(q1 + d), y, a1);
        a2 = VF::fma(VF::load(q2 + d), y, a2);
        a3 = VF::fma(VF::load(q3 + d), y, a3);
      }
      double dots[4] = {VF::hsum(a0), VF::hsum(a1), VF::hsum(a2), VF::hsum(a3)};
      for (; d < D; d++) {
        const float y = s[d] - s[0];
        dots[0] += (double)(q0[d] * y);
        dots[1] += (double)(q1[d] * y);
        dots[2] += (double)(q2[d] * y);
        dots[3] += (double)(q3[d] * y);
      }
      for (int g = 0; g < 4; g++) {
        double r = job.qvalid[b + g] ? (dots[g] - my * job.qsum[b + g]) * inv : 0.0;
        r = r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);
        pattern_emit(job, st, b + g, k, (float)r + 0.0f);
      }
    }
    for (; b < B; b++) {
      const float* q0 = job.qn + b * D;
      typename VF::T a0 = VF::zero(), a1 = VF::zero();
      for (d = 0; d + 2 * W <= DV; d += 2 * W) {
        a0 = VF::fma(VF::load(q0 + d), VF::sub(VF::load(s + d), s0), a0);
        a1 = VF::fma(VF::load(q0 + d + W), VF::sub(VF::load(s + d + W), s0), a1);
      }
      for (; d < DV; d += W) a0 = VF::fma(VF::load(q0 + d), VF::sub(VF::load(s + d), s0), a0);
      double dot = VF::hsum(VF::add(a0, a1));
      for (; d < D; d++) dot += (double)(q0[d] * (s[d] - s[0]));
      double r = job.qvalid[b] ? (dot - my * job.qsum[b]) * inv : 0.0;
      r = r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);
      pattern_emit(job, st, b, k, (float)r + 0.0f);
    }
  }
  return true;
}

bool pattern_range(const cwts::PatternJob& job, int64_t k0, int64_t k1, cwts::TopKState st, float* scratch,
                   int64_t* badIndex) {
  if (job.D >= 2 * VF::W) return pattern_range_rows(job, k0, k1, st);
  return pattern_range_cols(job, k0, k1, st, scratch, badIndex);
}

// ---------------------------------------------------------------- rollingMoments
// Semantics follow the reference: a window whose values are all equal has mean = that value and
// variance exactly 0; NaN/Inf at index q makes mean and variance NaN for exactly the windows that
// contain q; variance is never negative.
//
// Fast path: each sub-chunk of outputs re-centres on its first input (shift) and computes its
// first window exactly in double; later windows follow from the differences
// d_i = y[i+W-1] - y[i-1] through a lane-parallel inclusive scan plus a running carry, so the only
// serial dependency is one add per vector. A third scanned channel counts the "breaks"
// (x[j] != x[j-1]) inside each window, exactly, so constant windows are recognised exactly; the
// vector kernels run it only in blocks of outputs that may hold a constant window (W - 1 equal
// pairs in a row, found from a bit mask of equal pairs per block), which most series never have.
// A sub-chunk whose inputs hold NaN/Inf ends with non-finite sums and is redone by the careful
// scalar path, which tracks the non-finite values explicitly.
//
// Restart rule (the JS oracle's ILL_CONDITIONED_F32, packages/core/src/compute/kernels/
// rolling-moments.ts): the sliding sums round by a few ulps of the largest Q since the sub-chunk's
// exact window (Qmax) per step, while a window's v + mean^2 (the contract's scale) can be far
// smaller: after a fat-finger print leaves (returns of +999 among 3e-7), Q keeps ~1e-10 of its
// rounding, and every later window of the sub-chunk (up to max(4096, 2W) of them) came out with
// variance 0 or 0.13x / 1.5x the truth. No window is written from the sums once
//   (steps + W) * Qmax / W >= 2^24 * (v + mean^2)
// could hold for it: a new sub-chunk (exact, re-shifted) starts at or before it (the fast path
// tests blocks of kRollingBlock outputs, the careful path each output). So the sums' error stays
// within ~32 u 2^24 = 6e-8 of v + mean^2 (u = 2^-53, W for the exact window's sequential sums):
// about a float32 ulp, 1/1600 of the tolerance. Prices (mean^2 >> v) never restart; returns
// only where Q falls ~2^24 / (steps + W) below its largest value.
constexpr double kRollingIllConditioned = 16777216.0;  // 2^24
// The fast path certifies the rule per block of this many outputs (a multiple of every VD::W):
// per vector only a running max of Q and a running min of v + mean^2, then one test per block. A
// block that fails starts a new sub-chunk at its first output; the first block after an exact
// window (which may hold the spike itself) is retried output by output instead, so each restart
// makes progress.
constexpr int64_t kRollingBlock = 64;

// Careful scalar path for outputs [c, e): exact per-window bookkeeping of non-finite values and
// breaks; sums restart (re-centred) after every invalid or constant stretch.
void rolling_careful(const float* x, int64_t w, int64_t c, int64_t e, float* mean, float* var) {
  const double invw = 1.0 / (double)w;
  int64_t bad = 0, brk = 0;
  for (int64_t j = c; j < c + w - 1; j++) {
    bad += !CWTS_ISFINITE(x[j]);
    if (j > c) brk += x[j] != x[j - 1];
  }
  bool valid = false;
  double sh = 0, S = 0, Q = 0, Qmax = 0;
  int64_t since = 0;
  for (int64_t i = c; i < e; i++) {
    const int64_t j = i + w - 1;
    bad += !CWTS_ISFINITE(x[j]);
    if (j > i) brk += x[j] != x[j - 1];
    if (i > c) {
      bad -= !CWTS_ISFINITE(x[i - 1]);
      if (w > 1) brk -= x[i] != x[i - 1];
    }
    if (bad > 0) {
      mean[i] = NAN;
      var[i] = NAN;
      valid = false;
    } else if (brk == 0) {
      mean[i] = x[j];
      var[i] = 0.0f;
      valid = false;
    } else {
      bool fresh = !valid;
      if (valid) {
        double yin = (double)x[j] - sh, yout = (double)x[i - 1] - sh;
        S += yin - yout;
        Q += (yin - yout) * (yin + yout);
        Qmax = Q > Qmax ? Q : Qmax;
        since++;
        const double m = S * invw, v = Q * invw - m * m, mu = m + sh;
        fresh = (double)(since + w) * Qmax * invw >= kRollingIllConditioned * (v + mu * mu);
      }
      if (fresh) {
        sh = (double)x[i];
        S = 0;
        Q = 0;
        for (int64_t k = i; k <= j; k++) {
          double y = (double)x[k] - sh;
          S += y;
          Q += y * y;
        }
        Qmax = Q;
        since = 0;
        valid = true;
      }
      double m = S * invw, v = Q * invw - m * m;
      mean[i] = (float)(m + sh);
      var[i] = (float)(v > 0.0 ? v : 0.0);
    }
  }
}

// Breaks (x[j] != x[j-1], NaN included) inside the window of w inputs starting at x[i]; the
// window is constant when there are none.
inline double window_breaks(const float* x, int64_t i, int64_t w) {
  int64_t b = 0;
  for (int64_t j = i + 1; j < i + w; j++) b += x[j] != x[j - 1];
  return (double)b;
}

// Equal pairs (x[j] == x[j-1]) in a row ending at x[j], counted up to cap.
inline int64_t equal_run_before(const float* x, int64_t j, int64_t cap) {
  int64_t r = 0;
  while (r < cap && x[j - r] == x[j - r - 1]) r++;
  return r;
}

inline int lowest_bit(uint64_t v) {  // v != 0
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_ctzll(v);
#else
  int k = 0;
  while (!(v & 1u)) v >>= 1, k++;
  return k;
#endif
}

inline int highest_bit(uint64_t v) {  // v != 0
#if defined(__GNUC__) || defined(__clang__)
  return 63 - __builtin_clzll(v);
#else
  int k = 0;
  while (v >>= 1) k++;
  return k;
#endif
}

template <bool B>
struct RollingFlag {
  static constexpr bool value = B;
};

// Whether one of nb <= 64 windows whose last inputs are p[0..nb) can be constant, i.e. ends
// with `need` equal pairs in a row: bit t of the mask is p[t] == p[t-1] (nb / VF::W compares),
// `run` the equal pairs in a row ending at p[-1], updated to end at p[nb-1]. Never false for a
// block that holds a constant window (it may be true for one that holds none).
inline bool block_may_be_constant(const float* p, int64_t nb, int64_t need, int64_t& run) {
  uint64_t eq = 0;
  int64_t t = 0;
  for (; t + VF::W <= nb; t += VF::W) eq |= (uint64_t)VF::eq_bits(VF::load(p + t), VF::load(p + t - 1)) << t;
  for (; t < nb; t++) eq |= (uint64_t)(p[t] == p[t - 1]) << t;
  if (eq == 0) {  // no equal pair: the common case for most series
    run = 0;
    return false;
  }
  // No data-dependent branch from here: tick prices repeat often, and such branches would be
  // mispredicted (the branchy form cost 3% more on a series that repeats 70% of its prices, and
  // the whole test about 10% there). ne: the unequal pairs.
  const bool full = nb == 64;
  const uint64_t ne = ~eq & (full ? ~(uint64_t)0 : (((uint64_t)1 << nb) - 1));
  // The carried run continues through the block's first `lead` bits: up to the lowest unequal
  // pair, or all nb of them (a stop bit at nb; for nb = 64 at bit 63, plus one when ne = 0). A
  // run that reached `need` before the block counts again: one more block with the breaks
  // channel, never a wrong answer.
  const int64_t lead = full ? lowest_bit(ne | ((uint64_t)1 << 63)) + (int64_t)(ne == 0) : lowest_bit(ne | ((uint64_t)1 << nb));
  int found = run + lead >= need;
  // A run inside the mask (possible only when need <= 64): bit t of y stays set while bits
  // t..t+have-1 are all set.
  if (need <= 64) {
    uint64_t y = eq;
    for (int64_t have = 1; have < need;) {
      const int64_t s = imin(have, need - have);
      y &= y >> s;
      have += s;
    }
    found |= y != 0;
  }
  const int64_t through = imin(run + nb, need), after = nb - 1 - highest_bit(ne | 1);
  run = ne == 0 ? through : after;
  return found != 0;
}

bool rolling_range(const float* x, int64_t n, int64_t w, int64_t o0, int64_t o1, float* mean, float* var) {
  (void)n;
  constexpr int VW = VD::W;
  if (w == 1) {
    // Every window is one value: mean = x, variance 0 (NaN where x is not finite).
    for (int64_t i = o0; i < o1; i++) {
      bool f = CWTS_ISFINITE(x[i]);
      mean[i] = f ? x[i] : NAN;
      var[i] = f ? 0.0f : NAN;
    }
    return true;
  }
  const int64_t L = imax(4096, 2 * w);
  const double invw = 1.0 / (double)w;
  for (int64_t c = o0; c < o1;) {
    const int64_t e = imin(o1, c + L);
    const double sh = (double)x[c];
    double S = 0.0, Q = 0.0, Bk = 0.0;
    {
      double s4[4] = {0, 0, 0, 0}, q4[4] = {0, 0, 0, 0};
      int64_t k = 0;
      for (; k + 4 <= w; k += 4)
        for (int j = 0; j < 4; j++) {
          double y = (double)x[c + k + j] - sh;
          s4[j] += y;
          q4[j] += y * y;
        }
      for (; k < w; k++) {
        double y = (double)x[c + k] - sh;
        s4[0] += y;
        q4[0] += y * y;
      }
      S = (s4[0] + s4[1]) + (s4[2] + s4[3]);
      Q = (q4[0] + q4[1]) + (q4[2] + q4[3]);
      Bk = window_breaks(x, c, w);
    }
    if (!CWTS_ISFINITE(S) || !CWTS_ISFINITE(Q) || !CWTS_ISFINITE(sh)) {
      rolling_careful(x, w, c, e, mean, var);
      c = e;
      continue;
    }
    if (Bk == 0.0) {
      mean[c] = x[c + w - 1];
      var[c] = 0.0f;
    } else {
      double m = S * invw, v = Q * invw - m * m;
      mean[c] = (float)(m + sh);
      var[c] = (float)(v > 0.0 ? v : 0.0);
    }
    // The rest of the sub-chunk slides from here, certified by the restart rule per block of
    // kRollingBlock outputs (below); S0, Q0, Bk0: the exact window's, for a per-output retry.
    const double S0 = S, Q0 = Q, Bk0 = Bk;
    double Qmax = Q;
    // Whether outputs up to `last`, the largest Q since the exact window being qmax and the
    // smallest v + mean^2 among them rlo, all satisfy the rule (NaN fails).
    auto certified = [&](int64_t last, double qmax, double rlo) -> bool {
      return (double)(last - c + w) * qmax * invw < kRollingIllConditioned * rlo;
    };
    // Scalar outputs [from, to): certified per block (returns the first failing block's first
    // output) or, perOutput, per output (returns the first failing output); -1 when all pass.
    auto slide = [&](int64_t from, int64_t to, bool perOutput) -> int64_t {
      for (int64_t b0 = from; b0 < to; b0 += kRollingBlock) {
        const int64_t b1 = imin(to, b0 + kRollingBlock);
        double rlo = INFINITY;
        for (int64_t i = b0; i < b1; i++) {
          const double xin = (double)x[i + w - 1], xout = (double)x[i - 1];
          const double yin = xin - sh, yout = xout - sh;
          S += yin - yout;
          Q += (yin - yout) * (yin + yout);
          Qmax = Q > Qmax ? Q : Qmax;
          Bk += (double)(x[i + w - 1] != x[i + w - 2]) - (double)(x[i] != x[i - 1]);
          if (Bk == 0.0) {
            mean[i] = x[i + w - 1];
            var[i] = 0.0f;
          } else {
            const double m = S * invw, v = Q * invw - m * m, mu = m + sh, r = v + mu * mu;
            if (perOutput && !certified(i, Qmax, r)) return i;
            rlo = r < rlo ? r : rlo;
            mean[i] = (float)mu;
            var[i] = (float)(v > 0.0 ? v : 0.0);
          }
        }
        if (!perOutput && !certified(b1 - 1, Qmax, rlo)) return b0;
      }
      return -1;
    };
    int64_t i = c + 1, fail = -1;
    if (VW > 1) {
      typename VD::T cs = VD::set1(S), cq = VD::set1(Q), cb = VD::set1(Bk), qm = VD::set1(Q);
      const typename VD::T vsh = VD::set1(sh), vinv = VD::set1(invw), vz = VD::set1(0.0), vinf = VD::set1(INFINITY);
      // The breaks channel (bv) runs only in blocks that may hold a constant window. cb: the
      // break count of window i - 1 while haveCb, else counted again when next needed. run: the
      // equal pairs (x[j] == x[j-1]) in a row ending at the newest input that entered a window.
      bool haveCb = true;
      int64_t run = equal_run_before(x, c + w - 1, w - 1);
      // In-vector inclusive scans of one block: d (S), q (Q), db (breaks).
      alignas(64) double dsb[kRollingBlock], qsb[kRollingBlock], bsb[kRollingBlock];
      // nv vectors of outputs from i, in two passes. Pass 1, independent per vector: the scans.
      // Pass 2: the carries (sv = scan + carry; the next carry = the scan's last lane + carry,
      // the same rounding as last(sv), read back as a broadcast load: no shuffle on the carry
      // chain) and the outputs, and per lane the largest Q (qm, since the exact window) and the
      // smallest v + mean^2 of windows that are not constant (rmin, this block): a max, an fma
      // and a min per vector, no branch. One pass with the scans in it was latency-bound (scan,
      // carry and output of a vector in one chain): 1.3x slower with AVX2 on AMD Zen 3.
      auto vectors = [&](auto breaksFlag, int64_t nv, typename VD::T& rmin) {
        constexpr bool kBreaks = decltype(breaksFlag)::value;
        for (int64_t k = 0; k < nv; k++) {
          const float* pin = x + i + k * VW + w - 1;
          const float* pout = x + i + k * VW - 1;
          const typename VD::T xin = VD::loadf(pin), xout = VD::loadf(pout);
          const typename VD::T yin = VD::sub(xin, vsh), yout = VD::sub(xout, vsh);
          const typename VD::T d = VD::sub(yin, yout);
          VD::store(dsb + k * VW, VD::scan(d));
          VD::store(qsb + k * VW, VD::scan(VD::mul(d, VD::add(yin, yout))));
          if constexpr (kBreaks) {
            // breaks entering (x[j] vs x[j-1], j = i+w-1) minus breaks leaving (x[i] vs x[i-1])
            const typename VD::T db = VD::sub(VD::ne01(xin, VD::loadf(pin - 1)), VD::ne01(VD::loadf(pout + 1), xout));
            VD::store(bsb + k * VW, VD::scan(db));
          }
        }
        for (int64_t k = 0; k < nv; k++, i += VW) {
          const typename VD::T sv = VD::add(VD::load(dsb + k * VW), cs);
          const typename VD::T qv = VD::add(VD::load(qsb + k * VW), cq);
          cs = VD::add(VD::set1(dsb[k * VW + VW - 1]), cs);
          cq = VD::add(VD::set1(qsb[k * VW + VW - 1]), cq);
          const typename VD::T m = VD::mul(sv, vinv);
          const typename VD::T mu = VD::add(m, vsh);
          const typename VD::T vr = VD::sub(VD::mul(qv, vinv), VD::mul(m, m));
          qm = VD::max(qm, qv);
          if constexpr (kBreaks) {
            const typename VD::T bv = VD::add(VD::load(bsb + k * VW), cb);
            cb = VD::add(VD::set1(bsb[k * VW + VW - 1]), cb);
            VD::storef(mean + i, VD::selz(bv, VD::loadf(x + i + w - 1), mu));
            VD::storef(var + i, VD::selz(bv, vz, VD::max(vr, vz)));
            // Constant windows hold their exact values whatever the sums say: no bound for them.
            rmin = VD::min(rmin, VD::selz(bv, vinf, VD::fma(mu, mu, vr)));
          } else {
            VD::storef(mean + i, mu);
            VD::storef(var + i, VD::max(vr, vz));
            rmin = VD::min(rmin, VD::fma(mu, mu, vr));
          }
        }
      };
      while (i + VW <= e) {
        const int64_t b0 = i, bEnd = imin(e, b0 + kRollingBlock), nv = (bEnd - b0) / VW;
        typename VD::T rmin = vinf;
        // A window of this block is constant only where w - 1 equal pairs in a row have entered.
        if (block_may_be_constant(x + b0 + w - 1, bEnd - b0, w - 1, run)) {
          if (!haveCb) cb = VD::set1(window_breaks(x, b0 - 1, w));
          haveCb = true;
          vectors(RollingFlag<true>(), nv, rmin);
        } else {
          haveCb = false;
          vectors(RollingFlag<false>(), nv, rmin);
        }
        Qmax = VD::first(VD::hmax(qm));
        if (!certified(i - 1, Qmax, -VD::first(VD::hmax(VD::sub(vz, rmin))))) {
          fail = b0;  // outputs from here on are rewritten
          break;
        }
      }
      S = VD::first(cs);
      Q = VD::first(cq);
      // The scalar outputs after the vectors need the break count of window i - 1.
      Bk = haveCb ? VD::first(cb) : (fail < 0 && i < e ? window_breaks(x, i - 1, w) : 0.0);
    }
    // The outputs left over by the vectors (all of them in the scalar kernel set).
    if (fail < 0) fail = slide(i, e, false);
    int64_t stop = e;
    if (fail > c + 1) {
      stop = fail;  // a new sub-chunk, exact at the failing block's first window
    } else if (fail == c + 1) {
      // The first block after the exact window failed (the window held a spike that leaves in
      // it): per output from the exact window, to the failing output or the block's end.
      S = S0, Q = Q0, Bk = Bk0, Qmax = Q0;
      const int64_t to = imin(e, c + 1 + kRollingBlock), at = slide(c + 1, to, true);
      stop = at >= 0 ? at : to;
    }
    // NaN/Inf anywhere in the inputs this sub-chunk covered leaves S or Q non-finite: redo it.
    if (!CWTS_ISFINITE(S) || !CWTS_ISFINITE(Q)) rolling_careful(x, w, c, stop, mean, var);
    c = stop;
  }
  return true;
}

// ---------------------------------------------------------------- sgemm (own blocked kernel)
constexpr int MR = 6;
constexpr int NR = 2 * VF::W;
constexpr int64_t KC = 256;
constexpr int64_t MC = 96;   // multiple of MR
constexpr int64_t NC = 1024; // multiple of NR

struct AlignedBuf {
  float* p = nullptr;
  int64_t n = 0;
  float* get(int64_t want) {
    if (want > n) {
      if (p) free(p);
      void* q = nullptr;
      if (posix_memalign(&q, 64, (size_t)want * sizeof(float)) != 0) q = nullptr;
      p = (float*)q;
      n = p ? want : 0;
    }
    return p;
  }
  ~AlignedBuf() { if (p) free(p); }
};

// Packs A[i0:i0+mc, p0:p0+kc] into MR-row strips, k-major inside a strip, zero-padded.
void pack_a(const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  for (int64_t is = 0; is < mc; is += MR) {
    const int64_t mr = imin(MR, mc - is);
    for (int64_t p = 0; p < kc; p++) {
      for (int64_t r = 0; r < mr; r++) dst[r] = a[(i0 + is + r) * lda + p0 + p];
      for (int64_t r = mr; r < MR; r++) dst[r] = 0.0f;
      dst += MR;
    }
  }
}

// Packs B[p0:p0+kc, j0:j0+nc] into NR-column panels, k-major inside a panel, zero-padded.
void pack_b(const float* b, int64_t ldb, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
  for (int64_t js = 0; js < nc; js += NR) {
    const int64_t nr = imin(NR, nc - js);
    for (int64_t p = 0; p < kc; p++) {
      const float* src = b + (p0 + p) * ldb + j0 + js;
      if (nr == NR) {
        VF::store(dst, VF::load(src));
        VF::store(dst + VF::W, VF::load(src + VF::W));
      } else {
        for (int64_t c = 0; c < nr; c++) dst[c] = src[c];
        for (int64_t c = nr; c < NR; c++) dst[c] = 0.0f;
      }
      dst += NR;
    }
  }
}

// MR x NR block over kc of packed A strip and packed B panel into acc (row-major MR x NR).
inline void micro(int64_t kc, const float* ap, const float* bp, float* acc) {
  typename VF::T c[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < MR; r++) { c[r][0] = VF::zero(); c[r][1] = VF::zero(); }
  for (int64_t p = 0; p < kc; p++) {
    typename VF::T b0 = VF::load(bp), b1 = VF::load(bp + VF::W);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
      typename VF::T av = VF::set1(ap[r]);
      c[r][0] = VF::fma(av, b0, c[r][0]);
      c[r][1] = VF::fma(av, b1, c[r][1]);
    }
    ap += MR;
    bp += NR;
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; r++) { VF::store(acc + r * NR, c[r][0]); VF::store(acc + r * NR + VF::W, c[r][1]); }
}

void sgemm_tile(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b, float beta, float* c,
                int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  (void)m;
  static thread_local AlignedBuf abuf, bbuf;
  float acc[MR * NR];
  if (k == 0) {
    for (int64_t i = m0; i < m1; i++)
      for (int64_t j = n0; j < n1; j++) c[i * n + j] = beta == 0.0f ? 0.0f : beta * c[i * n + j];
    return;
  }
  float* ap = abuf.get(MC * KC);
  float* bp = bbuf.get(KC * NC);
  if (!ap || !bp) return;  // allocation failure: caller checked sizes; nothing sensible to do
  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = imin(NC, n1 - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = imin(KC, k - pc);
      const bool first = pc == 0;
      pack_b(b, n, pc, kc, jc, nc, bp);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = imin(MC, m1 - ic);
        pack_a(a, k, ic, mc, pc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = imin(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = imin(MR, mc - ir);
            micro(kc, ap + ir * kc, bp + jr * kc, acc);
            for (int64_t r = 0; r < mr; r++) {
              float* crow = c + (ic + ir + r) * n + jc + jr;
              const float* arow = acc + r * NR;
              if (first) {
                if (beta == 0.0f)
                  for (int64_t j = 0; j < nr; j++) crow[j] = alpha * arow[j];
                else
                  for (int64_t j = 0; j < nr; j++) crow[j] = alpha * arow[j] + beta * crow[j];
              } else {
                for (int64_t j = 0; j < nr; j++) crow[j] += alpha * arow[j];
              }
            }
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- copy
void copy_range(void* dst, const void* src, size_t bytes) {
  unsigned char* d = (unsigned char*)dst;
  const unsigned char* s = (const unsigned char*)src;
  const size_t VB = sizeof(float) * VF::W;
  // Large copies: align the destination and use non-temporal stores (no read-for-ownership).
  if (bytes >= (size_t)1 << 20) {
    size_t head = (VB - ((uintptr_t)d & (VB - 1))) & (VB - 1);
    memcpy(d, s, head);
    d += head; s += head; bytes -= head;
    size_t nv = bytes / (4 * VB);
    for (size_t i = 0; i < nv; i++) {
      const float* sf = (const float*)s;
      typename VF::T v0 = VF::load(sf), v1 = VF::load(sf + VF::W), v2 = VF::load(sf + 2 * VF::W),
                     v3 = VF::load(sf + 3 * VF::W);
      float* df = (float*)d;
      VF::stream(df, v0); VF::stream(df + VF::W, v1); VF::stream(df + 2 * VF::W, v2); VF::stream(df + 3 * VF::W, v3);
      d += 4 * VB; s += 4 * VB;
    }
    VF::fence();
    bytes -= nv * 4 * VB;
  }
  memcpy(d, s, bytes);
}

// ---------------------------------------------------------------- monteCarloVaR
// Philox4x32-10 (Salmon et al., Random123), exactly as the contract specifies.
inline void philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, uint32_t* out) {
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0;
    uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    uint32_t n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

// loss_p = -sum_t w . (means + factor z_t) = -(horizon * w.means + sum_t v . z_t), v = factor^T w.
void mc_range(const cwts::McJob& job, int64_t p0, int64_t p1) {
  const double twoPi = 2.0 * 3.14159265358979323846;
  const double inv32 = 1.0 / 4294967296.0;
  const int64_t F = job.F, nblk = (F + 3) / 4;
  for (int64_t p = p0; p < p1; p++) {
    double acc = 0.0;
    for (int64_t t = 0; t < job.horizon; t++) {
      for (int64_t blk = 0; blk < nblk; blk++) {
        uint32_t x[4];
        philox4x32_10((uint32_t)p, (uint32_t)t, (uint32_t)blk, 0u, job.key0, job.key1, x);
        for (int h = 0; h < 2; h++) {
          const int64_t j = blk * 4 + 2 * h;
          if (j >= F) break;
          const double u1 = ((double)x[2 * h] + 0.5) * inv32;
          const double u2 = ((double)x[2 * h + 1] + 0.5) * inv32;
          const double r = std::sqrt(-2.0 * std::log(u1));
          const double a = twoPi * u2;
          double sn, cs;
#if defined(__GLIBC__)
          sincos(a, &sn, &cs);  // one call, same values as sin() and cos()
#else
          sn = std::sin(a);
          cs = std::cos(a);
#endif
          acc += job.v[j] * (r * cs);
          if (j + 1 < F) acc += job.v[j + 1] * (r * sn);
        }
      }
    }
    job.losses[p] = -((double)job.horizon * job.wm + acc);
  }
}

#include "rolling64_impl.h"

const cwts::KernelTable kTable = {
    CWTS_ISA_NAME, VF::W, pattern_range, pattern_scratch, rolling_range, rolling64_range, sgemm_tile, copy_range, mc_range,
};
