// Float64 rollingMoments (mean and population variance, or mean only), written once against VD
// (simd.h). Included by kernels_impl.h inside each ISA translation unit's anonymous namespace.
//
// Same semantics as the float32 kernel: a window whose values are all equal has mean = that value
// and variance exactly 0; NaN/Inf at index q makes mean and variance NaN for exactly the windows
// containing q; variance is never negative (a finite negative from rounding becomes 0, NaN stays
// NaN). Finite values whose sums overflow (|x| from ~1e154 on, where squares do, or near 1e308,
// where the sum does) are computed scaled by a power of two (window64_scaled): the mean and a
// variance up to the largest double come out, a larger variance is Infinity, never 0.
//
// Precision (the contract promises 1e-12 relative to a float64 two-pass calculation of each
// window): prices sit far from zero (30000.5 moving by 0.01), so sums of raw values would cancel
// catastrophically in Q/W - m^2. Each chunk of outputs is re-centred on the exact (two-pass) mean
// of its first window; within a chunk the centred sums S = sum(x - c), Q = sum((x - c)^2) follow
// the differences d_i = x[i+W-1] - x[i-1] through a lane-parallel inclusive scan plus a running
// carry (one serial add per vector). The rounding of the sliding sums grows with the steps
// since the last exact window and is relative to the largest Q seen since (Qmax), while
// v = Q/W - m^2 can be far smaller (a window of two near-equal values, or the level drifted far
// from the centre). So, with variance, a window whose steps * Qmax / W >= 256 v starts a new
// chunk centred on itself (exact two-pass): the rounding (a few ulps of Qmax per step, more in
// the tree-ordered scans) stays well under 1e-12 of v. Chunks are at most max(128, 2W) outputs.
// The same rule bounds the mean's error, since (mean - centre)^2 <= Q / W. With variance, a third
// scanned channel counts value changes inside each window, exactly, so constant windows are
// recognised exactly. From W = 64 (AVX-512; 128 with AVX2) the variance takes rolling64_var
// instead: the same sums, certified per block of 128 outputs against a bound computed from what
// the loop saw, not from a worst case per step. Mean only (rolling64_mean below, W >= 2) has a kernel of its own: chunks
// are max(1024, 16W), constant windows come from a run length, and a running bound on the
// sliding sums' rounding (relative to the largest centred sums since the chunk's anchor) is
// certified against the window's scale every 256 outputs (kMeanBudget below), so the mean keeps
// 1e-12 x (|mean| + sd) for any finite input, where the level falls or crosses zero too.
// A chunk whose inputs hold NaN/Inf is redone by the careful scalar path.

constexpr double kIllConditioned = 256.0;
constexpr double kUnitRoundoff = 1.1102230246251565e-16;  // 2^-53

// Exact two-pass centre and sums of the window [i, i + w), the anchor every sliding path starts
// from: centre sh = its mean, S = sum(y) with y = x - sh rounded, Q = sum(y^2), and (where asked)
// bounds on their rounding. Both sums carry a TwoSum compensation per lane, so their rounding
// does not grow with w: the sliding paths carry an anchor's error to every later window of its
// chunk, where the variance can be far smaller than the anchor's (a few values 1 sd off leave,
// a run of equal ones stays), and the rule they restart by counts steps, not the anchor. With
// plain lane accumulators, Q's (w / VW) u Q reached 1.3e-12 of such a window's variance one step
// on (W=1500), and S's (w / VW) u sum|y|, times the drift of later means from the centre, as much
// (both found by float64.test.ts, 'windows of equal values'). Left: S within u sum|y| (the y's
// rounding) + 2u |S|, Q within 5u Q (the y's, the squares, the final add), each + O(w^2 u^2).
//
// Short windows (w < kExactCompensatedFrom) keep four plain scalar accumulators per sum: their
// rounding, (w/4 + 6) u, is a step or two of what the restart rule allows per step, and at W=20
// (an anchor every few outputs on ticks) the compensated lanes cost 25%.
constexpr int64_t kExactCompensatedFrom = 64;

inline void window64_exact(const double* x, int64_t i, int64_t w, double* sh, double* S, double* Q, double* errS = nullptr, double* errQ = nullptr) {
  if (w < kExactCompensatedFrom) {
    double s4[4] = {0, 0, 0, 0};
    int64_t k = 0;
    for (; k + 4 <= w; k += 4)
      for (int j = 0; j < 4; j++) s4[j] += x[i + k + j];
    for (; k < w; k++) s4[0] += x[i + k];
    const double m = ((s4[0] + s4[1]) + (s4[2] + s4[3])) / (double)w;
    double d4[4] = {0, 0, 0, 0}, q4[4] = {0, 0, 0, 0};
    k = 0;
    for (; k + 4 <= w; k += 4)
      for (int j = 0; j < 4; j++) {
        const double y = x[i + k + j] - m;
        d4[j] += y;
        q4[j] += y * y;
      }
    for (; k < w; k++) {
      const double y = x[i + k] - m;
      d4[0] += y;
      q4[0] += y * y;
    }
    *sh = m;
    *S = (d4[0] + d4[1]) + (d4[2] + d4[3]);
    *Q = (q4[0] + q4[1]) + (q4[2] + q4[3]);
    if (errS == nullptr) return;
    double absSum = 0.0;
    for (k = 0; k < w; k++) absSum += std::fabs(x[i + k] - m);
    const double growth = 1.01 * ((double)w + 6.0) * kUnitRoundoff;  // w: absSum's own sum
    *errS = growth * absSum;
    *errQ = growth * *Q;
    return;
  }
  constexpr int VW = VD::W;
  typedef typename VD::T V;
  const double* p = x + i;
  V acc = VD::set1(0.0);
  int64_t k = 0;
  for (; k + VW <= w; k += VW) acc = VD::add(acc, VD::load(p + k));
  double ls[VW], lsc[VW], lq[VW], lqc[VW], la[VW];
  VD::store(ls, acc);
  double total = 0.0;
  for (int j = 0; j < VW; j++) total += ls[j];
  for (int64_t t = k; t < w; t++) total += p[t];
  const double m = total / (double)w;
  const V vm = VD::set1(m);
  V vs = VD::set1(0.0), vsc = vs, vq = vs, vqc = vs, va = vs;
  // a + b = t + (returned) exactly (Knuth's TwoSum: no branch on magnitudes).
  auto twoSum = [](V a, V b, V& t) -> V {
    t = VD::add(a, b);
    const V bb = VD::sub(t, a);
    return VD::add(VD::sub(a, VD::sub(t, bb)), VD::sub(b, bb));
  };
  k = 0;
  for (; k + VW <= w; k += VW) {
    const V y = VD::sub(VD::load(p + k), vm);
    V t;
    vsc = VD::add(vsc, twoSum(vs, y, t));
    vs = t;
    vqc = VD::add(vqc, twoSum(vq, VD::mul(y, y), t));
    vq = t;
    va = VD::add(va, VD::abs(y));
  }
  VD::store(ls, vs), VD::store(lsc, vsc), VD::store(lq, vq), VD::store(lqc, vqc), VD::store(la, va);
  double s = 0.0, sc = 0.0, q = 0.0, qc = 0.0, absSum = 0.0;
  auto add = [](double& hi, double& lo, double y) {
    const double t = hi + y, bb = t - hi;
    lo += (hi - (t - bb)) + (y - bb);
    hi = t;
  };
  for (int j = 0; j < VW; j++) {
    add(s, sc, ls[j]);
    sc += lsc[j];
    add(q, qc, lq[j]);
    qc += lqc[j];
    absSum += la[j];
  }
  for (; k < w; k++) {
    const double y = p[k] - m;
    add(s, sc, y);
    add(q, qc, y * y);
    absSum += std::fabs(y);
  }
  const double u = kUnitRoundoff, wd = (double)w;
  *sh = m;
  *S = s + sc;
  *Q = q + qc;
  if (errS == nullptr) return;
  const double tail = 4.0 * (wd + VW) * (wd + VW) * u * u;
  *errS = 1.01 * u * absSum + 2.02 * u * std::fabs(*S) + tail * absSum;
  *errQ = (5.05 * u + tail) * *Q;
}

