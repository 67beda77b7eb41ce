#version 450
// Rolling mean and population variance: output i covers series[i, i + W).
// Each invocation owns a run of CH consecutive outputs: the first window of the run is computed
// with two passes (mean, then squared deviations), the next ones slide with the exact add/remove
// update of (mean, M2):
//   mean' = mean + (x_in - x_out) / W,   M2' = M2 + (x_in - x_out) (x_in - mean' + x_out - mean)
// so a window costs O(1) loads instead of O(W), and drift is bounded by the run length CH.
// A step whose update is more than 16x the remaining M2 (cancellation) recomputes instead.
//  - A window whose W values are all equal gets mean = that value and variance exactly 0 and
//    resets the state exactly (tracked by the length of the trailing run of equal values).
//  - NaN or +-Infinity (tested on exponent bits) makes every window containing it NaN; after it
//    leaves the window the state is recomputed from scratch. Variance is max(M2 / W, 0).
layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Src { float x[]; };
layout(std430, binding = 1) writeonly buffer Mean { float outMean[]; };
layout(std430, binding = 2) writeonly buffer Var { float outVar[]; };
layout(push_constant) uniform P { uint count; uint W; uint CH; } pc;

bool nonFinite(float v) { return (floatBitsToUint(v) & 0x7f800000u) == 0x7f800000u; }

void main() {
  uint stride = gl_NumWorkGroups.x * WG;
  float Wf = float(pc.W);
  float invW = 1.0 / Wf;
  float NaN = uintBitsToFloat(0x7fc00000u);
  uint runs = (pc.count + pc.CH - 1u) / pc.CH;
  for (uint r = gl_GlobalInvocationID.x; r < runs; r += stride) {
    uint i0 = r * pc.CH;
    uint i1 = min(i0 + pc.CH, pc.count);
    float mean = 0.0, m2 = 0.0;
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
          float mNew = mean + (xin - xout) * invW;
          float term = (xin - xout) * (xin - mNew + xout - mean);
          float m2New = m2 + term;
          // A step much larger than what remains cancels catastrophically in float32 (a spike or
          // a level shift leaving the window): recompute that window from scratch instead.
          if (abs(term) > 16.0 * max(m2New, 0.0)) fresh = true;
          mean = mNew;
          m2 = m2New;
        }
      }
      if (i == i0) {
        // Count non-finite values and the trailing equal run of the first window.
        eqRun = 1u;
        float prev = x[i];
        for (uint j = 0u; j < pc.W; ++j) {
          float v = x[i + j];
          if (nonFinite(v)) bad++;
          if (j > 0u) eqRun = (v == prev) ? eqRun + 1u : 1u;
          prev = v;
        }
      }
      if (bad != 0u) {
        outMean[i] = NaN;
        outVar[i] = NaN;
        continue;
      }
      if (eqRun >= pc.W) {
        mean = x[last];
        m2 = 0.0;
        fresh = false;
      } else if (fresh) {
        // Compensated (Neumaier) sums: in a plain float32 sum a term below half an ulp of the
        // running total is lost, so a window of large values followed by many small ones (a
        // volatility drop: 1040 N(0,1) values then 2960 of N(0,1e-4), W = 4000) lost every
        // small term's (x - mean)^2, 1.5e-4 of the variance, 15x the contract's tolerance.
        // `precise` keeps the compiler from folding the compensation away.
        precise float s = 0.0, sc = 0.0;
        for (uint j = 0u; j < pc.W; ++j) {
          float v = x[i + j];
          precise float t = s + v;
          sc += abs(s) >= abs(v) ? (s - t) + v : (v - t) + s;
          s = t;
        }
        mean = (s + sc) * invW;
        precise float q = 0.0, qc = 0.0;
        for (uint j = 0u; j < pc.W; ++j) {
          float c = x[i + j] - mean;
          precise float c2 = c * c;
          precise float t = q + c2;
          qc += q >= c2 ? (q - t) + c2 : (c2 - t) + q;
          q = t;
        }
        m2 = q + qc;
        fresh = false;
      }
      outMean[i] = mean;
      outVar[i] = max(m2 * invW, 0.0);
    }
  }
}
