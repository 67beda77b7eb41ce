#version 450
// Rolling mean and population variance: output i covers series[i, i + W).
// Each invocation owns a run of CH consecutive outputs: the first window of the run is computed
// with two passes (mean, then squared deviations), the next ones slide with the exact add/remove
// update of (mean, M2):
//   mean' = mean + (x_in - x_out) / W,   M2' = M2 + (x_in - x_out) (x_in - mean' + x_out - mean)
// so a window costs O(1) loads instead of O(W), and drift is bounded by the run length CH.
// A step whose update is more than 16x the remaining M2 (cancellation) recomputes instead, and so
// does a window whose M2 + W mean^2 has fallen below CH x 1.2e-3 of the largest M2 since the last
// exact window (the oracle's ILL_CONDITIONED_F32 rule at float32 state: the slides' rounding is a
// few ulps of that largest M2 per step). The 16x test alone missed a fat-finger print reverting
// over a few ticks (each step removing ~9x what remains): variance 3.5x off for 20 windows.
//  - A window whose W values are all equal gets mean = that value and variance exactly 0 and
//    resets the state exactly (tracked by the length of the trailing run of equal values).
//  - NaN or +-Infinity (tested on exponent bits) makes every window containing it NaN; after it
//    leaves the window the state is recomputed from scratch. Variance is max(M2 / W, 0).
//  - Magnitude: (mean, M2) are kept for the window scaled by a power of two 2^k that brings the
//    largest |x| of the last recomputed window into [1, 2), and scaled back on output. Scaling by
//    a power of two is exact, so results are the same as unscaled ones wherever those stay in
//    range, while values near 1e19 no longer overflow M2 (W x variance) to Infinity, nor values
//    near 1e-25 underflow it to 0. A value entering more than 2^32 above that scale, or a window
//    whose mean and spread have both fallen below 2^-32 of it (a decaying series, heading for
//    float32's subnormals), recomputes the window with a new scale.
// Loop budget: llvmpipe ends every loop of an invocation once it has run 65535 loop iterations
// in all. On such devices the host picks CH so that the worst case (a recomputed window at every
// step of every run the invocation owns) fits, and for long windows uses rolling_unrolled.spv
// (-DUNROLL_WINDOWS): its loops over a whole window run U values per iteration (unrolled:
// W / U + W % U iterations). rolling.spv keeps plain loops: on lavapipe the unrolled code runs
// short windows (W = 64) about 1.5x slower.
#extension GL_EXT_control_flow_attributes : require
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Src { float x[]; };
layout(std430, binding = 1) writeonly buffer Mean { float outMean[]; };
layout(std430, binding = 2) writeonly buffer Var { float outVar[]; };
layout(push_constant) uniform P { uint count; uint W; uint CH; } pc;

// STEP(j) for j = 0 .. W - 1 in order (U of them per loop iteration when unrolled).
#ifdef UNROLL_WINDOWS
const uint U = 16u;
#define FOR_WINDOW(STEP)                                                              \
  {                                                                                   \
    uint j_ = 0u;                                                                     \
    for (; j_ + U <= pc.W; j_ += U) {                                                 \
      [[unroll]] for (uint u_ = 0u; u_ < U; ++u_) { STEP(j_ + u_) }                   \
    }                                                                                 \
    for (; j_ < pc.W; ++j_) { STEP(j_) }                                              \
  }
#else
#define FOR_WINDOW(STEP) for (uint j_ = 0u; j_ < pc.W; ++j_) { STEP(j_) }
#endif

bool nonFinite(float v) { return (floatBitsToUint(v) & 0x7f800000u) == 0x7f800000u; }

// 2^e exactly, for e in [-126, 127].
float pow2(int e) { return uintBitsToFloat(uint(e + 127) << 23); }

// k such that m * 2^k is in [1, 2) for a normal m >= 0 (0 for m = 0); k is in [-127, 126].
int scaleExponent(float m) {
  uint e = (floatBitsToUint(m) >> 23) & 0xffu;
  return m == 0.0 ? 0 : 127 - int(max(e, 1u));
}

// x * 2^k given as two exact factors; `precise`: they must not be folded into one (2^k alone may
// be out of float32's normal range).
float scaled(float x, vec2 f) {
  precise float y = (x * f.x) * f.y;
  return y;
}

// The factors of 2^k (scale in) and of 2^-k (scale out).
vec2 scaleIn(int k) { return vec2(pow2(k / 2), pow2(k - k / 2)); }
vec2 scaleOut(int k) { return vec2(pow2(-(k / 2)), pow2(-(k - k / 2))); }

const float GROW = 4294967296.0;     // 2^32
const float SHRINK = 2.3283064e-10;  // 2^-32

// The steps of the window loops, for the window starting at i.
// Non-finite values and the trailing run of equal values.
#define COUNT_STEP(J)                                      \
  {                                                        \
    float v = x[i + (J)];                                  \
    if (nonFinite(v)) bad++;                               \
    if ((J) > 0u) eqRun = (v == prev) ? eqRun + 1u : 1u;   \
    prev = v;                                              \
  }