// Never negative: a finite v <= 0 (rounding, where the variance is ~0) becomes +0; NaN stays NaN.
// (`v > 0 ? v : 0` mapped the NaN of overflowed sums, Inf - Inf, to 0: "no volatility".)
inline double nonNegative(double v) { return v <= 0.0 ? 0.0 : v; }

// One window [i, i + w) of finite values whose sums overflow, into mean[i] (and var[i]): scaled by
// 2^-e, e the exponent of its largest |x|, which is exact (a power of two; values below 2^-1074 of
// the largest lose bits, far under the tolerance), then the compensated two-pass sums
// (mean = m + d / w, variance = (q - d^2 / w) / w), scaled back by 2^e and 2^2e (exact; a
// variance above the largest double is Infinity, its correctly rounded value). core's JS kernel
// does the same (scaledWindow64). Only the careful path calls it, where an exact window is not
// finite: no cost to windows that do not overflow.
template <bool V>
void window64_scaled(const double* x, int64_t i, int64_t w, double* mean, double* var) {
  double amax = 0.0;
  for (int64_t k = i; k < i + w; k++) amax = std::fabs(x[k]) > amax ? std::fabs(x[k]) : amax;
  int e = 0;
  std::frexp(amax, &e);  // amax = f 2^e, f in [0.5, 1)
  if (e < 0) e = 0;
  const double down = std::ldexp(1.0, -e);  // 2^-1024 is a subnormal power of two: exact
  double sum = 0.0;
  for (int64_t k = i; k < i + w; k++) sum += x[k] * down;
  const double m = sum / (double)w;
  double d = 0.0, dc = 0.0, q = 0.0, qc = 0.0;
  auto add = [](double& hi, double& lo, double y) {
    const double t = hi + y, bb = t - hi;
    lo += (hi - (t - bb)) + (y - bb);
    hi = t;
  };
  for (int64_t k = i; k < i + w; k++) {
    const double y = x[k] * down - m;
    add(d, dc, y);
    add(q, qc, y * y);
  }
  const double ds = d + dc, dm = ds / (double)w;
  mean[i] = std::ldexp(m + dm, e);
  if (V) var[i] = std::ldexp(nonNegative((q + qc - ds * dm) / (double)w), 2 * e);
}

// Writes output i from centred sums (breaks = value changes inside the window). Returns false,
// writing nothing, when the variance is ill-conditioned and the window is not `fresh` (just
// computed exactly): the caller then restarts from window i.
template <bool V>
inline bool rolling64_out(double S, double Q, double Qmax, double steps, double breaks, double sh, double xlast, double invw, bool fresh,
                          double* mean, double* var, int64_t i) {
  if (breaks == 0.0) {
    mean[i] = xlast;
    if (V) var[i] = 0.0;
    return true;
  }
  const double m = S * invw;
  if (V) {
    const double v = Q * invw - m * m;
    if (!fresh && steps * Qmax * invw >= kIllConditioned * v) return false;
    var[i] = nonNegative(v);
  }
  mean[i] = sh + m;
  return true;
}

// The mean's guarantee for any finite input. The contract's tolerance for a window's mean is
// 1e-12 * (|mean| + sd); mean|x| over the window is a lower bound of |mean| + sd (|x| <= |mean|
// + |x - mean|, and mean|x - mean| <= sd), so where the mean is near 0 the sd still sets the
// scale. Sliding sums round relative to the largest sums since their anchor and to the anchor's
// centre, not to the current window, so each path keeps a running bound on that rounding (in
// units of kUnitRoundoff) and starts again from an exact window before the bound can exceed
// kMeanBudget of a lower bound of the window's scale. Half the tolerance: the rest is for the
// rounding of the exact window itself and of the reference it is compared with.
constexpr double kMeanBudget = 0.5e-12;

// sum|x| and sum|x - centre| over [i, i + w): the scale of an exact window and the size of the
// terms its centred sum was made of (the careful path's bounds start from them).
inline void window64_scale(const double* x, int64_t i, int64_t w, double centre, double* absSum, double* absDev) {
  double a = 0.0, dev = 0.0;
  for (int64_t k = i; k < i + w; k++) {
    a += std::fabs(x[k]);
    dev += std::fabs(x[k] - centre);
  }
  *absSum = a;
  *absDev = dev;
}

// Careful scalar path for outputs [c, e): exact per-window bookkeeping of non-finite values and
// changes; sums restart from an exact two-pass window after every invalid, constant or
// ill-conditioned window, every `L` outputs, and where the mean's rounding bound (above) could
// exceed kMeanBudget of the window's scale. This is the mean-only kernel's path for windows whose
// mean is near 0, so it also slides A = sum|x| as the scale's lower bound. Where an exact
// window's own bound is not within the budget (its compensated S leaves u sum|x - mean|, and A
// its sequential sum), a restart cannot help, and none is made until the window has moved on
// by w values (so restarts cost O(1) per output whatever the data).
template <bool V>
void rolling64_careful(const double* x, int64_t w, int64_t c, int64_t e, int64_t L, double* mean, double* var) {
  const double invw = 1.0 / (double)w;
  // Rounding bound of window64_scale's sequential sum|x|, per unit of the sum.
  const double scaleGrowth = (double)w + 1.0;
  int64_t bad = 0, brk = 0, since = 0, quietUntil = c;
  for (int64_t j = c; j < c + w - 1; j++) {
    bad += !CWTS_ISFINITE(x[j]);
    if (j > c) brk += x[j] != x[j - 1];
  }
  bool valid = false;
  double sh = 0, S = 0, Q = 0, Qmax = 0, A = 0, eS = 0, eA = 0;
  // Bound on the rounding of sh + S / w, against kMeanBudget of the window's scale.
  auto meanCertified = [&]() -> bool {
    const double err = kUnitRoundoff * ((eS + 3.0 * std::fabs(S)) * invw + std::fabs(sh + S * invw));
    const double level = std::fabs(sh + S * invw) - err;
    const double absMean = (A - kUnitRoundoff * eA) * invw;
    return err <= kMeanBudget * (level > absMean ? level : absMean);
  };
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
      if (V) var[i] = NAN;
      valid = false;
      continue;
    }
    if (brk == 0) {
      mean[i] = x[j];
      if (V) var[i] = 0.0;
      valid = false;
      continue;
    }
    if (valid && since < L) {
      const double xin = x[j], xout = x[i - 1];
      const double d = xin - xout;
      S += d;
      const double da = std::fabs(xin) - std::fabs(xout);
      A += da;
      eS += std::fabs(S) + std::fabs(d);
      eA += std::fabs(A) + std::fabs(da);
      if (V) {
        Q += d * ((xin - sh) + (xout - sh));
        Qmax = Q > Qmax ? Q : Qmax;
      }
      since++;
      // Sums that overflowed (finite values near the top of float64) restart, and go scaled.
      if (CWTS_ISFINITE(S) && (!V || CWTS_ISFINITE(Q)) && (i < quietUntil || meanCertified()) &&
          rolling64_out<V>(S, Q, Qmax, (double)since, 1.0, sh, xin, invw, false, mean, var, i))
        continue;
    }
    double errS, errQ, absDev;
    window64_exact(x, i, w, &sh, &S, &Q, &errS, &errQ);
    window64_scale(x, i, w, sh, &A, &absDev);
    eS = errS / kUnitRoundoff;
    eA = scaleGrowth * A;
    if (!CWTS_ISFINITE(sh) || !CWTS_ISFINITE(S) || (V && !CWTS_ISFINITE(Q)) || !CWTS_ISFINITE(eS) || !CWTS_ISFINITE(eA)) {
      // Finite values (bad = 0) whose sums, or the bounds on their rounding (in units of u, so
      // from ~1e307 on), overflow: the window on its own, scaled; the next output restarts too.
      // (An overflowed bound fails meanCertified, which took it for a window no restart can
      // certify and accepted the next windows' slides unchecked: [MAX_VALUE, 30000.47] then
      // [30000.47, 30000.5] slid S by -MAX_VALUE, and the mean came out 0.)
      window64_scaled<V>(x, i, w, mean, var);
      valid = false;
      continue;
    }
    if (!meanCertified()) quietUntil = i + w;
    Qmax = Q;
    valid = true;
    since = 0;
    rolling64_out<V>(S, Q, Qmax, 0.0, 1.0, sh, x[j], invw, true, mean, var, i);
  }
}

template <bool V>
void rolling64_range_t(const double* x, int64_t w, int64_t o0, int64_t o1, double* mean, double* var) {
  constexpr int VW = VD::W;
  if (w == 1) {
    for (int64_t i = o0; i < o1; i++) {
      const bool f = CWTS_ISFINITE(x[i]);
      mean[i] = f ? x[i] : NAN;
      if (V) var[i] = f ? 0.0 : NAN;
    }
    return;
  }
  const int64_t L = V ? imax(128, 2 * w) : imax(1024, 4 * w);
  const double invw = 1.0 / (double)w;
  for (int64_t c = o0; c < o1;) {
    const int64_t e = imin(o1, c + L);
    double sh, S, Q;
    window64_exact(x, c, w, &sh, &S, &Q);
    if (!CWTS_ISFINITE(sh) || !CWTS_ISFINITE(S) || !CWTS_ISFINITE(Q)) {
      rolling64_careful<V>(x, w, c, e, L, mean, var);
      c = e;
      continue;
    }
    int64_t firstChanges = 0;
    for (int64_t j = c + 1; j < c + w; j++) firstChanges += (int64_t)(x[j] != x[j - 1]);
    double Bk = (double)firstChanges, Qmax = Q;
    rolling64_out<V>(S, Q, Qmax, 0.0, Bk, sh, x[c + w - 1], invw, true, mean, var, c);
    int64_t i = c + 1, restart = -1;
    if (VW > 1) {
      typename VD::T cs = VD::set1(S), cq = VD::set1(Q), cb = VD::set1(Bk), qmax = VD::set1(Q);
      const typename VD::T vsh = VD::set1(sh), vinv = VD::set1(invw), vz = VD::set1(0.0), vill = VD::set1(kIllConditioned);
      double lane1[VW];
      for (int k = 0; k < VW; k++) lane1[k] = (double)(k + 1);
      const typename VD::T iota1 = VD::load(lane1), vstep = VD::set1((double)VW);
      typename VD::T steps = iota1;  // steps since the exact window c, per lane
      for (; i + VW <= e; i += VW) {
        const double* pin = x + i + w - 1;
        const typename VD::T xin = VD::load(pin), xout = VD::load(x + i - 1);
        const typename VD::T d = VD::sub(xin, xout);
        // changes entering (x[j] vs x[j-1], j = i+w-1) minus changes leaving (x[i] vs x[i-1])
        const typename VD::T db = VD::sub(VD::ne01(xin, VD::load(pin - 1)), VD::ne01(VD::load(x + i), xout));
        const typename VD::T sv = VD::add(VD::scan(d), cs);
        const typename VD::T bv = VD::add(VD::scan(db), cb);
        cs = VD::last(sv);
        cb = VD::last(bv);
        const typename VD::T m = VD::mul(sv, vinv);
        VD::store(mean + i, VD::selz(bv, xin, VD::add(vsh, m)));
        if (V) {
          const typename VD::T q = VD::mul(d, VD::add(VD::sub(xin, vsh), VD::sub(xout, vsh)));
          const typename VD::T qv = VD::add(VD::scan(q), cq);
          cq = VD::last(qv);
          const typename VD::T v = VD::sub(VD::mul(qv, vinv), VD::mul(m, m));
          VD::store(var + i, VD::selz(bv, vz, VD::max(v, vz)));
          // qmax (all lanes equal) covers this whole vector, which only errs towards restarting
          // early. Constant windows (no changes inside) hold their exact values whatever the sums say.
          qmax = VD::max(qmax, VD::hmax(qv));
          const unsigned ill = VD::ge_mask(VD::mul(VD::mul(qmax, vinv), steps), VD::mul(v, vill)) & ~VD::ge_mask(vz, bv);
          steps = VD::add(steps, vstep);
          if (ill != 0) {
            int k = 0;
            while (!((ill >> k) & 1u)) k++;
            restart = i + k;  // outputs from here on are rewritten by the next chunk
            break;
          }
        }
      }
      S = VD::first(cs);
      Q = VD::first(cq);
      Bk = VD::first(cb);
      if (V) {
        double lanes[VW];
        VD::store(lanes, qmax);
        for (int k = 0; k < VW; k++) Qmax = lanes[k] > Qmax ? lanes[k] : Qmax;
      }
    }
    if (restart < 0) {
      // Integer change count: comparisons feed a counter without branches (the scalar kernel set
      // runs all outputs here, and data-dependent branches would mispredict on every tick).
      int64_t changes = (int64_t)Bk;
      for (; i < e; i++) {
        const double xin = x[i + w - 1], xout = x[i - 1];
        const double d = xin - xout;
        S += d;
        if (V) {
          Q += d * ((xin - sh) + (xout - sh));
          Qmax = Q > Qmax ? Q : Qmax;
        }
        changes += (int64_t)(xin != x[i + w - 2]) - (int64_t)(x[i] != xout);
        if (!rolling64_out<V>(S, Q, Qmax, (double)(i - c), (double)changes, sh, xin, invw, false, mean, var, i)) {
          restart = i;
          break;
        }
      }
    }
    const int64_t stop = restart >= 0 ? restart : e;
    // NaN/Inf anywhere in the inputs this chunk covered leaves S (or Q) non-finite: redo it.
    if (!CWTS_ISFINITE(S) || (V && !CWTS_ISFINITE(Q))) rolling64_careful<V>(x, w, c, stop, L, mean, var);
    c = stop;
  }
}

// ---------------------------------------------------------------- mean only (W >= 2)
// A simple moving average needs neither Q nor the change-count channel. Per vector of outputs:
// one lane scan of the differences (its total also advances the carry, so the loop-carried
// dependency is a single add), one compare of each entering value with its predecessor, and a
// few scalar bit operations that find the windows of equal values exactly (below). Chunks are
// re-anchored every max(1024, 16W) outputs, centred on their first window's mean, and the anchor
// is two vector passes over W values, so its cost per output does not grow with W. (4W cost 13%
// at W=3000; a chunk's rounding bound grows with its length, but the bound is certified every
// block and a failing block restarts from a fresh anchor, so a longer chunk can only cost a
// restart where the level drifts far, never precision.)