// The largest |x|.
#define MAX_STEP(J) { big = max(big, abs(x[i + (J)])); }
// Compensated (Neumaier) sum of the scaled values.
#define SUM_STEP(J)                                        \
  {                                                        \
    float v = scaled(x[i + (J)], up);                      \
    precise float t = s + v;                               \
    sc += abs(s) >= abs(v) ? (s - t) + v : (v - t) + s;    \
    s = t;                                                 \
  }
// Compensated sum of squared deviations from the mean.
#define SQ_STEP(J)                                         \
  {                                                        \
    float c = scaled(x[i + (J)], up) - mean;               \
    precise float c2 = c * c;                              \
    precise float t = q + c2;                              \
    qc += q >= c2 ? (q - t) + c2 : (c2 - t) + q;           \
    q = t;                                                 \
  }

void main() {
  uint stride = gl_NumWorkGroups.x * WG;
  float Wf = float(pc.W);
  float invW = 1.0 / Wf;
  float NaN = uintBitsToFloat(0x7fc00000u);
  uint runs = (pc.count + pc.CH - 1u) / pc.CH;
  for (uint r = gl_GlobalInvocationID.x; r < runs; r += stride) {
    uint i0 = r * pc.CH;
    uint i1 = min(i0 + pc.CH, pc.count);
    float mean = 0.0, m2 = 0.0; // of the window scaled by 2^k
    float m2max = 0.0;          // largest M2 since the last exact window (same scale)
    float illConditioned = float(pc.CH) * 1.2e-3;
    vec2 up = vec2(1.0), down = vec2(1.0); // 2^k and 2^-k, as factors
    uint bad = 0u;       // non-finite values in the current window
    uint eqRun = 0u;     // trailing run of equal values ending at the window's last element
    bool fresh = true;   // state must be recomputed from scratch
    for (uint i = i0; i < i1; ++i) {
      uint last = i + pc.W - 1u;
      if (i != i0) {
        float xin = x[last];
        float xout = x[i - 1u];
        bad = bad + (nonFinite(xin) ? 1u : 0u) - (nonFinite(xout) ? 1u : 0u);
        eqRun = (xin == x[last - 1u]) ? eqRun + 1u : 1u;
        if (bad != 0u) {
          fresh = true;
        } else if (!fresh) {
          float yin = scaled(xin, up), yout = scaled(xout, up);
          if (!(abs(yin) <= GROW)) {
            // Far above the window's scale (or past float32's range at it): a new scale.
            fresh = true;
          } else {
            float mNew = mean + (yin - yout) * invW;
            float term = (yin - yout) * (yin - mNew + yout - mean);
            float m2New = m2 + term;
            // A step much larger than what remains cancels catastrophically in float32 (a spike or
            // a level shift leaving the window): recompute that window from scratch instead.
            m2max = max(m2max, m2New);
            if (abs(term) > 16.0 * max(m2New, 0.0)) fresh = true;
            // M2 fell far below what it was rounded against (a negative M2, pure rounding, too).
            else if (m2New + Wf * mNew * mNew < m2max * illConditioned) fresh = true;
            // What is left is tiny at this scale: recompute before it reaches the subnormals.
            else if (abs(mNew) < SHRINK && m2New < SHRINK * SHRINK * Wf) fresh = true;
            mean = mNew;
            m2 = m2New;
          }
        }
      }
      if (i == i0) {
        // Count non-finite values and the trailing equal run of the first window.
        eqRun = 1u;
        float prev = x[i];
        FOR_WINDOW(COUNT_STEP)
      }
      if (bad != 0u) {
        outMean[i] = NaN;
        outVar[i] = NaN;
        continue;
      }
      if (eqRun >= pc.W) {
        float v = x[last];
        int k = scaleExponent(abs(v));
        up = scaleIn(k);
        down = scaleOut(k);
        mean = scaled(v, up);
        m2 = 0.0;
        m2max = 0.0;
        fresh = false;
      } else if (fresh) {
        float big = 0.0;
        FOR_WINDOW(MAX_STEP)
        int k = scaleExponent(big);
        up = scaleIn(k);
        down = scaleOut(k);
        // Compensated (Neumaier) sums: in a plain float32 sum a term below half an ulp of the
        // running total is lost, so a window of large values followed by many small ones (a
        // volatility drop: 1040 N(0,1) values then 2960 of N(0,1e-4), W = 4000) lost every
        // small term's (x - mean)^2, 1.5e-4 of the variance, 15x the contract's tolerance.
        // `precise` keeps the compiler from folding the compensation away.
        precise float s = 0.0, sc = 0.0;
        FOR_WINDOW(SUM_STEP)
        mean = (s + sc) * invW;
        precise float q = 0.0, qc = 0.0;
        FOR_WINDOW(SQ_STEP)
        m2 = q + qc;
        m2max = max(m2, 0.0);
        fresh = false;
      }
      outMean[i] = scaled(mean, down);
      outVar[i] = max(scaled(scaled(m2 * invW, down), down), 0.0);
    }
  }
}