template <bool B>
struct ModeFlag {
  static constexpr bool value = B;
};

inline unsigned lowest_bit(unsigned m) {  // m != 0
#if defined(__GNUC__) || defined(__clang__)
  return (unsigned)__builtin_ctz(m);
#else
  unsigned k = 0;
  while (!((m >> k) & 1u)) k++;
  return k;
#endif
}
inline unsigned highest_bit(unsigned m) {  // m != 0
#if defined(__GNUC__) || defined(__clang__)
  return 31u - (unsigned)__builtin_clz(m);
#else
  unsigned k = 31;
  while (!((m >> k) & 1u)) k--;
  return k;
#endif
}

// Centre sh = mean of [x, x + w) and S = sum(x - sh), both in vector lanes with two
// accumulators (the centre only has to be near the values; S is what must be accurate), and the
// window's smallest and largest values (lo, hi), which the rounding bound starts from.
inline void window64_centred(const double* x, int64_t w, double* sh, double* S, double* lo, double* hi) {
  constexpr int VW = VD::W;
  typename VD::T a0 = VD::set1(0.0), a1 = VD::set1(0.0), vlo = VD::set1(x[0]), vhi = vlo;
  int64_t k = 0;
  for (; k + 2 * VW <= w; k += 2 * VW) {
    const typename VD::T u0 = VD::load(x + k), u1 = VD::load(x + k + VW);
    a0 = VD::add(a0, u0);
    a1 = VD::add(a1, u1);
    vlo = VD::min(vlo, VD::min(u0, u1));
    vhi = VD::max(vhi, VD::max(u0, u1));
  }
  for (; k + VW <= w; k += VW) {
    const typename VD::T u0 = VD::load(x + k);
    a0 = VD::add(a0, u0);
    vlo = VD::min(vlo, u0);
    vhi = VD::max(vhi, u0);
  }
  double lanes[VW], los[VW], his[VW];
  VD::store(lanes, VD::add(a0, a1));
  VD::store(los, vlo);
  VD::store(his, vhi);
  double s = 0.0, l = x[0], h = x[0];
  for (int j = 0; j < VW; j++) {
    s += lanes[j];
    l = los[j] < l ? los[j] : l;
    h = his[j] > h ? his[j] : h;
  }
  for (; k < w; k++) {
    s += x[k];
    l = x[k] < l ? x[k] : l;
    h = x[k] > h ? x[k] : h;
  }
  const double m = s / (double)w;
  const typename VD::T vm = VD::set1(m);
  a0 = VD::set1(0.0);
  a1 = VD::set1(0.0);
  k = 0;
  for (; k + 2 * VW <= w; k += 2 * VW) {
    a0 = VD::add(a0, VD::sub(VD::load(x + k), vm));
    a1 = VD::add(a1, VD::sub(VD::load(x + k + VW), vm));
  }
  for (; k + VW <= w; k += VW) a0 = VD::add(a0, VD::sub(VD::load(x + k), vm));
  VD::store(lanes, VD::add(a0, a1));
  double d = 0.0;
  for (int j = 0; j < VW; j++) d += lanes[j];
  for (; k < w; k++) d += x[k] - m;
  *sh = m;
  *S = d;
  *lo = l;
  *hi = h;
}

// Outputs per certified block of the mean-only kernel.
constexpr int64_t kCertifyEveryMean = 256;

#ifndef CWTS_LIKELY
#if defined(__GNUC__) || defined(__clang__)
#define CWTS_LIKELY(c) __builtin_expect(!!(c), 1)
#else
#define CWTS_LIKELY(c) (c)
#endif
#endif

// Windows of equal values, exactly: with z = the number of consecutive positions p <= j where
// x[p] == x[p-1] (capped at w), the window ending at j is constant iff z >= w - 1. Per vector,
// `ch` has bit k set where the entering value x[j_k] differs from x[j_k - 1]. Lanes below the
// lowest set bit continue the run z; a lane at or above it can only be constant when w <= VW
// (a run that starts inside the vector), which a per-call table indexed by `ch` covers.
void rolling64_mean(const double* x, int64_t w, int64_t o0, int64_t o1, double* mean) {
  constexpr int VW = VD::W;
  constexpr unsigned kAll = (1u << VW) - 1u;
  unsigned inVector[1u << VW];
  const bool shortWindow = w <= VW;
  // Longer than any block's outputs plus one: see the block loop.
  const bool longWindow = w > kCertifyEveryMean + 1;
  if (shortWindow) {
    for (unsigned m = 0; m <= kAll; m++) {
      unsigned bits = 0;
      int last = -1;
      for (int k = 0; k < VW; k++) {
        if ((m >> k) & 1u) last = k;
        if (last >= 0 && k - last >= w - 1) bits |= 1u << k;
      }
      inVector[m] = bits;
    }
  }
  const int64_t L = imax(1024, 16 * w);
  const double invw = 1.0 / (double)w;
  // The rounding bound (see kMeanBudget), in units of kUnitRoundoff and of the mean, from what
  // the loop already has in registers. Every value the sliding part rounds (an entering minus
  // an outgoing value, a lane scan's partial sum, the carry) is a sum of contiguous differences,
  // i.e. a difference of two window sums, so it is at most 2 w sbar, where sbar = max|S| / w
  // since the anchor, taken from the extremes of the computed means (one vector min and max per
  // vector). Per vector of VW outputs the carry takes at most 1 + 2 (2 VW - 1) such roundings:
  // under 4 per output, as in the scalar loop (3). The current lane adds its own scan, the add
  // and the scaling: 4 VW + 4 more. window64_centred's S rounds by at most (w / 2VW + VW + 3)
  // dev0, dev0 = max|x - sh| over the anchor window. The lower bound of the scale is the
  // smallest |computed mean| since the anchor, less the bound: on prices that is the level, and
  // the bound stays far under the budget, so price data does not restart. Where it fails, the
  // chunk restarts from the last certified block with a fresh anchor. Where the mean is near 0
  // (|anchor mean| < max|x - anchor mean|), or the level fails on the first block after an
  // anchor, the chunk runs in scale mode (below), and where that fails on its first block too,
  // the careful path takes the chunk.
  const double anchorGrowth = (double)w / (2.0 * VW) + VW + 3.0;
  // Outputs per certified block (a multiple of every VW): the reductions cost a few vector
  // operations per block, and a restart recomputes at most one block.
  constexpr int64_t kCertifyEvery = kCertifyEveryMean;
  int64_t scaleAt = -1;  // a chunk start whose level could not certify its first block
  for (int64_t c = o0; c < o1;) {
    const int64_t e = imin(o1, c + L);
    double sh, S, xlo, xhi;
    window64_centred(x + c, w, &sh, &S, &xlo, &xhi);
    if (!CWTS_ISFINITE(sh) || !CWTS_ISFINITE(S)) {
      rolling64_careful<false>(x, w, c, e, L, mean, nullptr);
      c = e;
      continue;
    }
    const int64_t j0 = c + w - 1;
    int64_t z = 0;
    while (z < w - 1 && x[j0 - z] == x[j0 - z - 1]) z++;
    double mlo = sh + S * invw, mhi = mlo;
    mean[c] = z >= w - 1 ? x[j0] : mlo;
    const double dev0 = xhi - sh > sh - xlo ? xhi - sh : sh - xlo;
    const double anchorErr = anchorGrowth * dev0;
    // Scale mode, where the mean is near 0 for its spread (or the level failed): A = sum|x| of
    // each window slides beside S, and mean|x| (<= |mean| + sd) bounds the scale from below.
    const bool scale = c == scaleAt || std::fabs(sh) < dev0;
    double A = 0.0;
    if (scale) {
      double absDev;
      window64_scale(x, c, w, sh, &A, &absDev);
    }
    const double A0 = A;
    double alo = A, ahi = A;
    // Every output of [c, last] within kMeanBudget of its scale, given the extremes so far. In
    // scale mode the sliding sum|x| rounds like S (differences of window sums, at most ahi) and
    // its anchor, a sequential sum, by at most w A0.
    auto certified = [&](int64_t last) -> bool {
      const double big = std::fabs(mlo) > std::fabs(mhi) ? std::fabs(mlo) : std::fabs(mhi);
      const double sbar = (mhi - sh > sh - mlo ? mhi - sh : sh - mlo) + kUnitRoundoff * (std::fabs(sh) + big);
      const double level = mlo > 0.0 ? mlo : (mhi < 0.0 ? -mhi : 0.0);
      const double roundings = 4.0 * (double)(last - c + 1) + 4.0 * VW + 4.0;
      const double err = kUnitRoundoff * (anchorErr + roundings * sbar + level);
      double scaleLow = level - err;
      if (scale) {
        const double absMean = (alo - kUnitRoundoff * ((double)w * A0 + roundings * ahi)) * invw;
        scaleLow = absMean > scaleLow ? absMean : scaleLow;
      }
      return err <= kMeanBudget * scaleLow;
    };
    int64_t i = c + 1, certifiedTo = c + 1;  // outputs before certifiedTo are final
    bool uncertified = false, nonFinite = false;
    if (VW > 1) {
      typename VD::T cs_ = VD::set1(S), ca_ = VD::set1(A);
      const typename VD::T vsh = VD::set1(sh), vinv = VD::set1(invw);
      typename VD::T vmlo_ = VD::set1(mlo), vmhi_ = vmlo_, valo_ = ca_, vahi_ = ca_;
      // The outgoing values of the next vector are loaded before this vector's store: when the
      // output and input arrays sit at the same offset in their pages (two large allocations
      // usually do), a load issued after a store to the same low 12 address bits waits for it
      // (4K aliasing), which cost 50% in a microbenchmark.
      typename VD::T xout_ = VD::load(x + i - 1);
      int64_t i_ = i, z_ = z;
      // One block of vectors without exits (so that the loop keeps its state in registers),
      // compiled once per mode; certified after.
      // The state is copied into locals: through the lambda's references it could alias the
      // output stores, and would be reloaded every vector (1.5x slower).
      auto block = [&](auto mode, auto runs, int64_t blockEnd) {
        constexpr bool kScale = decltype(mode)::value;
        constexpr bool kRuns = decltype(runs)::value;
        typename VD::T cs = cs_, ca = ca_, vmlo = vmlo_, vmhi = vmhi_, valo = valo_, vahi = vahi_, xout = xout_;
        int64_t i = i_;
        // The run is carried as r, the position of the last change (z = i + w - 2 - r at every
        // vector boundary): a vector without a change leaves r as it is. With 4 lanes or fewer
        // that happens often on prices that repeat (ch == 0 in a quarter of AVX2's vectors when
        // 7 ticks in 10 repeat), and a mispredicted branch on ch waits for the loads it comes
        // from (L3 misses once the arrays outgrow L2): it cost the AVX2 kernel 40%, so there r
        // is a branch-free select. With 8 lanes the branch predicts well, and the select (one
        // more link in the loop-carried chain) cost AVX-512 8%.
        int64_t r = i + w - 2 - z_;
        for (; i + VW <= blockEnd; i += VW) {
          const double* pin = x + i + w - 1;
          const typename VD::T xin = VD::load(pin);
          const typename VD::T xoutNext = VD::load(x + (i + 2 * VW <= e ? i + VW - 1 : i - 1));
          const typename VD::T sc = VD::scan(VD::sub(xin, xout));
          const typename VD::T sv = VD::add(sc, cs);
          cs = VD::add(cs, VD::last(sc));
          const typename VD::T mv = VD::add(vsh, VD::mul(sv, vinv));
          if constexpr (kRuns) {
            const unsigned ch = VD::ne_bits(xin, VD::load(pin - 1));
            const unsigned below = (1u << lowest_bit(ch | (1u << VW))) - 1u;
            const int64_t from = imin(VW, imax(0, r - i));  // lanes k >= from: z + k + 1 >= w - 1
            unsigned constant = below & ~((1u << from) - 1u);
            if (shortWindow) constant |= inVector[ch];
            if constexpr (VW >= 8) {
              // ch == 0 needs eight repeated prices in a row: rare enough to predict.
              if (CWTS_LIKELY(ch != 0)) r = i + w - 1 + (int64_t)highest_bit(ch);
            } else {
              const int64_t rChanged = i + w - 1 + (int64_t)highest_bit(ch | 1u);
              const int64_t same = -(int64_t)(ch == 0);
              r = rChanged ^ ((r ^ rChanged) & same);
            }
            VD::store(mean + i, VD::blend_bits(constant, xin, mv));
          } else {
            VD::store(mean + i, mv);
          }
          vmlo = VD::min(vmlo, mv);
          vmhi = VD::max(vmhi, mv);
          if constexpr (kScale) {
            const typename VD::T sa = VD::scan(VD::sub(VD::abs(xin), VD::abs(xout)));
            const typename VD::T av = VD::add(sa, ca);
            ca = VD::add(ca, VD::last(sa));
            valo = VD::min(valo, av);
            vahi = VD::max(vahi, av);
          }
          xout = xoutNext;
        }
        cs_ = cs, ca_ = ca, vmlo_ = vmlo, vmhi_ = vmhi, valo_ = valo, vahi_ = vahi, xout_ = xout;
        i_ = i;
        if constexpr (kRuns) z_ = imin(i + w - 2 - r, w);
      };
      while (i + VW <= e) {
        const int64_t blockEnd = imin(e, i + kCertifyEvery);
        // A long window (w - 1 > the block's outputs) can be constant within this block only
        // before the first change among the block's entering values, and only if the run z
        // carried into the block reaches w - 1 there. On prices the first change comes within a
        // few values, so the block runs without the per-vector run tracking (a compare, a blend
        // and the bit arithmetic: a fifth of the loop), and z is carried by two short scalar
        // scans. Where a constant window is possible, the tracking kernel takes the block.
        bool runs = !longWindow;
        const int64_t n = (blockEnd - i) / VW * VW;  // outputs the block computes
        if (longWindow) {
          const int64_t j0 = i + w - 1;
          int64_t f = 0;
          while (f < n && x[j0 + f] == x[j0 + f - 1]) f++;
          runs = z + f >= w - 1;
        }
        const int64_t zIn = z;
        if (runs) {
          if (scale) block(ModeFlag<true>{}, ModeFlag<true>{}, blockEnd);
          else block(ModeFlag<false>{}, ModeFlag<true>{}, blockEnd);
        } else {
          if (scale) block(ModeFlag<true>{}, ModeFlag<false>{}, blockEnd);
          else block(ModeFlag<false>{}, ModeFlag<false>{}, blockEnd);
          // The run of equal neighbours ending at the block's last entering value.
          const int64_t jEnd = i + n + w - 2;
          int64_t q = 0;
          while (q < n && x[jEnd - q] == x[jEnd - q - 1]) q++;
          z_ = q == n ? imin(zIn + n, w) : q;
        }
        i = i_;
        z = z_;
        if (!CWTS_ISFINITE(VD::first(cs_))) {
          nonFinite = true;
          break;
        }
        const typename VD::T vz = VD::set1(0.0);
        mlo = -VD::first(VD::hmax(VD::sub(vz, vmlo_)));
        mhi = VD::first(VD::hmax(vmhi_));
        if (scale) {
          alo = -VD::first(VD::hmax(VD::sub(vz, valo_)));
          ahi = VD::first(VD::hmax(vahi_));
        }
        if (!certified(i - 1)) {
          uncertified = true;
          break;
        }
        certifiedTo = i;
      }
      S = VD::first(cs_);
      A = VD::first(ca_);
    }
    if (!uncertified && !nonFinite) {
      for (; i < e; i++) {
        const double xin = x[i + w - 1];
        S += xin - x[i - 1];
        z = xin != x[i + w - 2] ? 0 : imin(z + 1, w);
        const double m = sh + S * invw;
        mean[i] = z >= w - 1 ? xin : m;
        mlo = m < mlo ? m : mlo;
        mhi = m > mhi ? m : mhi;
        if (scale) {
          A += std::fabs(xin) - std::fabs(x[i - 1]);
          alo = A < alo ? A : alo;
          ahi = A > ahi ? A : ahi;
        }
        if (i + 1 - certifiedTo >= kCertifyEvery || i + 1 == e) {
          if (!CWTS_ISFINITE(S)) {
            nonFinite = true;
            break;
          }
          if (!certified(i)) {
            uncertified = true;
            break;
          }
          certifiedTo = i + 1;
        }
      }
    }
    if (uncertified && certifiedTo == c + 1 && !scale) {
      scaleAt = c;  // the level could not certify even the first block: again from c, in scale mode
    } else if (nonFinite) {
      // NaN/Inf among the inputs (the sums are non-finite): the careful path redoes the chunk.
      rolling64_careful<false>(x, w, c, e, L, mean, nullptr);
      c = e;
    } else if (uncertified && certifiedTo == c + 1) {
      // Not even mean|x| certifies the first block: the anchor window holds values far larger
      // than later ones (a fall). The careful path takes the windows that overlap the anchor
      // window; the next anchor starts past it.
      const int64_t stop = imin(e, c + imax(w, kCertifyEvery));
      rolling64_careful<false>(x, w, c, stop, L, mean, nullptr);
      c = stop;
    } else {
      c = uncertified ? certifiedTo : e;  // outputs from certifiedTo on are rewritten from a fresh anchor
    }
  }
}

// ---------------------------------------------------------------- mean and variance, certified blocks
// rolling64_range_t<true> decides per output whether the sliding sums may have lost digits, from
// a worst case: each step may add ~30 ulps of the largest Q since the anchor (Qmax), so a window
// restarts once steps x Qmax / W >= 256 x its variance. On prices that is every ~256 outputs
// whatever the data, and a restart is an exact window: O(W), which made W=3000 four times the
// cost of W=200. Here the rounding is bounded from what the loop computed, per block of
// kCertifyEveryVar outputs, and the chunk (max(1024, 16W) outputs) restarts only where that
// bound fails (u = kUnitRoundoff, lg = log2 VW, the depth of a lane scan):
//  - The anchor (window64_exact) starts the bounds: S within u sum|y| + 2u |S|, Q within 5u Q.
//  - q = d (a + b), with d = x_in - x_out, a = x_in - centre, b = x_out - centre, errs by at most
//    4.1 u |d|(|a| + |b|) (five roundings), and the lane scan of the q's by lg u sum|q|: at most
//    (4.1 + 1.01 lg) u t per output, t = |d|(|a| + |b|). On prices t is a few variances, where
//    the worst case is W of them.
//  - Q's carry (one add per vector) and each output's own add round by u of a computed sum: at
//    most u max|Q| over the block each.
//  - S's steps err by (1 + lg) u |d| each. Its carry is compensated (TwoSum, exact), because its
//    rounding is multiplied by the drift of the mean from the centre in the variance (2 M em
//    below), and with a plain carry that term alone failed most blocks at W=200. Each output
//    adds S in two roundings (scan + carry, then the compensation).
//  - With errQ, errS the bounds on Q and S of any output in the block, em = the error of
//    m = S / W, and M = max|m|: the variance Q/W - m^2 errs by at most errQ/W + (2M + em) em
//    plus its final roundings (3u Q/W + 2u m^2); the mean sh + m by em + u (|sh| + M).
// A block is certified when those bounds are within kMeanBudget of the block's smallest variance
// (and the mean's, of max(|sh| - M, sd)) over windows that are not constant (those are written
// exactly, as before). Every bound is >= the rounding it covers, so a certified output is within
// the tolerance whatever the data; a failing block restarts from a fresh anchor at its first
// output, and a failure in the first block after an anchor hands the chunk to the per-output
// rule. The accumulators are vertical (one vector add or max per term), reduced once per block.
// In float64.test.ts a budget 10x looser still passes and 100x fails: the bound is 10-100x above
// the rounding the hostile series there provoke.
constexpr int64_t kCertifyEveryVar = 128;

// The smallest window for the certified kernel, from interleaved runs on 1M tick prices (see
// docs/performance.md): below it the per-output rule is as fast or faster, because a short
// window's variance can be a tiny part of the largest one a block holds (one tick of movement
// among repeats), and the block bound fails where the per-output rule still passes. With fewer
// than four lanes every output is a carry, and the certified kernel was 2-4x slower (scalar).
constexpr int64_t kVarBlocksMinW = VD::W >= 8 ? 64 : VD::W >= 4 ? 128 : INT64_MAX;

void rolling64_var(const double* x, int64_t w, int64_t o0, int64_t o1, double* mean, double* var) {
  constexpr int VW = VD::W;
  typedef typename VD::T V;
  constexpr double lg = VW >= 8 ? 3.0 : VW >= 4 ? 2.0 : VW >= 2 ? 1.0 : 0.0;
  const double u = kUnitRoundoff;
  const double cq = (4.1 + 1.01 * lg) * u, cs = 1.01 * (1.0 + lg) * u, cr = 1.01 * u;
  const int64_t L = imax(1024, 16 * w);
  const int64_t Lcareful = imax(128, 2 * w);
  const double invw = 1.0 / (double)w;
  for (int64_t c = o0; c < o1;) {
    const int64_t e = imin(o1, c + L);
    double sh, S, Q, EQ, ES;  // ES, EQ: rounding bounds of the carried S and Q
    window64_exact(x, c, w, &sh, &S, &Q, &ES, &EQ);
    if (!CWTS_ISFINITE(sh) || !CWTS_ISFINITE(S) || !CWTS_ISFINITE(Q)) {
      rolling64_careful<true>(x, w, c, e, Lcareful, mean, var);
      c = e;
      continue;
    }
    int64_t firstChanges = 0;
    for (int64_t j = c + 1; j < c + w; j++) firstChanges += (int64_t)(x[j] != x[j - 1]);
    double Bk = (double)firstChanges;
    rolling64_out<true>(S, Q, Q, 0.0, Bk, sh, x[c + w - 1], invw, true, mean, var, c);
    int64_t i = c + 1, certifiedTo = c + 1;
    bool uncertified = false, nonFinite = false;
    const V vsh = VD::set1(sh), vinv = VD::set1(invw), vz = VD::set1(0.0), vinf = VD::set1(INFINITY);
    V ccs = VD::set1(S), ccq = VD::set1(Q), ccb = VD::set1(Bk), ccsc = vz;
    double vecsSoFar = 0.0, SmChunk = 0.0;
    while (i < e) {
      const int64_t blockEnd = imin(e, i + kCertifyEveryVar);
      V vt = vz, vd = vz, vqm = vz, vsm = vz, vvmin = vinf;
      double carries = 0.0, vecs = 0.0;
      {
        V cs_ = ccs, cq_ = ccq, cb_ = ccb, csc_ = ccsc;
        for (; i + VW <= blockEnd; i += VW) {
          const double* pin = x + i + w - 1;
          const V xin = VD::load(pin), xout = VD::load(x + i - 1);
          const V d = VD::sub(xin, xout);
          const V db = VD::sub(VD::ne01(xin, VD::load(pin - 1)), VD::ne01(VD::load(x + i), xout));
          const V sc = VD::scan(d);
          // S's carry as an unevaluated sum cs_ + csc_ (TwoSum): its rounding, times the drift of
          // the mean from the centre, is what limited the blocks (2 M em below).
          const V sv = VD::add(VD::add(sc, cs_), csc_);
          const V tot = VD::last(sc), s2 = VD::add(cs_, tot), bb = VD::sub(s2, cs_);
          csc_ = VD::add(csc_, VD::add(VD::sub(cs_, VD::sub(s2, bb)), VD::sub(tot, bb)));
          cs_ = s2;
          const V bv = VD::add(VD::scan(db), cb_);
          cb_ = VD::last(bv);
          const V m = VD::mul(sv, vinv);
          const V mv = VD::add(vsh, m);
          VD::store(mean + i, VD::selz(bv, xin, mv));
          const V a = VD::sub(xin, vsh), b = VD::sub(xout, vsh);
          const V q = VD::mul(d, VD::add(a, b));
          const V qv = VD::add(VD::scan(q), cq_);
          cq_ = VD::last(qv);
          const V v = VD::sub(VD::mul(qv, vinv), VD::mul(m, m));
          VD::store(var + i, VD::selz(bv, vz, VD::max(v, vz)));
          const V ad = VD::abs(d);
          vt = VD::add(vt, VD::mul(ad, VD::add(VD::abs(a), VD::abs(b))));
          vd = VD::add(vd, ad);
          vqm = VD::max(vqm, VD::abs(qv));
          vsm = VD::max(vsm, VD::abs(sv));
          vvmin = VD::min(vvmin, VD::selz(bv, vinf, v));
          vecs += 1.0;
        }
        ccs = cs_, ccq = cq_, ccb = cb_, ccsc = csc_;
      }
      double T, D, Qm, Sm, vmin;
      {
        double a1[VW], a2[VW], a3[VW], a4[VW], a5[VW];
        VD::store(a1, vt), VD::store(a2, vd), VD::store(a3, vqm), VD::store(a4, vsm), VD::store(a5, vvmin);
        T = 0.0, D = 0.0, Qm = 0.0, Sm = 0.0, vmin = INFINITY;
        for (int k = 0; k < VW; k++) {
          T += a1[k], D += a2[k];
          Qm = a3[k] > Qm ? a3[k] : Qm;
          Sm = a4[k] > Sm ? a4[k] : Sm;
          vmin = a5[k] < vmin ? a5[k] : vmin;
        }
      }
      if (i < blockEnd) {
        // The chunk's last outputs, fewer than a vector: the same sums, one lane at a time.
        S = VD::first(ccs) + VD::first(ccsc), Q = VD::first(ccq);
        carries += 1.0;
        int64_t changes = (int64_t)VD::first(ccb);
        for (; i < blockEnd; i++) {
          const double xin = x[i + w - 1], xout = x[i - 1];
          const double d = xin - xout, a = xin - sh, b = xout - sh;
          S += d;
          Q += d * (a + b);
          changes += (int64_t)(xin != x[i + w - 2]) - (int64_t)(x[i] != xout);
          const double m = S * invw, mv = sh + m, v = Q * invw - m * m;
          mean[i] = changes == 0 ? xin : mv;
          var[i] = changes == 0 ? 0.0 : nonNegative(v);
          T += std::fabs(d) * (std::fabs(a) + std::fabs(b));
          D += std::fabs(d);
          Qm = std::fabs(Q) > Qm ? std::fabs(Q) : Qm;
          Sm = std::fabs(S) > Sm ? std::fabs(S) : Sm;
          if (changes != 0) vmin = v < vmin ? v : vmin;
          carries += 1.0;
        }
        ccs = VD::set1(S), ccq = VD::set1(Q), ccb = VD::set1((double)changes), ccsc = vz;
      }
      // NaN/Inf among the inputs leaves the carried sums non-finite (NaN + anything is NaN).
      if (!CWTS_ISFINITE(VD::first(ccs)) || !CWTS_ISFINITE(VD::first(ccq))) {
        nonFinite = true;
        break;
      }
      SmChunk = Sm > SmChunk ? Sm : SmChunk;
      vecsSoFar += vecs;
      // S's carry is compensated (TwoSum is exact): what is left is the rounding of the
      // compensation's own adds, at most u x (the compensation, <= u x vectors x max|S|) per
      // vector, and each output's two adds (scan + carry, + compensation).
      EQ += cq * T + cr * (carries + vecs) * Qm;
      ES += cs * D + cr * carries * Sm + cr * vecs * u * vecsSoFar * SmChunk;
      const double errQ = EQ + cr * Qm, errS = ES + 2.0 * cr * Sm;
      const double M = Sm * invw * (1.0 + 3.0 * u);
      const double em = errS * invw * (1.0 + 3.0 * u) + 2.02 * u * M;
      const double errV = errQ * invw * (1.0 + 3.0 * u) + (2.0 * M + em) * em + 3.1 * u * (Qm * invw + M * M);
      const double errMean = em + cr * (std::fabs(sh) + M);
      const double sdLow = vmin > 0.0 ? 0.999 * std::sqrt(vmin) : 0.0;
      // |mean| >= |sh| - M, less the mean's own error.
      const double level = std::fabs(sh) - M - errMean;
      const double meanScale = level > sdLow ? level : sdLow;
      if (!(vmin > 0.0 && errV <= kMeanBudget * vmin && errMean <= kMeanBudget * meanScale)) {
        uncertified = true;
        break;
      }
      certifiedTo = i;
    }
    if (nonFinite) {
      rolling64_careful<true>(x, w, c, e, Lcareful, mean, var);
      c = e;
    } else if (uncertified && certifiedTo == c + 1) {
      // Not even the first block after an exact window: windows whose variance is a tiny part of
      // the block's sums. The per-output rule takes the chunk.
      rolling64_range_t<true>(x, w, c, e, mean, var);
      c = e;
    } else {
      c = uncertified ? certifiedTo : e;  // outputs from certifiedTo on are rewritten from a fresh anchor
    }
  }
}

// ---------------------------------------------------------------- mean and variance, short windows
// Up to W = kDirectMaxW every window is computed on its own, two passes over its W values, for
// VW outputs per vector (two vectors at a time, for two independent add chains): no sliding sums,
// so nothing to restart. On tick prices a short window's variance is often a tiny part of the
// largest one nearby (one tick of movement among repeats), which made the sliding kernels restart
// every few outputs. Per window, with m = the first pass's mean (rounded, any centre near the
// mean does), y = x - m, d = sum y, q = sum y^2 (sequential, one chain per lane):
//   mean = m + d / W, variance = (q - d^2 / W) / W (the corrected two-pass formula, which
//   cancels m's own error).
// With r = (d / W)^2 (m's distance from the mean, squared), the variance errs by at most
// u ((2W + 5) v + (3W + 5) r) (the sums' W u of q = W (v + r) and of d, the y's and the final
// roundings; 2|dm| sqrt(v + r) <= 2r + v). Each lane checks that against kMeanBudget x v; on
// prices r is ~u^2 level^2 and the check passes by orders of magnitude. A lane that fails is
// redone by the careful path. (It can fail only where the values differ in their last few bits,
// and there the sums are exact, so no test data shows a wrong result without it: it is what
// makes the bound hold, not a fix for a seen case.) Windows of equal values are found by a
// sliding change count, as in rolling64_range_t, and written exactly; they skip the check, whose
// v = 0 would fail it. Lanes with a non-finite result (NaN/Inf in the window, or sums of huge
// values that overflow) take the careful path, which gives the contract's NaN windows.
// Its cost grows with W (three vector operations per value and output vector, which bound it);
// the per-output rule's does not. Where they cross, in interleaved runs on 1M tick prices (see
// docs/performance.md): W = 24-26 with AVX-512, 14-16 with AVX2. NEON and scalar sets (one or
// two lanes) keep the per-output rule.
constexpr int64_t kDirectMaxW = VD::W >= 8 ? 24 : VD::W >= 4 ? 14 : 0;

void rolling64_direct(const double* x, int64_t w, int64_t o0, int64_t o1, double* mean, double* var) {
  constexpr int VW = VD::W;
  typedef typename VD::T V;
  const double invw = 1.0 / (double)w, u = kUnitRoundoff;
  const double wd = (double)w;
  const V vinv = VD::set1(invw), vz = VD::set1(0.0);
  const V cv = VD::set1(u * (2.0 * wd + 5.0)), cr = VD::set1(u * (3.0 * wd + 5.0)), budget = VD::set1(kMeanBudget);
  constexpr unsigned kAll = (1u << VW) - 1u;
  int64_t changes = 0;
  for (int64_t j = o0 + 1; j < o0 + w - 1; j++) changes += (int64_t)(x[j] != x[j - 1]);
  // changes now counts [o0, o0 + w - 1); the loop adds the entering value's change and removes
  // the leaving one's per output, as rolling64_range_t does.
  V cb = VD::set1((double)changes);
  int64_t i = o0;
  auto lanes = [&](int64_t at, V m, V d, V q, V bv, V xlast) {
    const V dm = VD::mul(d, vinv);
    const V mv = VD::add(m, dm);
    const V v = VD::mul(VD::sub(q, VD::mul(d, dm)), vinv);
    VD::store(mean + at, VD::selz(bv, xlast, mv));
    VD::store(var + at, VD::selz(bv, vz, VD::max(v, vz)));
    // Not certified, or not finite (a window of huge values can overflow the sums): the careful
    // path redoes the lane. NaN compares false in the first test, and x - x is 0 only for finite x.
    const V r = VD::mul(dm, dm);
    const unsigned uncertified = VD::ge_mask(VD::add(VD::mul(cv, v), VD::mul(cr, r)), VD::mul(budget, v));
    const unsigned finite = VD::ge_mask(vz, VD::add(VD::sub(mv, mv), VD::sub(v, v)));
    // Constant windows skip the bound (its v = 0 would fail it) but not the finiteness test: a
    // run of +-Infinity is "constant" too (Infinity == Infinity) and its window must be NaN, and
    // a run of huge values whose sum overflows gets its exact value from the careful path.
    return (uncertified & ~VD::ge_mask(vz, bv)) | (~finite & kAll);
  };
  for (; i + 2 * VW <= o1; i += 2 * VW) {
    // Change counts of the two vectors' windows (entering x[i+w-1+k] vs its predecessor, leaving
    // x[i-1+k] vs its successor; the first output of the range leaves nothing).
    V bA, bB;
    {
      const double* pin = x + i + w - 1;
      V dbA = VD::ne01(VD::load(pin), VD::load(pin - 1));
      V dbB = VD::ne01(VD::load(pin + VW), VD::load(pin + VW - 1));
      if (i > o0) dbA = VD::sub(dbA, VD::ne01(VD::load(x + i), VD::load(x + i - 1)));
      else {
        double lost[VW] = {};
        for (int k = 1; k < VW; k++) lost[k] = (double)(x[i + k] != x[i + k - 1]);
        dbA = VD::sub(dbA, VD::load(lost));
      }
      dbB = VD::sub(dbB, VD::ne01(VD::load(x + i + VW), VD::load(x + i + VW - 1)));
      bA = VD::add(VD::scan(dbA), cb);
      bB = VD::add(VD::scan(dbB), VD::last(bA));
      cb = VD::last(bB);
    }
    // Vector B's windows start VW values after A's: the load at x + i + t serves A's term t
    // (t < w) and B's term t - VW (t >= VW), so each pass loads w + VW vectors, not 2w (most
    // loads split a cache line, and they were the bound). A alone: t < min(VW, w); both:
    // VW <= t < w; B alone: max(VW, w) <= t < w + VW.
    const int64_t aEnd = imin(VW, w), bFrom = imax(VW, w);
    V sA = vz, sB = vz;
    for (int64_t t = 0; t < aEnd; t++) sA = VD::add(sA, VD::load(x + i + t));
    for (int64_t t = VW; t < w; t++) {
      const V xv = VD::load(x + i + t);
      sA = VD::add(sA, xv);
      sB = VD::add(sB, xv);
    }
    for (int64_t t = bFrom; t < w + VW; t++) sB = VD::add(sB, VD::load(x + i + t));
    const V mA = VD::mul(sA, vinv), mB = VD::mul(sB, vinv);
    V dA = vz, qA = vz, dB = vz, qB = vz;
    for (int64_t t = 0; t < aEnd; t++) {
      const V yA = VD::sub(VD::load(x + i + t), mA);
      dA = VD::add(dA, yA);
      qA = VD::fma(yA, yA, qA);
    }
    for (int64_t t = VW; t < w; t++) {
      const V xv = VD::load(x + i + t);
      const V yA = VD::sub(xv, mA), yB = VD::sub(xv, mB);
      dA = VD::add(dA, yA);
      qA = VD::fma(yA, yA, qA);
      dB = VD::add(dB, yB);
      qB = VD::fma(yB, yB, qB);
    }
    for (int64_t t = bFrom; t < w + VW; t++) {
      const V yB = VD::sub(VD::load(x + i + t), mB);
      dB = VD::add(dB, yB);
      qB = VD::fma(yB, yB, qB);
    }
    const unsigned badA = lanes(i, mA, dA, qA, bA, VD::load(x + i + w - 1));
    const unsigned badB = lanes(i + VW, mB, dB, qB, bB, VD::load(x + i + VW + w - 1));
    if ((badA | badB) != 0) {
      for (int k = 0; k < VW; k++) {
        if ((badA >> k) & 1u) rolling64_careful<true>(x, w, i + k, i + k + 1, 1, mean, var);
        if ((badB >> k) & 1u) rolling64_careful<true>(x, w, i + VW + k, i + VW + k + 1, 1, mean, var);
      }
    }
  }
  // The last outputs, fewer than two vectors: the careful path (exact per window).
  if (i < o1) rolling64_careful<true>(x, w, i, o1, imax(128, 2 * w), mean, var);
}

void rolling64_range(const double* x, int64_t w, int64_t o0, int64_t o1, double* mean, double* var) {
  if (var != nullptr && w >= 2 && w <= kDirectMaxW) rolling64_direct(x, w, o0, o1, mean, var);
  else if (var != nullptr && w >= kVarBlocksMinW) rolling64_var(x, w, o0, o1, mean, var);
  else if (var != nullptr) rolling64_range_t<true>(x, w, o0, o1, mean, var);
  else if (w > 1) rolling64_mean(x, w, o0, o1, mean);
  else rolling64_range_t<false>(x, w, o0, o1, mean, var);
}
